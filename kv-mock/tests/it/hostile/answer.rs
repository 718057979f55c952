//! What every answer of the mock must look like: a sensible status and a well-formed envelope,
//! or the raw bytes of a value read.

use serde::Deserialize;
use serde_json::Value as Json;
use serde_json::value::RawValue;

use crate::hostile::generator::Case;

/// The statuses the API answers without an injected fault.
pub(crate) const EXPECTED_STATUSES: &[u16] = &[200, 400, 403, 404, 405, 413, 414, 429];

/// An answer, however it arrived.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status code.
    pub(crate) status: u16,
    /// The `Content-Type`, if any.
    pub(crate) content_type: Option<String>,
    /// The whole body.
    pub(crate) body: Vec<u8>,
}

/// The envelope as it must arrive: every field present, the result unparsed.
#[derive(Deserialize)]
struct WireEnvelope<'a> {
    success: bool,
    errors: Vec<Json>,
    #[allow(dead_code)]
    messages: Vec<Json>,
    #[serde(borrow)]
    result: &'a RawValue,
}

/// Checks `answer` to `case`; `faulted` when a status fault was injected for it. Returns the
/// error code of a failure envelope.
pub(crate) fn check(case: &Case, answer: &Answer, faulted: bool) -> Result<Option<u64>, String> {
    let status = answer.status;
    if !faulted && !EXPECTED_STATUSES.contains(&status) {
        return Err(format!("unexpected status {status}"));
    }
    if case.method == "HEAD" {
        return if answer.body.is_empty() {
            Ok(None)
        } else {
            Err("a HEAD answer with a body".to_owned())
        };
    }
    let success = (200..300).contains(&status);
    let ct = answer.content_type.as_deref().unwrap_or("");
    if success && ct == "application/octet-stream" {
        // Only a value read answers raw bytes.
        return if case.method == "GET" && case.target.contains("/values/") {
            Ok(None)
        } else {
            Err("raw bytes from a route that is not a value read".to_owned())
        };
    }
    if ct != "application/json" {
        return Err(format!("content type {ct:?}"));
    }
    // The result is kept raw: metadata may nest deeper than serde_json's default recursion limit
    // (Cloudflare takes any JSON up to 1024 bytes, and so does the mock).
    let envelope: WireEnvelope<'_> =
        serde_json::from_slice(&answer.body).map_err(|e| format!("not an envelope: {e}"))?;
    let text = || String::from_utf8_lossy(&answer.body[..answer.body.len().min(500)]).into_owned();
    if envelope.success != success {
        return Err(format!(
            "success flag does not match the status: {}",
            text()
        ));
    }
    let errors = envelope.errors;
    if success {
        return if errors.is_empty() {
            Ok(None)
        } else {
            Err(format!("errors in a success: {}", text()))
        };
    }
    if errors.is_empty() || envelope.result.get() != "null" {
        return Err(format!(
            "a failure needs errors and a null result: {}",
            text()
        ));
    }
    for e in &errors {
        let code_ok = e["code"].as_u64().is_some_and(|c| c >= 1000);
        let message_ok = e["message"].as_str().is_some_and(|m| !m.is_empty());
        if !code_ok || !message_ok {
            return Err(format!("a malformed error: {}", text()));
        }
    }
    Ok(errors[0]["code"].as_u64())
}
