//! Snapshots (issue 13): `Engine::snapshot` and `Engine::restore` of a 100,000-key state, in
//! memory (target: restore <= 50 ms) and with the SQLite storage (`--persist`), after a test's
//! worth of writes; and, beside them, the in-process cost of a single-key PUT and GET on the
//! persistent (copy-on-write) maps, with and without a snapshot holding the old nodes.
//!
//! `cargo bench -p edge-kv --bench snapshot [-- --quick]`

#[path = "../support/machine.rs"]
mod machine;
#[allow(dead_code)] // shared by the bench binaries
#[path = "../support/stats.rs"]
mod stats;

use std::process::ExitCode;
use std::time::Instant;

use kv_mock::{Clock, Engine, EngineConfig};
use kv_types::{Limits, PutOptions};

/// Keys in the state.
const KEYS: usize = 100_000;
/// Bytes per value.
const VALUE_BYTES: usize = 100;
/// Writes a "test" makes between a snapshot and its restore.
const TEST_WRITES: usize = 1_000;

fn config() -> EngineConfig {
    EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: false,
        clock: Clock::frozen_at(1_700_000_000),
    }
}

fn fill(engine: &Engine, ns: &str) -> Result<(), String> {
    let value = vec![b'v'; VALUE_BYTES];
    let handle = engine.namespace(ns).ok_or("no namespace")?;
    let items = (0..KEYS)
        .map(|i| kv_mock::BulkPut {
            key: format!("key:{i:06}"),
            value: value.clone().into(),
            options: PutOptions::new(),
        })
        .collect::<Vec<_>>();
    for chunk in items.chunks(10_000) {
        handle
            .bulk_put_sync(chunk.to_vec())
            .map_err(|e| format!("fill: {e}"))?;
    }
    Ok(())
}

/// Milliseconds of `f`.
fn ms(f: impl FnOnce() -> Result<(), String>) -> Result<f64, String> {
    let t = Instant::now();
    f()?;
    Ok(t.elapsed().as_secs_f64() * 1e3)
}

/// Snapshot and restore times (ms) over `rounds`, each round: snapshot, `TEST_WRITES` writes
/// and a new namespace, restore (checked).
fn snapshot_restore(
    engine: &Engine,
    ns: &str,
    rounds: usize,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    let handle = engine.namespace(ns).ok_or("no namespace")?;
    let (mut snaps, mut restores) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut id = String::new();
        snaps.push(ms(|| {
            id = engine.snapshot().map_err(|e| e.to_string())?;
            Ok(())
        })?);
        for i in 0..TEST_WRITES {
            let key = format!("key:{:06}", (i * 97 + round) % KEYS);
            handle
                .put_sync(&key, "changed".into(), PutOptions::new())
                .map_err(|e| e.to_string())?;
        }
        engine
            .create_namespace(&format!("made by test {round}"))
            .map_err(|e| e.to_string())?;
        restores.push(ms(|| engine.restore(&id).map_err(|e| e.to_string()))?);
        let back = handle
            .get_sync(&format!("key:{:06}", round % KEYS))
            .map_err(|e| e.to_string())?;
        if back.map(|v| v.value.len()) != Some(VALUE_BYTES) || engine.list_namespaces().len() != 1 {
            return Err("the restore did not put the state back".into());
        }
        engine.forget_snapshot(&id);
    }
    Ok((snaps, restores))
}

/// Nanoseconds per single-key PUT and GET over the state (keys in a scattered order).
fn per_op(engine: &Engine, ns: &str, ops: usize) -> Result<(f64, f64), String> {
    let handle = engine.namespace(ns).ok_or("no namespace")?;
    let value: bytes::Bytes = vec![b'w'; VALUE_BYTES].into();
    let keys: Vec<String> = (0..ops)
        .map(|i| format!("key:{:06}", (i * 7919) % KEYS))
        .collect();
    let t = Instant::now();
    for k in &keys {
        handle
            .put_sync(k, value.clone().into(), PutOptions::new())
            .map_err(|e| e.to_string())?;
    }
    let put = t.elapsed().as_secs_f64() * 1e9 / ops as f64;
    let t = Instant::now();
    let mut found = 0usize;
    for k in &keys {
        found += usize::from(handle.get_sync(k).map_err(|e| e.to_string())?.is_some());
    }
    let get = t.elapsed().as_secs_f64() * 1e9 / ops as f64;
    if found != ops {
        return Err("a GET missed".into());
    }
    Ok((put, get))
}

/// Nanoseconds per insert (overwrite) and get of `ops` keys on a map of `KEYS` entries shaped
/// like the storage's (`Arc<str>` to `Arc<entry>`): the map alone, the std `BTreeMap` the memory
/// storage used before and the `imbl::OrdMap` it uses now, side by side.
fn maps(ops: usize) -> [(f64, f64); 2] {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    let names: Vec<Arc<str>> = (0..KEYS)
        .map(|i| Arc::from(format!("key:{i:06}")))
        .collect();
    let order: Vec<usize> = (0..ops).map(|i| (i * 7919) % KEYS).collect();
    let value = Arc::new(vec![b'v'; VALUE_BYTES]);
    let mut std_map: BTreeMap<Arc<str>, Arc<Vec<u8>>> = BTreeMap::new();
    let mut imbl_map: imbl::OrdMap<Arc<str>, Arc<Vec<u8>>> = imbl::OrdMap::new();
    for n in &names {
        std_map.insert(Arc::clone(n), Arc::clone(&value));
        imbl_map.insert(Arc::clone(n), Arc::clone(&value));
    }
    let time = |f: &mut dyn FnMut(&str)| {
        let t = Instant::now();
        for &i in &order {
            f(&names[i]);
        }
        t.elapsed().as_secs_f64() * 1e9 / ops as f64
    };
    let mut hits = 0usize;
    let std_put = time(&mut |k| {
        std_map.insert(Arc::from(k), Arc::clone(&value));
    });
    let std_get = time(&mut |k| hits += usize::from(std_map.contains_key(k)));
    let imbl_put = time(&mut |k| {
        imbl_map.insert(Arc::from(k), Arc::clone(&value));
    });
    let imbl_get = time(&mut |k| hits += usize::from(imbl_map.contains_key(k)));
    assert_eq!(hits, 2 * ops);
    [(std_put, std_get), (imbl_put, imbl_get)]
}

fn row(what: &str, values: &[f64], target: Option<f64>) {
    let median = stats::median(values);
    let max = values.iter().copied().fold(0.0, f64::max);
    let verdict = target.map_or("", |t| stats::verdict(max <= t));
    println!(
        "| {what} | {median:.3} | {max:.3} | {} | {verdict} |",
        values.len()
    );
}

fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let (rounds, persisted_rounds, ops) = if quick {
        (5, 2, 20_000)
    } else {
        (21, 5, 200_000)
    };
    println!(
        "# Snapshots: {KEYS} keys of {VALUE_BYTES} B, {TEST_WRITES} writes between snapshot and restore\n"
    );
    println!("Machine: {}\n", machine::describe());
    println!("| operation | median (ms) | max (ms) | rounds | <= 50 ms (max) |");
    println!("|---|---:|---:|---:|---|");

    let engine = Engine::new(config());
    let ns = engine
        .create_namespace("bench")
        .map_err(|e| e.to_string())?
        .id;
    fill(&engine, &ns)?;
    let (snaps, restores) = snapshot_restore(&engine, &ns, rounds)?;
    row("snapshot, in memory", &snaps, None);
    row("restore, in memory", &restores, Some(50.0));

    let dir = std::env::temp_dir().join(format!("kv-mock-snapshot-bench-{}", std::process::id()));
    let persisted = Engine::persistent(config(), &dir).map_err(|e| e.to_string())?;
    let pns = persisted
        .create_namespace("bench")
        .map_err(|e| e.to_string())?
        .id;
    fill(&persisted, &pns)?;
    let result = snapshot_restore(&persisted, &pns, persisted_rounds);
    drop(persisted);
    let _ = std::fs::remove_dir_all(&dir);
    let (psnaps, prestores) = result?;
    row("snapshot, --persist", &psnaps, None);
    row(
        "restore, --persist (rewrites the namespace's rows)",
        &prestores,
        None,
    );

    println!(
        "\n| single-key op, in memory, in process | ns/op (no snapshot held) | ns/op (a snapshot held: every first write copies a path) |"
    );
    println!("|---|---:|---:|");
    let (put, get) = per_op(&engine, &ns, ops)?;
    let held = engine.snapshot().map_err(|e| e.to_string())?;
    let (put_held, get_held) = per_op(&engine, &ns, ops)?;
    engine.forget_snapshot(&held);
    println!("| PUT {VALUE_BYTES} B | {put:.0} | {put_held:.0} |");
    println!("| GET {VALUE_BYTES} B | {get:.0} | {get_held:.0} |");

    println!(
        "\n| the map alone, {KEYS} entries | std BTreeMap (before) ns/op | imbl OrdMap (now) ns/op | now / before |"
    );
    println!("|---|---:|---:|---:|");
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(maps(ops));
    }
    for (op, pick) in [("insert (overwrite)", 0usize), ("get", 1)] {
        let value = |m: usize, r: &[(f64, f64); 2]| if pick == 0 { r[m].0 } else { r[m].1 };
        let before: Vec<f64> = runs.iter().map(|r| value(0, r)).collect();
        let now: Vec<f64> = runs.iter().map(|r| value(1, r)).collect();
        let (b, n) = (stats::median(&before), stats::median(&now));
        println!("| {op} | {b:.0} | {n:.0} | {:.2} |", n / b);
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("snapshot bench: {e}");
            ExitCode::FAILURE
        }
    }
}
