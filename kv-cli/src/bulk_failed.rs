//! `--failed FILE`: the items that failed, copied byte for byte from the input into a JSON array
//! in input order, so the file can be fixed and run again. Only the failed items' indices are
//! kept while the command runs; their text is read from the input in a second pass at the end
//! (see [`Input::reopen`](crate::bulk_input::Input::reopen)), so memory does not grow with the
//! input.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use kv_types::bulk_file::ArrayScanner;

use crate::failure::CliError;

/// Writes to `path` the elements of `input` whose index is in `failed` (sorted or not).
pub(crate) fn write(
    path: &Path,
    input: Box<dyn Read + Send>,
    mut failed: Vec<u64>,
) -> Result<(), CliError> {
    failed.sort_unstable();
    failed.dedup();
    let what = || format!("writing {}", path.display());
    let file = File::create(path).map_err(CliError::io(what()))?;
    let mut out = BufWriter::new(file);
    let mut wanted = failed.iter().copied().peekable();
    let mut written = 0u64;
    for element in ArrayScanner::new(BufReader::new(input)) {
        let Some(&next) = wanted.peek() else { break };
        // The first pass read this far, so a break cannot come before the last failed item.
        let Ok(element) = element else { break };
        if element.index < next {
            continue;
        }
        wanted.next();
        if element.oversized() {
            // Larger than any item can be: its text was not kept (its error said so).
            continue;
        }
        let sep: &[u8] = if written == 0 { b"[\n" } else { b",\n" };
        written += 1;
        out.write_all(sep)
            .and_then(|()| out.write_all(&element.bytes))
            .map_err(CliError::io(what()))?;
    }
    let end: &[u8] = if written == 0 { b"[]\n" } else { b"\n]\n" };
    out.write_all(end)
        .and_then(|()| out.flush())
        .map_err(CliError::io(what()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(input: &str, failed: Vec<u64>) -> String {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("failed.json");
        write(
            &path,
            Box::new(std::io::Cursor::new(input.to_owned())),
            failed,
        )
        .expect("written");
        std::fs::read_to_string(&path).expect("read back")
    }

    #[test]
    fn copies_the_failed_elements_in_input_order() {
        let input = r#"[ {"key":"a"}, "b" ,{"key": "c", "x": [1, 2]}, 4 ]"#;
        assert_eq!(
            written(input, vec![2, 0, 2]),
            "[\n{\"key\":\"a\"},\n{\"key\": \"c\", \"x\": [1, 2]}\n]\n"
        );
        assert_eq!(written(input, vec![]), "[]\n");
        assert_eq!(written(input, vec![3]), "[\n4\n]\n");
    }
}
