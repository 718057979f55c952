//! This bench binary run again as a child process in another role (a server, a client whose
//! memory is measured alone), and the line protocol both sides speak: the child prints
//! `name value` lines then `ready`; afterwards each command line the parent writes is answered
//! with `name value` lines then `done`; the child exits when its standard input closes.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The line that ends the start-up lines.
const READY: &str = "ready";
/// The line that ends the answer to a command.
const DONE: &str = "done";

/// A running child process of this binary.
pub(crate) struct Child {
    child: std::process::Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    fields: Vec<(String, String)>,
}

/// Reads `name value` lines up to `end`.
fn read_fields(
    stdout: &mut BufReader<ChildStdout>,
    end: &str,
) -> Result<Vec<(String, String)>, String> {
    let mut fields = Vec::new();
    // Bounded: a child says `end` after a handful of lines.
    for _ in 0..10_000 {
        let mut line = String::new();
        let n = stdout
            .read_line(&mut line)
            .map_err(|e| format!("reading the child's output: {e}"))?;
        if n == 0 {
            return Err(format!("the child exited before saying {end:?}"));
        }
        let line = line.trim_end();
        if line == end {
            return Ok(fields);
        }
        let (name, value) = line.split_once(' ').unwrap_or((line, ""));
        fields.push((name.to_owned(), value.to_owned()));
    }
    Err(format!("the child never said {end:?}"))
}

impl Child {
    /// Runs this binary with `args` and waits for its `ready` line.
    pub(crate) fn spawn(args: &[&str]) -> Result<Child, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("spawning {args:?}: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| "the child has no stdout".to_owned())?;
        let mut stdout = BufReader::new(stdout);
        let fields = read_fields(&mut stdout, READY)?;
        Ok(Child {
            child,
            stdin,
            stdout,
            fields,
        })
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A start-up field.
    pub(crate) fn field(&self, name: &str) -> Result<&str, String> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| format!("the child did not say {name:?}"))
    }

    /// Sends a command and returns the answer's fields.
    pub(crate) fn ask(&mut self, command: &str) -> Result<Vec<(String, String)>, String> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| "the child's stdin is closed".to_owned())?;
        writeln!(stdin, "{command}").map_err(|e| format!("writing to the child: {e}"))?;
        stdin
            .flush()
            .map_err(|e| format!("writing to the child: {e}"))?;
        read_fields(&mut self.stdout, DONE)
    }

    /// Closes its stdin and waits (up to 10 s, then kills it).
    pub(crate) fn finish(mut self) -> Result<(), String> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), String> {
        self.stdin = None;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            match self.child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => return Err(format!("the child exited with {status}")),
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("waiting for the child: {e}")),
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        Err("the child did not exit within 10 s; killed".to_owned())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.stop();
        }
    }
}

/// A named value of an answer, parsed.
pub(crate) fn value<T: std::str::FromStr>(
    fields: &[(String, String)],
    name: &str,
) -> Result<T, String> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.parse().ok())
        .ok_or_else(|| format!("no parseable {name:?} in {fields:?}"))
}

/// The child side: prints the start-up fields and `ready`, then answers each command line with
/// `answer(command)` and `done`, until stdin closes.
pub(crate) fn serve_commands(
    startup: &[(&str, String)],
    mut answer: impl FnMut(&str) -> Vec<(String, String)>,
) {
    for (name, value) in startup {
        println!("{name} {value}");
    }
    println!("{READY}");
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        for (name, value) in answer(line.trim()) {
            println!("{name} {value}");
        }
        println!("{DONE}");
    }
}
