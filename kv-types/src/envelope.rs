//! The response envelope every JSON answer carries.

use serde::{Deserialize, Serialize};

/// One entry of `errors`: `{code, message}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorDetail {
    /// The error code (see [`codes`](crate::codes)).
    pub code: u32,
    /// The message clients show.
    pub message: String,
}

/// `result_info`: paging information of list endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultInfo {
    /// Items in this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Cursor of the next page of keys; `""` on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page number (namespace list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Page size (namespace list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
    /// Items in all pages (namespace list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
}

/// The envelope: `{success, errors, messages, result, result_info?}`.
///
/// ```
/// use kv_types::Envelope;
///
/// let ok = Envelope::success(serde_json::json!({}));
/// assert_eq!(
///     serde_json::to_string(&ok).unwrap(),
///     r#"{"success":true,"errors":[],"messages":[],"result":{}}"#
/// );
/// let err = Envelope::<()>::failure(10009, "get: 'key not found'");
/// assert!(!err.success);
/// assert_eq!(err.errors[0].code, 10009);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Whether the request succeeded.
    pub success: bool,
    /// The errors; at least one on failure.
    #[serde(default)]
    pub errors: Vec<ApiErrorDetail>,
    /// Informational messages.
    #[serde(default)]
    pub messages: Vec<serde_json::Value>,
    /// The result; `null` on failure.
    pub result: Option<T>,
    /// Paging information, on list endpoints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_info: Option<ResultInfo>,
}

impl<T> Envelope<T> {
    /// A successful envelope around `result`.
    pub fn success(result: T) -> Self {
        Envelope {
            success: true,
            errors: Vec::new(),
            messages: Vec::new(),
            result: Some(result),
            result_info: None,
        }
    }

    /// A successful envelope with paging information.
    pub fn success_with_info(result: T, info: ResultInfo) -> Self {
        Envelope {
            result_info: Some(info),
            ..Envelope::success(result)
        }
    }

    /// A failed envelope with one error.
    pub fn failure(code: u32, message: impl Into<String>) -> Self {
        Envelope {
            success: false,
            errors: vec![ApiErrorDetail {
                code,
                message: message.into(),
            }],
            messages: Vec::new(),
            result: None,
            result_info: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_has_null_result() {
        let text = serde_json::to_string(&Envelope::<()>::failure(10000, "Authentication error"))
            .expect("ok");
        assert_eq!(
            text,
            r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#
        );
    }

    #[test]
    fn lenient_decoding() {
        let e: Envelope<serde_json::Value> =
            serde_json::from_str(r#"{"success":true,"result":[1],"result_info":{"cursor":""}}"#)
                .expect("ok");
        assert!(e.errors.is_empty());
        assert_eq!(e.result_info.and_then(|i| i.cursor), Some(String::new()));
    }
}
