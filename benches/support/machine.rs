//! What the figures were measured on: cores, CPU model, load, and the command line.

/// A short description of this machine, for the head of a report.
pub(crate) fn describe() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| {
            let parts: Vec<&str> = l.split_whitespace().take(3).collect();
            (parts.len() == 3).then(|| parts.join(" "))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let build = if cfg!(debug_assertions) {
        "debug build (numbers are not representative)"
    } else {
        "release build"
    };
    format!("nproc {cores}, CPU {model}, load average at start {load}, {build}")
}
