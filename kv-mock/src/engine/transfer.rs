//! Export and import of a namespace in wrangler's bulk JSON format (`[{key, value, base64?,
//! expiration?, expiration_ttl?, metadata?}]`), both streamed.
//!
//! - **Export** writes the live entries in byte order of their names, one page of the storage
//!   at a time, so its memory is one page whatever the size of the namespace. Values that are not
//!   UTF-8 are written in base64 (`"base64": true`); `expiration` is absolute (epoch seconds).
//! - **Import** reads the input as a stream ([`ArrayScanner`]: the memory of one item's text at a
//!   time, never the whole input), decodes each item and checks it with the engine's own rules
//!   for seeding ([`Engine::seed`]: every limit, but neither the minimum TTL nor the per-key
//!   write limit). The checked entries are kept (they are what the namespace will hold anyway)
//!   and written at the end as one atomic batch: a malformed input or one bad item loads
//!   **nothing**, and the error names the item, its byte offset and what is wrong. An imported
//!   key replaces the key of the same name; other keys stay.
//!
//! Export then import is the identity: the same keys, value bytes, metadata text and
//! expirations.

use std::io::{BufRead, Write};

use kv_types::bulk_file::{ArrayScanner, Element, MAX_ELEMENT_BYTES, syntax_offset};

use super::bulk_item::{WireItem, write_item};
use super::handle::NamespaceHandle;
use super::storage::Write as StorageWrite;
use super::{Engine, EngineError};
use crate::error::ImportProblem;

/// Entries read from the storage per page of an export.
const EXPORT_PAGE: usize = 1000;

fn problem(element: &Element, key: Option<&str>, reason: impl Into<String>) -> EngineError {
    EngineError::BadImport(ImportProblem {
        index: Some(element.index),
        offset: element.offset,
        key: key.map(str::to_owned),
        reason: reason.into(),
    })
}

impl NamespaceHandle {
    /// Writes every live entry to `out` as a bulk JSON array; answers how many.
    pub fn export(&self, out: impl Write) -> Result<u64, EngineError> {
        let mut out = std::io::BufWriter::new(out);
        let failed = |e: std::io::Error| EngineError::ExportWrite {
            reason: e.to_string(),
        };
        out.write_all(b"[").map_err(failed)?;
        let mut after: Option<std::sync::Arc<str>> = None;
        let mut count = 0u64;
        loop {
            let page = self
                .storage()
                .range("", after.as_deref(), EXPORT_PAGE, self.now())
                .map_err(|e| e.during("export"))?;
            for (name, entry) in &page.entries {
                let sep: &[u8] = if count == 0 { b"\n" } else { b",\n" };
                out.write_all(sep).map_err(failed)?;
                write_item(&mut out, name, entry).map_err(failed)?;
                count += 1;
            }
            match page.entries.last() {
                Some((last, _)) if page.more => after = Some(std::sync::Arc::clone(last)),
                _ => break,
            }
        }
        let end: &[u8] = if count == 0 { b"]\n" } else { b"\n]\n" };
        out.write_all(end).map_err(failed)?;
        out.flush().map_err(failed)?;
        Ok(count)
    }

    /// Reads a bulk JSON array from `input` and writes all its items, or nothing (see the
    /// [module](self)); answers how many items were written.
    pub fn import(&self, input: impl BufRead) -> Result<u64, EngineError> {
        let checked = self.check_import(input)?;
        self.write_import(checked)
    }

    /// The first half of an import: reads and checks every item of `input`, writes nothing.
    pub(crate) fn check_import(&self, input: impl BufRead) -> Result<CheckedImport, EngineError> {
        let limits = *self.limits();
        let now = self.now();
        let mut batch = Vec::new();
        for element in ArrayScanner::new(input) {
            let element = element.map_err(|m| {
                EngineError::BadImport(ImportProblem {
                    index: None,
                    offset: m.offset,
                    key: None,
                    reason: m.reason,
                })
            })?;
            if element.oversized() {
                return Err(problem(
                    &element,
                    None,
                    format!(
                        "{} bytes, larger than any item can be ({MAX_ELEMENT_BYTES})",
                        element.len
                    ),
                ));
            }
            let wire: WireItem = serde_json::from_slice(&element.bytes).map_err(|e| {
                if e.is_syntax() || e.is_eof() {
                    EngineError::BadImport(ImportProblem {
                        index: Some(element.index),
                        offset: syntax_offset(&element, e.line(), e.column()),
                        key: None,
                        reason: format!("not valid JSON: {e}"),
                    })
                } else {
                    problem(
                        &element,
                        None,
                        format!("expected {{\"key\": string, \"value\": string, ...}}: {e}"),
                    )
                }
            })?;
            let put = wire
                .decode(&limits)
                .map_err(|(key, e)| problem(&element, Some(&key), e.to_string()))?;
            let entry = self
                .checked_entry(&put.key, put.value, put.options, now, true)
                .map_err(|e| problem(&element, Some(&put.key), e.to_string()))?;
            batch.push(StorageWrite::Put {
                key: put.key,
                entry,
            });
        }
        Ok(CheckedImport { batch, now })
    }

    /// The second half of an import: writes what [`check_import`](Self::check_import) checked,
    /// in one atomic batch; answers how many items.
    pub(crate) fn write_import(&self, checked: CheckedImport) -> Result<u64, EngineError> {
        let CheckedImport { batch, now } = checked;
        let count = batch.len() as u64;
        self.storage()
            .write(batch, now)
            .map_err(|e| e.during("import"))?;
        Ok(count)
    }
}

/// The items of an import, checked, not yet written.
pub(crate) struct CheckedImport {
    batch: Vec<StorageWrite>,
    now: u64,
}

impl Engine {
    /// Writes the live entries of the namespace `namespace_id` to `out` in wrangler's bulk JSON
    /// format, streamed (see [`NamespaceHandle::export`]); answers how many.
    ///
    /// ```
    /// use kv_mock::Engine;
    /// use kv_types::PutOptions;
    ///
    /// let engine = Engine::default();
    /// let ns = engine.create_namespace("app")?;
    /// engine.seed(&ns.id, "greeting", "hello", PutOptions::new())?;
    /// let mut out = Vec::new();
    /// engine.export(&ns.id, &mut out)?;
    /// assert_eq!(out, b"[\n{\"key\":\"greeting\",\"value\":\"hello\"}\n]\n");
    ///
    /// let copy = engine.create_namespace("copy")?;
    /// assert_eq!(engine.import(&copy.id, &out[..])?, 1);
    /// assert_eq!(engine.entry(&copy.id, "greeting").map(|e| e.value), Some("hello".into()));
    /// # Ok::<(), kv_mock::EngineError>(())
    /// ```
    pub fn export(&self, namespace_id: &str, out: impl Write) -> Result<u64, EngineError> {
        self.namespace(namespace_id)
            .ok_or(EngineError::NamespaceNotFound { op: "export" })?
            .export(out)
    }

    /// Loads a bulk JSON array from `input` into the namespace `namespace_id`: every item, or
    /// nothing when the input is malformed or an item breaks a rule
    /// ([`EngineError::BadImport`] names it); see [`NamespaceHandle::import`]. Answers how many
    /// items were written.
    pub fn import(&self, namespace_id: &str, input: impl BufRead) -> Result<u64, EngineError> {
        self.namespace(namespace_id)
            .ok_or(EngineError::NamespaceNotFound { op: "import" })?
            .import(input)
    }
}

#[cfg(test)]
mod tests;
