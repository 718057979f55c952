//! [`Progress`]: what a bulk command shows on stderr while it runs and when it ends.
//!
//! When stderr is a terminal, an [indicatif] bar: the input bytes read out of the file's size
//! (a spinner for stdin), the keys done and failed, the rate and the time left; item errors are
//! printed above it. When stderr is not a terminal (a pipe, a file, CI), nothing is drawn and no
//! control character is written: only the item errors, as plain lines. Either way the command
//! ends with one summary line (or, with `--json`, the JSON summary on stdout).

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often the bar is redrawn when nothing changes (the spinner and elapsed time move).
const TICK: Duration = Duration::from_millis(200);

/// The progress of one bulk command.
pub(crate) struct Progress {
    /// `None` when stderr is not a terminal.
    bar: Option<ProgressBar>,
    started: Instant,
    bytes_read: u64,
    done: u64,
    failed: u64,
}

impl Progress {
    /// Starts showing progress over an input of `total_bytes` (unknown for stdin); drawn only
    /// when stderr is a terminal.
    pub(crate) fn start(total_bytes: Option<u64>) -> Progress {
        let bar = std::io::stderr()
            .is_terminal()
            .then(|| Self::bar(total_bytes));
        Progress {
            bar,
            started: Instant::now(),
            bytes_read: 0,
            done: 0,
            failed: 0,
        }
    }

    fn bar(total_bytes: Option<u64>) -> ProgressBar {
        // Short enough for 80 columns: a line that wraps is redrawn badly.
        let template = match total_bytes {
            Some(_) => {
                "{spinner} [{bar:20}] {bytes}/{total_bytes} {binary_bytes_per_sec}, \
                 {eta} left, {msg}"
            }
            None => "{spinner} {bytes} read, {binary_bytes_per_sec}, {msg}",
        };
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr())
            .with_style(style);
        bar.enable_steady_tick(TICK);
        bar
    }

    /// A line for the user (an item that failed), above the bar when there is one.
    pub(crate) fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// `bytes` more of the input were read.
    pub(crate) fn read(&mut self, bytes: u64) {
        self.bytes_read += bytes;
        if let Some(bar) = &self.bar {
            bar.set_position(self.bytes_read);
        }
    }

    /// `done` more items were done and `failed` more failed.
    pub(crate) fn items(&mut self, done: u64, failed: u64) {
        self.done += done;
        self.failed += failed;
        if let Some(bar) = &self.bar {
            let mut msg = format!("{} keys, {:.0}/s", self.done, self.keys_per_sec());
            if self.failed > 0 {
                msg.push_str(&format!(", {} failed", self.failed));
            }
            bar.set_message(msg);
        }
    }

    /// Items done so far.
    pub(crate) fn done(&self) -> u64 {
        self.done
    }

    /// Items failed so far.
    pub(crate) fn failed(&self) -> u64 {
        self.failed
    }

    fn keys_per_sec(&self) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 {
            (self.done + self.failed) as f64 / secs
        } else {
            0.0
        }
    }

    /// Removes the bar and gives the summary line of `verb`: counts, bytes, time and rate.
    pub(crate) fn finish(self, verb: &str) -> String {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        format!(
            "bulk {verb}: {} done, {} failed; {} of items in {:.1} s ({:.0} keys/s)",
            self.done,
            self.failed,
            HumanBytes(self.bytes_read),
            self.started.elapsed().as_secs_f64(),
            self.keys_per_sec()
        )
    }
}
