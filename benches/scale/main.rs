//! Scale and start-up (issue 7, items 5 and 7): a page of 1000 keys in namespaces of 10k and 1M
//! keys, and `KvMock::start()` plus the first request.
//!
//! `cargo bench -p edge-kv --bench scale [-- --quick]`

mod list_scale;
#[path = "../support/machine.rs"]
mod machine;
mod startup;
#[allow(dead_code)] // shared by the bench binaries
#[path = "../support/stats.rs"]
mod stats;

use std::process::ExitCode;

fn run(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let (large, rounds, starts) = if quick {
        (100_000, 11, 11)
    } else {
        (1_000_000, 51, 51)
    };
    println!("# Scale and start-up (items 5 and 7)\n");
    println!("Machine: {}\n", machine::describe());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    list_scale::report(&rt, 10_000, large, rounds)?;
    drop(rt);

    println!("## 7. Start-up: `KvMock::start()` plus the first request\n");
    println!(
        "Median of {starts} starts in one process (a new mock each time, the previous one dropped); the first request is a get of a missing key by a reqwest client made beforehand. \"first\" is the first start on a new runtime (for the current-thread row, the first in the process).\n"
    );
    println!(
        "| runtime | start + first request (ms, median) | <= 2 ms | start alone (ms) | first request alone (ms) | first start on the runtime (ms) | start + kv-client build + first get (ms) |"
    );
    println!("|---|---|---|---|---|---|---|");
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    startup::report(&current, "current-thread (`#[tokio::test]`)", starts)?;
    drop(current);
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    startup::report(&multi, "multi-thread, 2 workers", starts)?;
    println!();
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scale bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
