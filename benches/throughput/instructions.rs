//! Instructions per operation, counted by callgrind: robust where wall time is too noisy on a
//! shared machine. Each count runs this binary as `profile CONTENDER OP CONCURRENCY OPS BASE
//! ACCOUNT NAMESPACE` under `valgrind --tool=callgrind` (the server, already running in its own
//! process, is not traced), once with `OPS` and once with twice as many; the difference divided
//! by `OPS` is the cost of one operation in the client process, start-up and warm-up cancelled out.

use std::process::Command;

use bytes::Bytes;

use crate::contenders::{Contender, KEYS, Target, VALUE_BYTES};
use crate::load::{self, Op};

/// Whether valgrind can be run.
pub(crate) fn available() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The instructions callgrind counted in one run of the `profile` role.
fn count(args: &[String]) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let output = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .arg("profile")
        .args(args)
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("valgrind failed: {stderr}"));
    }
    stderr
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().to_owned())
        })
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no instruction count in: {stderr}"))
}

/// Instructions per operation of `contender` (a name understood by the `profile` role).
pub(crate) fn per_op(
    contender: &str,
    op: Op,
    concurrency: usize,
    ops: usize,
    target: &Target,
) -> Result<f64, String> {
    let args = |n: usize| -> Vec<String> {
        vec![
            contender.to_owned(),
            op.name().to_owned(),
            concurrency.to_string(),
            n.to_string(),
            target.base_url.clone(),
            target.account_id.clone(),
            target.namespace_id.clone(),
        ]
    };
    let once = count(&args(ops))?;
    let twice = count(&args(2 * ops))?;
    Ok(twice.saturating_sub(once) as f64 / ops as f64)
}

/// The `profile` role: warm up, then run the operations (no report; run it under a profiler).
pub(crate) fn profile(args: &[String]) -> Result<(), String> {
    let [
        contender,
        op,
        concurrency,
        ops,
        base_url,
        account_id,
        namespace_id,
    ] = args
    else {
        return Err(
            "usage: profile CONTENDER put|get CONCURRENCY OPS BASE_URL ACCOUNT NAMESPACE"
                .to_owned(),
        );
    };
    let target = Target {
        base_url: base_url.clone(),
        account_id: account_id.clone(),
        namespace_id: namespace_id.clone(),
    };
    let contender = match contender.as_str() {
        "kv-client" => Contender::kv_client(&target)?,
        "reqwest" => Contender::reqwest(&target)?,
        "cloudflare" => Contender::cloudflare(&target)?,
        other => return Err(format!("unknown contender {other:?}")),
    };
    let op = match op.as_str() {
        "put" => Op::Put,
        "get" => Op::Get,
        other => return Err(format!("unknown op {other:?}")),
    };
    let concurrency: usize = concurrency
        .parse()
        .map_err(|e| format!("concurrency: {e}"))?;
    let ops: usize = ops.parse().map_err(|e| format!("ops: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let value = Bytes::from(vec![b'v'; VALUE_BYTES]);
    rt.block_on(async {
        // Every key written first (so gets find it) and the connections opened.
        load::run(&contender, Op::Put, KEYS, concurrency, 0, &value).await?;
        load::run(&contender, op, ops, concurrency, 0, &value).await
    })?;
    Ok(())
}
