//! Server load (issue 11): the standalone release `kv-mock` binary vs a bare hyper server, both
//! driven by an external load generator (`wrk`, from Debian's packages) over loopback: PUT and
//! GET of 1 KiB values over 10,000 keys, at 1 and 64 connections, per-key write limit off.
//!
//! The bare server is this binary run again as a child (`serve-hyper`), on the same runtime as
//! the standalone kv-mock (tokio's multi-thread default). Each round runs every case against
//! both servers back to back (the order alternates each round); a case's ratio is the median of
//! its per-round ratios. Besides requests per second, each server's CPU time per request is read
//! from `/proc/PID/task/*/schedstat`. Every `wrk` run is bounded (`-d`, and killed if it
//! overruns), and both servers are stopped at the end.
//!
//! `cargo bench -p edge-kv --bench server_load [-- --quick | --rounds N | --secs S]`
//! (needs `wrk` on the `PATH`, else it says so and is skipped; not run by `.ci/run`).
//!
//! Locations (issue 12) compare kv-mock with kv-mock instead of bare hyper: `-- --locations`
//! runs it with three locations (`--location iad --location fra --location sin`, the default
//! 0..60 s delays on the system clock, load on iad) against it without; `-- --baseline BIN`
//! runs it without locations against another build of the binary (main before the change).

#[allow(dead_code)]
#[path = "../support/bare_server.rs"]
mod bare_server;
#[allow(dead_code)]
#[path = "../support/child.rs"]
mod child;
#[path = "../support/machine.rs"]
mod machine;
#[allow(dead_code)]
#[path = "../support/proc_stats.rs"]
mod proc_stats;
#[allow(dead_code)]
#[path = "../support/stats.rs"]
mod stats;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use proc_stats::Proc;

/// The target of the issue: kv-mock at least this fraction of bare hyper's requests per second.
const TARGET: f64 = 0.6;
/// Keys the load spreads over.
const KEYS: usize = 10_000;
/// Size of a value written.
const VALUE_BYTES: usize = 1024;
/// How much longer than its `-d` a `wrk` run may take before it is killed.
const WRK_GRACE: Duration = Duration::from_secs(15);

/// The wrk script: `KV_METHOD` (PUT writes 1 KiB) on `KV_PATH` + `k<n>`, the keys visited in a
/// fixed order that covers all of them every 10,000 requests of a thread.
const SCRIPT: &str = include_str!("../support/wrk_kv.lua");

#[derive(Debug, Clone)]
struct Options {
    rounds: usize,
    secs: u64,
    against: Against,
}

/// What kv-mock is measured against.
#[derive(Debug, Clone)]
enum Against {
    /// The bare hyper server (issue 11): kv-mock >= [`TARGET`] of it.
    Bare,
    /// kv-mock with three locations against kv-mock without (issue 12): a write costs at most
    /// 3x, so >= [`LOCATIONS_TARGET`].
    Locations,
    /// kv-mock without locations against another build of it (issue 12: no measurable cost),
    /// >= [`BASELINE_TARGET`].
    Baseline(PathBuf),
}

/// Issue 12: with three locations a write costs at most 3x a write without.
const LOCATIONS_TARGET: f64 = 1.0 / 3.0;
/// Issue 12: locations off cost nothing measurable (within 5%).
const BASELINE_TARGET: f64 = 0.95;

/// The three locations of `--locations`.
const THREE_LOCATIONS: [&str; 6] = [
    "--location",
    "iad",
    "--location",
    "fra",
    "--location",
    "sin",
];

fn options() -> Result<Options, String> {
    let mut o = Options {
        rounds: 3,
        secs: 5,
        against: Against::Bare,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--quick" => (o.rounds, o.secs) = (1, 2),
            "--locations" => o.against = Against::Locations,
            "--baseline" => {
                let bin = args
                    .next()
                    .ok_or("--baseline needs the path of a kv-mock binary")?;
                o.against = Against::Baseline(PathBuf::from(bin));
            }
            "--rounds" => o.rounds = usize::try_from(number("--rounds")?).unwrap_or(1).max(1),
            "--secs" => o.secs = number("--secs")?.max(1),
            // `cargo bench` passes this to every bench binary.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

/// A server under load: its process, its origin and the path of the values.
struct Server {
    name: String,
    child: std::process::Child,
    origin: String,
    values_path: String,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `name value` lines from a child's stdout up to `ready`.
fn read_ready(child: &mut std::process::Child) -> Result<Vec<(String, String)>, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut fields = Vec::new();
    for _ in 0..100 {
        let line = lines
            .next()
            .ok_or("the server exited before `ready`")?
            .map_err(|e| format!("reading the server: {e}"))?;
        if line == "ready" {
            // Keep draining its stdout so it never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines.by_ref() {});
            return Ok(fields);
        }
        if let Some((n, v)) = line.split_once(' ') {
            fields.push((n.to_owned(), v.to_owned()));
        }
    }
    Err("the server never said `ready`".to_owned())
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Result<&'a str, String> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .ok_or(format!("no {name} from the server"))
}

/// Builds the release standalone kv-mock and returns its path (next to this bench binary's
/// `deps/` directory, in the same target directory).
fn build_kv_mock() -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "kv-mock",
            "--bin",
            "kv-mock",
        ])
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err(format!("cargo build of kv-mock failed: {status}"));
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let release = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("no target directory")?;
    let bin = release.join("kv-mock");
    if !bin.exists() {
        return Err(format!("{} was not built", bin.display()));
    }
    Ok(bin)
}

/// The standalone kv-mock `bin`, called `name`, with `extra` flags.
fn start_kv_mock(bin: &Path, name: &str, extra: &[&str]) -> Result<Server, String> {
    let mut child = Command::new(bin)
        .args(["--listen", "127.0.0.1:0", "--no-rate-limit"])
        .args(extra)
        .env("RUST_LOG", "kv_mock=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting kv-mock: {e}"))?;
    let fields = read_ready(&mut child)?;
    let base = field(&fields, "base_url")?.to_owned();
    let account = field(&fields, "account_id")?.to_owned();
    let namespace = field(&fields, "namespace_id")?
        .split(' ')
        .next()
        .unwrap_or("")
        .to_owned();
    let origin = base.trim_end_matches("/client/v4").to_owned();
    Ok(Server {
        name: name.to_owned(),
        child,
        origin,
        values_path: format!(
            "/client/v4/accounts/{account}/storage/kv/namespaces/{namespace}/values/"
        ),
    })
}

fn start_bare_hyper() -> Result<Server, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut child = Command::new(exe)
        .arg("serve-hyper")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting bare hyper: {e}"))?;
    let fields = read_ready(&mut child)?;
    let origin = format!("http://{}", field(&fields, "addr")?);
    Ok(Server {
        name: "bare hyper".to_owned(),
        child,
        origin,
        values_path: format!(
            "/client/v4/accounts/{0}/storage/kv/namespaces/{0}/values/",
            "0".repeat(32)
        ),
    })
}

/// The child role: the bare hyper server on tokio's default multi-thread runtime (as the
/// standalone kv-mock), until its stdin closes.
fn serve_hyper() -> Result<(), String> {
    let rt = tokio::runtime::Runtime::new().map_err(|e| format!("runtime: {e}"))?;
    let addr = rt
        .block_on(bare_server::start())
        .map_err(|e| format!("bare hyper: {e}"))?;
    child::serve_commands(&[("addr", addr.to_string())], |_| Vec::new());
    Ok(())
}

/// What one `wrk` run measured.
#[derive(Debug, Clone, Copy)]
struct Run {
    rps: f64,
    /// Server CPU time per request, in microseconds.
    cpu_us: f64,
}

/// Runs `wrk` for `secs` against `server`, bounded, and reads requests/s, the request count and
/// the non-2xx count.
fn wrk(
    server: &Server,
    script: &Path,
    method: &str,
    connections: usize,
    secs: u64,
) -> Result<Run, String> {
    let cpu_before = proc_stats::cpu_ns(Proc::Pid(server.pid()));
    let mut child = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{secs}s"),
            "--timeout",
            "5s",
            "-s",
        ])
        .arg(script)
        .arg(&server.origin)
        .env("KV_PATH", &server.values_path)
        .env("KV_METHOD", method)
        .env("KV_KEYS", KEYS.to_string())
        .env("KV_VALUE_BYTES", VALUE_BYTES.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("wrk: {e} (install it: apt-get install wrk)"))?;
    let deadline = Instant::now() + Duration::from_secs(secs) + WRK_GRACE;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("wrk overran its time and was killed".to_owned());
            }
        }
    }
    let cpu_ns = proc_stats::cpu_ns(Proc::Pid(server.pid())).saturating_sub(cpu_before);
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut out)
            .map_err(|e| format!("wrk output: {e}"))?;
    }
    let rps: f64 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or(format!("no Requests/sec in wrk's output:\n{out}"))?;
    let requests: f64 = out
        .lines()
        .find_map(|l| {
            let (n, rest) = l.trim().split_once(' ')?;
            rest.starts_with("requests in").then(|| n.parse().ok())?
        })
        .ok_or(format!("no request count in wrk's output:\n{out}"))?;
    if let Some(bad) = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
    {
        return Err(format!(
            "{}: {} answers were not 2xx",
            server.name,
            bad.trim()
        ));
    }
    if out.contains("Socket errors") {
        eprintln!(
            "{}: {}",
            server.name,
            out.lines()
                .find(|l| l.contains("Socket errors"))
                .unwrap_or("")
        );
    }
    Ok(Run {
        rps,
        cpu_us: cpu_ns as f64 / 1000.0 / requests.max(1.0),
    })
}

/// A case of the load and what each round measured for it.
struct Case {
    method: &'static str,
    connections: usize,
    mock: Vec<Run>,
    bare: Vec<Run>,
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Whether `wrk` can be run.
fn have_wrk() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

fn run() -> Result<(), String> {
    let o = options()?;
    if !have_wrk() {
        println!(
            "# Server load\n\nskipped: `wrk` is not on the PATH (Debian: apt-get install wrk)"
        );
        return Ok(());
    }
    let bin = build_kv_mock()?;
    let dir = std::env::temp_dir().join(format!("server-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let script = dir.join("load.lua");
    std::fs::write(&script, SCRIPT).map_err(|e| format!("{}: {e}", script.display()))?;
    println!("# Server load: the standalone kv-mock against a reference, wrk over loopback\n");
    println!("{}", machine::describe());
    // `mock` is measured against `bare` (the reference), whichever they are.
    let (mock, bare, target) = match &o.against {
        Against::Bare => (
            start_kv_mock(&bin, "kv-mock", &[])?,
            start_bare_hyper()?,
            TARGET,
        ),
        Against::Locations => (
            start_kv_mock(&bin, "kv-mock, 3 locations", &THREE_LOCATIONS)?,
            start_kv_mock(&bin, "kv-mock", &[])?,
            LOCATIONS_TARGET,
        ),
        Against::Baseline(base) => (
            start_kv_mock(&bin, "kv-mock", &[])?,
            start_kv_mock(base, "kv-mock baseline", &[])?,
            BASELINE_TARGET,
        ),
    };
    let mut cases: Vec<Case> = ["PUT", "GET"]
        .into_iter()
        .flat_map(|method| {
            [1, 64].map(|connections| Case {
                method,
                connections,
                mock: Vec::new(),
                bare: Vec::new(),
            })
        })
        .collect();
    let result = (|| {
        for round in 0..o.rounds {
            // PUT cases come first in every round, so GET always reads stored keys.
            for case in &mut cases {
                let servers = if round % 2 == 0 {
                    [&mock, &bare]
                } else {
                    [&bare, &mock]
                };
                for server in servers {
                    let r = wrk(server, &script, case.method, case.connections, o.secs)?;
                    if std::ptr::eq(server, &mock) {
                        case.mock.push(r);
                    } else {
                        case.bare.push(r);
                    }
                }
            }
        }
        Ok::<(), String>(())
    })();
    let (a, b) = (mock.name.clone(), bare.name.clone());
    mock.stop();
    bare.stop();
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    println!(
        "{} rounds of {} s per case and server, `wrk -t1 -cN -dS`; load average at the end {}\n",
        o.rounds,
        o.secs,
        load_average()
    );
    println!("{a} against {b}\n");
    println!(
        "| op | connections | {a} req/s | {b} req/s | ratio (median of rounds) | {a} CPU µs/req | {b} CPU µs/req | >= {target:.2}x |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for c in &cases {
        let rps = |runs: &[Run]| runs.iter().map(|r| r.rps).collect::<Vec<_>>();
        let cpu = |runs: &[Run]| stats::median(&runs.iter().map(|r| r.cpu_us).collect::<Vec<_>>());
        let ratio = stats::paired_ratio(&rps(&c.mock), &rps(&c.bare));
        println!(
            "| {} 1 KiB | {} | {:.0} | {:.0} | {:.2} ({}) | {:.1} | {:.1} | {} |",
            c.method,
            c.connections,
            stats::median(&rps(&c.mock)),
            stats::median(&rps(&c.bare)),
            ratio,
            stats::spread(
                &c.mock
                    .iter()
                    .zip(&c.bare)
                    .map(|(m, b)| m.rps / b.rps)
                    .collect::<Vec<_>>(),
                2
            ),
            cpu(&c.mock),
            cpu(&c.bare),
            stats::verdict(ratio >= target),
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let role = std::env::args().nth(1);
    let result = match role.as_deref() {
        Some("serve-hyper") => serve_hyper(),
        _ => run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("server_load: {e}");
            ExitCode::FAILURE
        }
    }
}
