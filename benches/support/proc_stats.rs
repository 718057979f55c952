//! Readings from `/proc` (Linux): CPU time of a process's threads, and its resident memory.

use std::fs;

/// Which process to read: this one or another by pid.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Proc {
    /// This process.
    Current,
    /// Another process (a child of ours).
    Pid(u32),
}

impl Proc {
    fn dir(self) -> String {
        match self {
            Proc::Current => "/proc/self".to_owned(),
            Proc::Pid(pid) => format!("/proc/{pid}"),
        }
    }
}

/// CPU time spent so far by every live thread of the process, in nanoseconds (the first field of
/// each `/proc/PID/task/TID/schedstat`). Threads that ended are not counted, so measure over
/// spans in which the process keeps its threads (a server's workers, a runtime's threads).
pub(crate) fn cpu_ns(proc: Proc) -> u64 {
    let Ok(tasks) = fs::read_dir(format!("{}/task", proc.dir())) else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`), in bytes.
pub(crate) fn status_bytes(proc: Proc, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("{}/status", proc.dir())).ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resident memory now, in bytes.
pub(crate) fn rss(proc: Proc) -> u64 {
    status_bytes(proc, "VmRSS").unwrap_or(0)
}

/// Peak resident memory since start or since [`reset_peak`], in bytes.
pub(crate) fn peak_rss(proc: Proc) -> u64 {
    status_bytes(proc, "VmHWM").unwrap_or(0)
}

/// Resets the peak resident memory (`VmHWM`) to the current one (`echo 5 > clear_refs`).
/// Returns whether the kernel accepted it.
pub(crate) fn reset_peak(proc: Proc) -> bool {
    fs::write(format!("{}/clear_refs", proc.dir()), "5").is_ok()
}
