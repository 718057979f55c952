//! Throughput, side by side in one run (issue 7, items 1 to 3).
//!
//! - Client overhead: put and get of 1 KiB values against kv-mock over loopback, at concurrency
//!   1 and 64: kv-client vs bare reqwest vs the `cloudflare` crate, all against the same server.
//! - Mock throughput: the same load (sent by bare reqwest) served by kv-mock vs a bare hyper
//!   server answering a fixed 200 with a small JSON body.
//!
//! The servers run in child processes (this binary, `serve-mock` / `serve-hyper`) on one tokio
//! worker thread each; the clients run in this process on a current-thread runtime. Rounds are
//! interleaved (the order rotates each round) and every figure is a median over rounds; ratios
//! are medians of the per-round ratios. Besides throughput, the CPU time per operation of the
//! client process and of the server process is read from `/proc/*/task/*/schedstat`, which a
//! busy shared machine disturbs far less than wall time.
//!
//! Then, when valgrind is installed, the instructions per operation of each client, counted by
//! callgrind ([`instructions`]).
//!
//! `cargo bench -p edge-kv --bench throughput [-- --quick | --rounds N | --no-instructions]`

#[path = "../support/bare_server.rs"]
mod bare_server;
// The support modules are shared by the bench binaries; each binary uses a part of them.
#[allow(dead_code)]
#[path = "../support/child.rs"]
mod child;
mod contenders;
mod instructions;
mod load;
#[path = "../support/machine.rs"]
mod machine;
#[allow(dead_code)]
#[path = "../support/proc_stats.rs"]
mod proc_stats;
mod servers;
#[path = "../support/stats.rs"]
mod stats;

use std::process::ExitCode;

use bytes::Bytes;
use contenders::{Contender, KEYS, Target, VALUE_BYTES};
use load::Op;
use proc_stats::Proc;
use stats::{median, paired_ratio, spread, verdict};

/// One measured round of one contender.
#[derive(Debug, Clone, Copy)]
struct Sample {
    ops_per_sec: f64,
    client_us_per_op: f64,
    server_us_per_op: f64,
}

/// How much to run.
#[derive(Debug, Clone, Copy)]
struct Plan {
    rounds: usize,
    ops_c1: usize,
    ops_c64: usize,
}

impl Plan {
    fn from_args(args: &[String]) -> Plan {
        let mut plan = Plan {
            rounds: 7,
            ops_c1: 2_000,
            ops_c64: 8_000,
        };
        if args.iter().any(|a| a == "--quick") {
            plan = Plan {
                rounds: 3,
                ops_c1: 500,
                ops_c64: 2_000,
            };
        }
        if let Some(n) = args
            .iter()
            .position(|a| a == "--rounds")
            .and_then(|i| args.get(i + 1))
            .and_then(|n| n.parse().ok())
        {
            plan.rounds = n;
        }
        plan.rounds = plan.rounds.clamp(1, 101);
        plan
    }

    fn ops(&self, concurrency: usize) -> usize {
        if concurrency == 1 {
            self.ops_c1
        } else {
            self.ops_c64
        }
    }
}

/// A contender and the server process it talks to.
struct Runner<'a> {
    name: &'static str,
    contender: Contender,
    server: Proc,
    rt: &'a tokio::runtime::Runtime,
}

impl Runner<'_> {
    fn measure(
        &self,
        op: Op,
        ops: usize,
        concurrency: usize,
        first: usize,
        value: &Bytes,
    ) -> Result<Sample, String> {
        let client0 = proc_stats::cpu_ns(Proc::Current);
        let server0 = proc_stats::cpu_ns(self.server);
        let wall = self
            .rt
            .block_on(load::run(
                &self.contender,
                op,
                ops,
                concurrency,
                first,
                value,
            ))
            .map_err(|e| format!("{} {}: {e}", self.name, op.name()))?;
        let client = proc_stats::cpu_ns(Proc::Current).saturating_sub(client0);
        let server = proc_stats::cpu_ns(self.server).saturating_sub(server0);
        let n = ops as f64;
        Ok(Sample {
            ops_per_sec: n / wall.as_secs_f64(),
            client_us_per_op: client as f64 / n / 1000.0,
            server_us_per_op: server as f64 / n / 1000.0,
        })
    }
}

/// Runs every runner `plan.rounds` times on `(op, concurrency)`, interleaved, the order rotating
/// each round. Returns the samples per runner.
fn compare(
    runners: &[Runner<'_>],
    op: Op,
    concurrency: usize,
    plan: &Plan,
    value: &Bytes,
) -> Result<Vec<Vec<Sample>>, String> {
    let mut samples = vec![Vec::with_capacity(plan.rounds); runners.len()];
    let ops = plan.ops(concurrency);
    for round in 0..plan.rounds {
        for k in 0..runners.len() {
            let idx = (k + round) % runners.len();
            let sample = runners[idx].measure(op, ops, concurrency, round * ops, value)?;
            samples[idx].push(sample);
        }
    }
    Ok(samples)
}

fn column(samples: &[Sample], f: fn(&Sample) -> f64) -> Vec<f64> {
    samples.iter().map(f).collect()
}

fn ops_per_sec(s: &Sample) -> f64 {
    s.ops_per_sec
}

fn client_cpu(s: &Sample) -> f64 {
    s.client_us_per_op
}

fn server_cpu(s: &Sample) -> f64 {
    s.server_us_per_op
}

fn target(child: &child::Child) -> Result<Target, String> {
    Ok(Target {
        base_url: child.field("base_url")?.to_owned(),
        account_id: child.field("account_id")?.to_owned(),
        namespace_id: child.field("namespace_id")?.to_owned(),
    })
}

/// Client-process instructions per operation at concurrency 1, counted by callgrind.
fn report_instructions(target: &Target, plan: &Plan) -> Result<(), String> {
    let ops = plan.ops_c1 / 2;
    println!("### Instructions per operation in the client process (callgrind, concurrency 1)\n");
    println!(
        "Each figure is (count with {} ops - count with {ops} ops) / {ops}, so start-up and warm-up cancel out; the server runs untraced in its own process. Far steadier than wall time on a shared machine (repeated runs here differed by about 1%).\n",
        2 * ops
    );
    println!(
        "| op | kv-client | reqwest | cloudflare | kv-client / reqwest | kv-client / cloudflare |"
    );
    println!("|---|---|---|---|---|---|");
    for op in [Op::Put, Op::Get] {
        eprintln!("instructions: {}", op.name());
        let mut counts = Vec::new();
        for contender in ["kv-client", "reqwest", "cloudflare"] {
            counts.push(instructions::per_op(contender, op, 1, ops, target)?);
        }
        println!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.3} | {:.3} |",
            op.name(),
            counts[0],
            counts[1],
            counts[2],
            counts[0] / counts[1],
            counts[0] / counts[2],
        );
    }
    println!();
    Ok(())
}

fn parent(args: &[String]) -> Result<(), String> {
    let plan = Plan::from_args(args);
    println!("# Throughput (items 1-3)\n");
    println!("Machine: {}", machine::describe());
    println!(
        "Plan: {} rounds; {} ops per round at concurrency 1, {} at 64; 1 KiB values over {} keys\n",
        plan.rounds, plan.ops_c1, plan.ops_c64, KEYS
    );
    let mock = child::Child::spawn(&["serve-mock"])?;
    let hyper = child::Child::spawn(&["serve-hyper"])?;
    let mock_target = target(&mock)?;
    let hyper_target = target(&hyper)?;
    let (mock_proc, hyper_proc) = (Proc::Pid(mock.pid()), Proc::Pid(hyper.pid()));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let value = Bytes::from(vec![b'v'; VALUE_BYTES]);
    let runner =
        |name, contender: Result<Contender, String>, server| -> Result<Runner<'_>, String> {
            Ok(Runner {
                name,
                contender: contender?,
                server,
                rt: &rt,
            })
        };
    let clients = [
        runner("kv-client", Contender::kv_client(&mock_target), mock_proc)?,
        runner("reqwest", Contender::reqwest(&mock_target), mock_proc)?,
        runner("cloudflare", Contender::cloudflare(&mock_target), mock_proc)?,
    ];
    let servers = [
        runner("kv-mock", Contender::reqwest(&mock_target), mock_proc)?,
        runner("bare hyper", Contender::reqwest(&hyper_target), hyper_proc)?,
    ];
    // Warm-up: every key written (so gets find it), connections opened, code paged in.
    for r in clients.iter().chain(&servers) {
        for op in [Op::Put, Op::Get] {
            r.measure(op, 4 * KEYS, 64, 0, &value)?;
            r.measure(op, KEYS, 1, 0, &value)?;
        }
    }

    let cases = [(Op::Put, 1), (Op::Get, 1), (Op::Put, 64), (Op::Get, 64)];
    let mut client_rows = Vec::new();
    let mut server_rows = Vec::new();
    for (op, c) in cases {
        eprintln!("throughput: {} at concurrency {c}", op.name());
        let s = compare(&clients, op, c, &plan, &value)?;
        client_rows.push((op, c, s));
        let s = compare(&servers, op, c, &plan, &value)?;
        server_rows.push((op, c, s));
    }

    println!(
        "## 1-2. Client overhead: kv-client vs bare reqwest vs cloudflare 0.14, server kv-mock\n"
    );
    println!(
        "Throughput in operations per second (median of {} rounds, min..max); ratios are medians of per-round ratios.\n",
        plan.rounds
    );
    println!(
        "| op | conc. | kv-client ops/s | reqwest ops/s | cloudflare ops/s | kv-client / reqwest (target >= 0.97) | met | kv-client / cloudflare (target >= 1.0) | met |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (op, c, s) in &client_rows {
        let t: Vec<Vec<f64>> = s.iter().map(|x| column(x, ops_per_sec)).collect();
        let vs_reqwest = paired_ratio(&t[0], &t[1]);
        let vs_cf = paired_ratio(&t[0], &t[2]);
        println!(
            "| {} | {c} | {:.0} ({}) | {:.0} ({}) | {:.0} ({}) | {vs_reqwest:.3} | {} | {vs_cf:.3} | {} |",
            op.name(),
            median(&t[0]),
            spread(&t[0], 0),
            median(&t[1]),
            spread(&t[1], 0),
            median(&t[2]),
            spread(&t[2], 0),
            verdict(vs_reqwest >= 0.97),
            verdict(vs_cf >= 1.0),
        );
    }
    println!(
        "\nCPU time of the client process per operation, in microseconds (median), and the ratio to bare reqwest:\n"
    );
    println!(
        "| op | conc. | kv-client µs/op | reqwest µs/op | cloudflare µs/op | kv-client / reqwest CPU | cloudflare / reqwest CPU |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (op, c, s) in &client_rows {
        let t: Vec<Vec<f64>> = s.iter().map(|x| column(x, client_cpu)).collect();
        println!(
            "| {} | {c} | {:.1} | {:.1} | {:.1} | {:.3} | {:.3} |",
            op.name(),
            median(&t[0]),
            median(&t[1]),
            median(&t[2]),
            paired_ratio(&t[0], &t[1]),
            paired_ratio(&t[2], &t[1]),
        );
    }

    println!(
        "\n## 3. Mock throughput: kv-mock vs bare hyper (fixed 200 + small JSON), client bare reqwest\n"
    );
    println!(
        "| op | conc. | kv-mock ops/s | bare hyper ops/s | kv-mock / hyper (target >= 0.6) | met | server CPU µs/op kv-mock | bare hyper | CPU ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (op, c, s) in &server_rows {
        let t: Vec<Vec<f64>> = s.iter().map(|x| column(x, ops_per_sec)).collect();
        let cpu: Vec<Vec<f64>> = s.iter().map(|x| column(x, server_cpu)).collect();
        let ratio = paired_ratio(&t[0], &t[1]);
        println!(
            "| {} | {c} | {:.0} ({}) | {:.0} ({}) | {ratio:.3} | {} | {:.1} | {:.1} | {:.2} |",
            op.name(),
            median(&t[0]),
            spread(&t[0], 0),
            median(&t[1]),
            spread(&t[1], 0),
            verdict(ratio >= 0.6),
            median(&cpu[0]),
            median(&cpu[1]),
            paired_ratio(&cpu[0], &cpu[1]),
        );
    }
    println!();
    if args.iter().any(|a| a == "--no-instructions") {
        println!("(instruction counts skipped: --no-instructions)\n");
    } else if instructions::available() {
        report_instructions(&mock_target, &plan)?;
    } else {
        println!("(instruction counts skipped: valgrind is not installed)\n");
    }
    drop((clients, servers));
    mock.finish()?;
    hyper.finish()?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve-mock") => servers::serve_mock(),
        Some("serve-hyper") => servers::serve_hyper(),
        Some("profile") => instructions::profile(&args[1..]),
        _ => parent(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("throughput bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
