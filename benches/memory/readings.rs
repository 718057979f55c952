//! What a process of this binary reports about its own memory: live heap bytes and their peak
//! (from the counting allocator), resident memory and its peak (from `/proc/self/status`).

use crate::HEAP;
use crate::proc_stats::{self, Proc};

/// Resets both peaks to the current values.
pub(crate) fn reset_peaks() {
    HEAP.reset_peak_usage();
    proc_stats::reset_peak(Proc::Current);
}

/// The readings as `name value` fields.
pub(crate) fn fields() -> Vec<(String, String)> {
    vec![
        ("heap".to_owned(), HEAP.current_usage().to_string()),
        ("heap_peak".to_owned(), HEAP.peak_usage().to_string()),
        ("rss".to_owned(), proc_stats::rss(Proc::Current).to_string()),
        (
            "rss_peak".to_owned(),
            proc_stats::peak_rss(Proc::Current).to_string(),
        ),
    ]
}

/// The same readings, parsed back by the parent.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Reading {
    /// Live heap bytes.
    pub(crate) heap: u64,
    /// Peak live heap bytes since the last reset.
    pub(crate) heap_peak: u64,
    /// Resident bytes.
    pub(crate) rss: u64,
    /// Peak resident bytes since the last reset.
    pub(crate) rss_peak: u64,
}

impl Reading {
    /// Parses the fields of [`fields`], each name preceded by `prefix`.
    pub(crate) fn parse(fields: &[(String, String)], prefix: &str) -> Result<Reading, String> {
        let get = |name: &str| crate::child::value(fields, &format!("{prefix}{name}"));
        Ok(Reading {
            heap: get("heap")?,
            heap_peak: get("heap_peak")?,
            rss: get("rss")?,
            rss_peak: get("rss_peak")?,
        })
    }
}

impl Reading {
    /// Parses the start-up fields of a child, each name preceded by `prefix`.
    pub(crate) fn parse_fields(
        child: &crate::child::Child,
        prefix: &str,
    ) -> Result<Reading, String> {
        let get = |name: &str| -> Result<u64, String> {
            let text = child.field(&format!("{prefix}{name}"))?;
            text.parse()
                .map_err(|e| format!("{prefix}{name} {text:?}: {e}"))
        };
        Ok(Reading {
            heap: get("heap")?,
            heap_peak: get("heap_peak")?,
            rss: get("rss")?,
            rss_peak: get("rss_peak")?,
        })
    }
}

/// Bytes as MiB with two decimals.
pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
}
