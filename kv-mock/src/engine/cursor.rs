//! List cursors: opaque to clients, the URL-safe base64 of the last key of the page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cursor that resumes a list after `last_key`.
pub(crate) fn encode(last_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_key.as_bytes())
}

/// The key a cursor resumes after, or `None` when the cursor was not issued by [`encode`].
pub(crate) fn decode(cursor: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim_end_matches('=')).ok()?;
    let key = String::from_utf8(bytes).ok()?;
    (!key.is_empty()).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        for k in ["a", "b/../c", "ключ", "with space?#%"] {
            assert_eq!(decode(&encode(k)).as_deref(), Some(k));
        }
        assert_eq!(decode("!!!"), None);
        assert_eq!(decode(""), None);
        assert_eq!(decode("_w"), None); // 0xff: not UTF-8
    }
}
