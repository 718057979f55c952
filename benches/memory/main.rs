//! Memory, each figure measured in a process of its own (issue 7, items 4 and 6).
//!
//! - Streaming upload of a 25 MiB value from a stream: the peak memory growth of the client
//!   process (a child holding only kv-client), and what the mock process holds afterwards.
//! - Expiry: 1M keys with a TTL in kv-mock, the clock moved past it: memory against the empty
//!   baseline.
//!
//! Every process of this binary counts its heap with a counting global allocator (live bytes
//! and their peak) and reads its resident memory (`VmRSS`, and the peak `VmHWM`, reset through
//! `/proc/self/clear_refs`). Heap figures say what our code keeps; resident figures also show
//! what the system allocator keeps after a free.
//!
//! `cargo bench -p edge-kv --bench memory [-- --quick | --runs N | --keys N]`

#[allow(dead_code)] // shared by the bench binaries
#[path = "../support/child.rs"]
mod child;
mod expiry_role;
#[path = "../support/machine.rs"]
mod machine;
mod mock_role;
#[allow(dead_code)] // shared by the bench binaries; this one reads memory, not CPU time
#[path = "../support/proc_stats.rs"]
mod proc_stats;
mod readings;
#[allow(dead_code)] // shared by the bench binaries
#[path = "../support/stats.rs"]
mod stats;
mod upload_role;

use std::process::ExitCode;

use peak_alloc::PeakAlloc;
use readings::{Reading, mib};
use stats::{median, verdict};

/// The counting allocator: live heap bytes and their peak, for every process of this binary.
#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// The most the client process may grow while streaming 25 MiB.
const CLIENT_BUDGET: f64 = 4.0 * 1024.0 * 1024.0;
/// The most the mock may hold per byte of value.
const MOCK_FACTOR: f64 = 1.5;
/// The most memory may be after expiry, per byte of the empty baseline.
const EXPIRY_FACTOR: f64 = 1.1;

fn option(args: &[String], name: &str) -> Option<usize> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
}

/// One upload of 25 MiB: the client's growth and the mock's.
struct Upload {
    client_rss_peak: f64,
    client_heap_peak: f64,
    mock_rss_held: f64,
    mock_heap_held: f64,
    mock_rss_peak: f64,
    mock_heap_peak: f64,
    value: f64,
}

fn growth(after: u64, before: u64) -> f64 {
    after as f64 - before as f64
}

fn upload_once() -> Result<Upload, String> {
    let mut mock = child::Child::spawn(&["serve-mock"])?;
    let (base, account, ns) = (
        mock.field("base_url")?.to_owned(),
        mock.field("account_id")?.to_owned(),
        mock.field("namespace_id")?.to_owned(),
    );
    let mut client = child::Child::spawn(&["upload", &base, &account, &ns])?;
    mock.ask("reset")?;
    let mock_before = Reading::parse(&mock.ask("stats")?, "")?;
    let answer = client.ask("go")?;
    if let Some((_, e)) = answer.iter().find(|(n, _)| n == "error") {
        return Err(e.clone());
    }
    let client_before = Reading::parse(&answer, "before_")?;
    let client_after = Reading::parse(&answer, "")?;
    let value: u64 = child::value(&answer, "value")?;
    let mock_fields = mock.ask("stats")?;
    let mock_after = Reading::parse(&mock_fields, "")?;
    let held: u64 = child::value(&mock_fields, "held")?;
    if held != value {
        return Err(format!(
            "the mock holds {held} bytes under the key, not {value}"
        ));
    }
    client.finish()?;
    mock.finish()?;
    Ok(Upload {
        client_rss_peak: growth(client_after.rss_peak, client_before.rss),
        client_heap_peak: growth(client_after.heap_peak, client_before.heap),
        mock_rss_held: growth(mock_after.rss, mock_before.rss),
        mock_heap_held: growth(mock_after.heap, mock_before.heap),
        mock_rss_peak: growth(mock_after.rss_peak, mock_before.rss),
        mock_heap_peak: growth(mock_after.heap_peak, mock_before.heap),
        value: value as f64,
    })
}

fn mib_f(bytes: f64) -> String {
    format!("{:.2} MiB", bytes / (1024.0 * 1024.0))
}

fn report_uploads(runs: usize) -> Result<(), String> {
    let mut uploads = Vec::with_capacity(runs);
    for _ in 0..runs {
        uploads.push(upload_once()?);
    }
    let med = |f: fn(&Upload) -> f64| median(&uploads.iter().map(f).collect::<Vec<_>>());
    let value = med(|u| u.value);
    println!(
        "## 4. Streaming upload of a 25 MiB value from a stream (64 KiB chunks made on demand)\n"
    );
    println!(
        "Median of {runs} runs, each with a fresh mock process and a fresh client process. Growth is measured from just before the put (after a 1 MiB warm-up put) to its end.\n"
    );
    println!("| measure | median | target | met |");
    println!("|---|---|---|---|");
    let client_rss = med(|u| u.client_rss_peak);
    println!(
        "| client process: peak resident growth (VmHWM - VmRSS before) | {} | <= 4 MiB | {} |",
        mib_f(client_rss),
        verdict(client_rss <= CLIENT_BUDGET)
    );
    let client_heap = med(|u| u.client_heap_peak);
    println!(
        "| client process: peak live-heap growth | {} | <= 4 MiB | {} |",
        mib_f(client_heap),
        verdict(client_heap <= CLIENT_BUDGET)
    );
    let held_rss = med(|u| u.mock_rss_held);
    println!(
        "| mock process: resident growth holding the value | {} ({:.2}x the value) | <= 1.5x | {} |",
        mib_f(held_rss),
        held_rss / value,
        verdict(held_rss <= MOCK_FACTOR * value)
    );
    let held_heap = med(|u| u.mock_heap_held);
    println!(
        "| mock process: live-heap growth holding the value | {} ({:.2}x the value) | <= 1.5x | {} |",
        mib_f(held_heap),
        held_heap / value,
        verdict(held_heap <= MOCK_FACTOR * value)
    );
    let peak_rss = med(|u| u.mock_rss_peak);
    let peak_heap = med(|u| u.mock_heap_peak);
    println!(
        "| mock process: peak resident growth while receiving | {} ({:.2}x) | (not a target) | - |",
        mib_f(peak_rss),
        peak_rss / value
    );
    println!(
        "| mock process: peak live-heap growth while receiving | {} ({:.2}x) | (not a target) | - |\n",
        mib_f(peak_heap),
        peak_heap / value
    );
    Ok(())
}

fn report_expiry(keys: usize) -> Result<(), String> {
    let keys_arg = keys.to_string();
    let run = child::Child::spawn(&["expiry", &keys_arg])?;
    let empty = Reading::parse_fields(&run, "empty_")?;
    let full = Reading::parse_fields(&run, "full_")?;
    let after = Reading::parse_fields(&run, "after_")?;
    let second = Reading::parse_fields(&run, "second_")?;
    let field = |name: &str| run.field(name).map(str::to_owned);
    let (full_entries, after_entries, after_expiring) = (
        field("full_entries")?,
        field("after_entries")?,
        field("after_expiring")?,
    );
    run.finish()?;
    println!("## 6. Expiry: {keys} keys with a TTL, the clock moved past it\n");
    println!(
        "One process: an empty kv-mock (after one request), then {keys} keys seeded with a TTL of one hour ({full_entries} entries), then the clock advanced past the TTL and one list request sent ({after_entries} entries and {after_expiring} expiry-index entries left).\n"
    );
    println!("| measure | empty | full | after expiry | after / empty (target <= 1.1) | met |");
    println!("|---|---|---|---|---|---|");
    let heap_ratio = after.heap as f64 / empty.heap as f64;
    println!(
        "| live heap | {} | {} | {} | {heap_ratio:.3} | {} |",
        mib(empty.heap),
        mib(full.heap),
        mib(after.heap),
        verdict(heap_ratio <= EXPIRY_FACTOR)
    );
    let rss_ratio = after.rss as f64 / empty.rss as f64;
    println!(
        "| resident (VmRSS) | {} | {} | {} | {rss_ratio:.3} | {} |\n",
        mib(empty.rss),
        mib(full.rss),
        mib(after.rss),
        verdict(rss_ratio <= EXPIRY_FACTOR)
    );
    let reused = if second.rss as f64 <= after.rss as f64 * EXPIRY_FACTOR {
        "within 1.1x of the first: the freed memory was reused, not added to"
    } else {
        "more than 1.1x the first: memory grew across cycles"
    };
    println!(
        "After a second fill and expiry of {keys} keys: live heap {}, resident {} ({reused}).\n",
        mib(second.heap),
        mib(second.rss)
    );
    Ok(())
}

fn parent(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let runs = option(args, "--runs")
        .unwrap_or(if quick { 1 } else { 3 })
        .clamp(1, 25);
    let keys = option(args, "--keys")
        .unwrap_or(if quick { 100_000 } else { 1_000_000 })
        .clamp(1, 10_000_000);
    println!("# Memory (items 4 and 6)\n");
    println!("Machine: {}\n", machine::describe());
    report_uploads(runs)?;
    report_expiry(keys)?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve-mock") => mock_role::serve(),
        Some("upload") => upload_role::run(&args[1..]),
        Some("expiry") => expiry_role::run(&args[1..]),
        _ => parent(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("memory bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
