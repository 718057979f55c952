//! The URLs of the API, joined onto the base URL without losing its path prefix. Every
//! caller-supplied part (account id, namespace id, key) is one percent-encoded path segment.

use kv_types::Key;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Url;

/// Everything but RFC 3986's unreserved characters is encoded, in path segments and query values
/// alike (a space is `%20`, never `+`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(part: &str) -> String {
    utf8_percent_encode(part, COMPONENT).to_string()
}

/// URL builder for one account.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    base: Url,
    /// `<base path>/accounts/<account>/storage/kv/namespaces`, encoded.
    namespaces_path: String,
}

impl Endpoints {
    pub(crate) fn new(base: Url, account_id: &str) -> Endpoints {
        let prefix = base.path().trim_end_matches('/');
        let namespaces_path = format!(
            "{prefix}/accounts/{}/storage/kv/namespaces",
            encode(account_id)
        );
        Endpoints {
            base,
            namespaces_path,
        }
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        url.set_path(path);
        url.set_query(None);
        url
    }

    /// `.../namespaces`
    pub(crate) fn namespaces(&self) -> Url {
        self.url(&self.namespaces_path)
    }

    /// `.../namespaces/{ns}` followed by `tail` (already encoded, starting with `/` or empty).
    fn in_namespace(&self, ns: &str, tail: &str) -> Url {
        self.url(&format!("{}/{}{tail}", self.namespaces_path, encode(ns)))
    }

    /// `.../namespaces/{ns}`
    pub(crate) fn namespace(&self, ns: &str) -> Url {
        self.in_namespace(ns, "")
    }

    /// `.../namespaces/{ns}/values/{key}`
    pub(crate) fn value(&self, ns: &str, key: &Key) -> Url {
        self.in_namespace(ns, &format!("/values/{}", key.to_path_segment()))
    }

    /// `.../namespaces/{ns}/values`: the prefix that [`value_in`] extends.
    pub(crate) fn values(&self, ns: &str) -> Url {
        self.in_namespace(ns, "/values")
    }

    /// `.../namespaces/{ns}/metadata/{key}`
    pub(crate) fn metadata(&self, ns: &str, key: &Key) -> Url {
        self.in_namespace(ns, &format!("/metadata/{}", key.to_path_segment()))
    }

    /// `.../namespaces/{ns}/keys`
    pub(crate) fn keys(&self, ns: &str) -> Url {
        self.in_namespace(ns, "/keys")
    }

    /// `.../namespaces/{ns}/bulk`
    pub(crate) fn bulk(&self, ns: &str) -> Url {
        self.in_namespace(ns, "/bulk")
    }

    /// `.../namespaces/{ns}/bulk/delete`
    pub(crate) fn bulk_delete(&self, ns: &str) -> Url {
        self.in_namespace(ns, "/bulk/delete")
    }

    /// `.../namespaces/{ns}/bulk/get`
    pub(crate) fn bulk_get(&self, ns: &str) -> Url {
        self.in_namespace(ns, "/bulk/get")
    }
}

/// `values/{key}` from the namespace's cached `values` URL (see [`Endpoints::values`]).
///
/// Building a URL from a string parses it again, which costs more than the rest of a request's
/// client-side work; for a key made only of unreserved characters (which need no encoding) the
/// segment is pushed onto a clone of the cached prefix instead. Any other key takes the general
/// path. Both give the same URL, byte for byte.
pub(crate) fn value_in(values: &Url, endpoints: &Endpoints, ns: &str, key: &Key) -> Url {
    let unreserved = key
        .as_str()
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    // `.` and `..` are not keys, so a pushed segment can never be a dot segment.
    if unreserved {
        let mut url = values.clone();
        let pushed = url
            .path_segments_mut()
            .map(|mut segments| {
                segments.push(key.as_str());
            })
            .is_ok();
        if pushed {
            return url;
        }
    }
    endpoints.value(ns, key)
}

/// Sets the query of `url` from `pairs`, each value percent-encoded (`%20` for a space).
pub(crate) fn set_query(url: &mut Url, pairs: &[(&str, String)]) {
    if pairs.is_empty() {
        url.set_query(None);
        return;
    }
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    url.set_query(Some(&query.join("&")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_values_prefix_gives_the_same_url() {
        let e = Endpoints::new(
            Url::parse("http://127.0.0.1:8787/client/v4").expect("url"),
            "acc",
        );
        let values = e.values("ns");
        for name in [
            "plain",
            "a-b.c_d~9",
            "a/b",
            "sp ace",
            "ключ",
            "100%",
            "a..b",
        ] {
            let key = Key::new(name).expect("valid");
            assert_eq!(
                value_in(&values, &e, "ns", &key).as_str(),
                e.value("ns", &key).as_str(),
                "{name}"
            );
        }
    }

    fn endpoints(base: &str) -> Endpoints {
        Endpoints::new(Url::parse(base).expect("url"), "acc")
    }

    #[test]
    fn prefix_is_kept() {
        for base in [
            "http://127.0.0.1:8787/client/v4",
            "http://127.0.0.1:8787/client/v4/",
        ] {
            let e = endpoints(base);
            assert_eq!(
                e.namespaces().as_str(),
                "http://127.0.0.1:8787/client/v4/accounts/acc/storage/kv/namespaces"
            );
        }
        let e = endpoints("https://api.example.com");
        assert_eq!(
            e.keys("ns").as_str(),
            "https://api.example.com/accounts/acc/storage/kv/namespaces/ns/keys"
        );
    }

    #[test]
    fn keys_stay_one_segment() {
        let e = endpoints("http://127.0.0.1/client/v4");
        let key = Key::new("a/../../bulk?x=1#f %").expect("valid");
        let url = e.value("ns", &key);
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1/client/v4/accounts/acc/storage/kv/namespaces/ns/values/a%2F..%2F..%2Fbulk%3Fx%3D1%23f%20%25"
        );
        assert_eq!(url.query(), None);
        assert_eq!(url.fragment(), None);
        let odd_ns = e.namespace("../x y");
        assert!(
            odd_ns.path().ends_with("/namespaces/..%2Fx%20y"),
            "{odd_ns}"
        );
    }

    #[test]
    fn query_values_are_encoded() {
        let mut url = Url::parse("http://127.0.0.1/k").expect("url");
        set_query(
            &mut url,
            &[("prefix", "a b&c=d/é".into()), ("limit", "10".into())],
        );
        assert_eq!(url.query(), Some("prefix=a%20b%26c%3Dd%2F%C3%A9&limit=10"));
    }
}
