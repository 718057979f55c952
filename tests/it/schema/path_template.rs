//! Matching a request path against the spec's path templates (`/accounts/{account_id}/...`), and
//! filling a template in with values.

use std::collections::BTreeMap;

use super::percent::{decode_segment, encode_segment};

/// Matches `path` (without the base URL's prefix) against `template`; on a match, the decoded
/// value of each `{param}`. Every parameter is exactly one segment, so a key must arrive with
/// its `/` encoded as `%2F`.
pub(crate) fn match_path(template: &str, path: &str) -> Option<BTreeMap<String, String>> {
    let template: Vec<&str> = template.split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    if template.len() != path.len() {
        return None;
    }
    let mut params = BTreeMap::new();
    for (t, p) in template.iter().zip(&path) {
        if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
            params.insert(name.to_owned(), decode_segment(p)?);
        } else if t != p {
            return None;
        }
    }
    Some(params)
}

/// Fills `template` in: each `{name}` becomes the percent-encoded value of `name` in `params`.
/// Panics when a parameter is missing.
pub(crate) fn fill(template: &str, params: &[(&str, &str)]) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let value = params
                        .iter()
                        .find(|(n, _)| *n == name)
                        .unwrap_or_else(|| panic!("no value for {{{name}}} in {template}"))
                        .1;
                    encode_segment(value)
                }
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}
