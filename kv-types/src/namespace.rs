//! Namespaces: what the namespace endpoints take and return.

use serde::{Deserialize, Serialize};

/// A namespace: `{id, title, supports_url_encoding}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespace {
    /// 32 lowercase hex characters.
    pub id: String,
    /// A human-readable name, unique within the account.
    pub title: String,
    /// Whether keys are percent-decoded in paths; always true for namespaces of this API.
    #[serde(default)]
    pub supports_url_encoding: bool,
}

/// The body of a namespace create or rename: `{title}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceTitle {
    /// The title.
    pub title: String,
}

/// Whether `id` has the form of a namespace id: 32 lowercase hex characters.
pub fn is_namespace_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_id_form() {
        assert!(is_namespace_id("0123456789abcdef0123456789abcdef"));
        assert!(!is_namespace_id("0123456789ABCDEF0123456789abcdef"));
        assert!(!is_namespace_id("0123456789abcdef0123456789abcde"));
    }
}
