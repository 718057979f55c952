//! Writing results to stdout: human text by default, JSON with `--json`.

use std::io::Write;

use serde::Serialize;

use crate::failure::CliError;

/// Writes raw bytes to stdout.
pub(crate) fn bytes(data: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(data)
        .and_then(|()| out.flush())
        .map_err(CliError::io("writing to stdout"))
}

/// Writes one line of text to stdout.
pub(crate) fn line(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(CliError::io("writing to stdout"))
}

/// Writes one JSON document (or JSON line) to stdout.
pub(crate) fn json<T: Serialize + ?Sized>(value: &T) -> Result<(), CliError> {
    let text = serde_json::to_string(value)
        .map_err(|e| CliError::Usage(format!("cannot write the output as JSON: {e}")))?;
    line(&text)
}

/// A human note on stderr (never mixed into the data on stdout).
pub(crate) fn note(text: &str) {
    eprintln!("{text}");
}
