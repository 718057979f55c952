//! Hostile requests for the API: odd paths and keys, query strings, headers, multipart and JSON
//! bodies, drawn from a seeded [`Rng`] so a failing case can be replayed.

use crate::hostile::rng::Rng;

/// The token the authenticated router accepts.
pub(crate) const TOKEN: &str = "fuzz-token-0123456789";
/// The email and key it also accepts.
pub(crate) const EMAIL: &str = "fuzz@example.com";
/// See [`EMAIL`].
pub(crate) const AUTH_KEY: &str = "fuzz-key-abcdef";

/// What a case knows about the API it is aimed at.
pub(crate) struct Target {
    /// The mock's account id.
    pub(crate) account: String,
    /// The default namespace id.
    pub(crate) namespace: String,
    /// The frozen clock's time, for expirations near the valid range.
    pub(crate) now: u64,
}

/// One generated request.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// Method token (may be unusual or lowercase).
    pub(crate) method: String,
    /// The request target: raw path and query, as in the request line.
    pub(crate) target: String,
    /// Header names and raw values (values may hold obs-text bytes).
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    /// The body.
    pub(crate) body: Vec<u8>,
    /// Whether the credentials sent are valid for the authenticated router.
    pub(crate) valid_auth: bool,
}

impl Case {
    /// A short description for failure messages (the body only by size, the target cut short).
    pub(crate) fn describe(&self) -> String {
        let target: String = self.target.chars().take(300).collect();
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| {
                let v = String::from_utf8_lossy(v);
                format!("{n}: {}", v.chars().take(80).collect::<String>())
            })
            .collect();
        format!(
            "{} {target} headers={headers:?} body={} bytes: {:?}",
            self.method,
            self.body.len(),
            String::from_utf8_lossy(&self.body[..self.body.len().min(200)])
        )
    }
}

/// Pieces of hostile key segments: traversal, encoded separators, bad and overlong UTF-8.
const KEY_PIECES: &[&str] = &[
    "..",
    ".",
    "/",
    "//",
    "%2F",
    "%2f",
    "%252F",
    "%2E",
    "%2E%2E",
    "..%2F",
    "%2E%2E%2F",
    "%3F",
    "%23",
    "%26",
    "%3D",
    "%00",
    "%0A",
    "%FF",
    "%C0%AF",
    "%E0%80%AF",
    "%ED%A0%80",
    "%F4%90%80%80",
    "%",
    "%G1",
    "%2",
    "é",
    "%C3%A9",
    "%E2%82%AC",
    ";",
    "%3B",
    "\\",
    "%5C",
    "~",
    "+",
    "%20",
    "bulk",
    "keys",
    "values",
    "metadata",
    "get",
    "delete",
    "a",
    "k1",
    "k2",
    "seeded",
    "?x=1",
    "#f",
    "@",
    ":",
    "!$&'()*,",
];

/// Query parameter names.
const QUERY_NAMES: &[&str] = &[
    "expiration_ttl",
    "expiration",
    "limit",
    "cursor",
    "prefix",
    "page",
    "per_page",
    "order",
    "direction",
    "type",
    "x",
    "",
    "%FF",
    "expiration_ttl%00",
    "LIMIT",
];

/// Query values: empty, negative, floats, huge numbers, bad encodings.
const QUERY_VALUES: &[&str] = &[
    "",
    "-1",
    "0",
    "1",
    "10",
    "59",
    "60",
    "61",
    "1000",
    "1001",
    "1.5",
    "60.0",
    "1e3",
    "NaN",
    "inf",
    "+60",
    "%2B60",
    " 60",
    "%2060",
    "0x3C",
    "99999999999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "4294967296",
    "%FF",
    "%00",
    "%",
    "a%26b%3Dc",
    "title",
    "id",
    "desc",
    "asc",
    "YQ",
    "YWJj",
    "____",
    "a",
    "%2F",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "text/plain",
    "application/octet-stream",
    "multipart/form-data",
    "multipart/form-data; boundary=",
    "multipart/form-data; boundary=\"unterminated",
    "multipart/form-data; boundary=B; boundary=C",
    "multipart/mixed; boundary=B",
    "MULTIPART/FORM-DATA; BOUNDARY=B",
    "application/json; charset=utf-16",
    "application/x-www-form-urlencoded",
    ";;;",
    "",
    "*/*",
];

const METHODS: &[&str] = &[
    "GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "get", "FOO",
];

/// Makes hostile requests for one target.
pub(crate) struct Generator<'a> {
    rng: Rng,
    target: &'a Target,
    /// Whether methods and targets must be ones an HTTP/1.1 server can parse at all (the
    /// loopback part); the router part also sends what only the `http` crate can hold.
    pub(crate) wire_safe: bool,
}

impl<'a> Generator<'a> {
    /// A generator for `target` from `seed`.
    pub(crate) fn new(seed: u64, target: &'a Target) -> Generator<'a> {
        Generator {
            rng: Rng::new(seed),
            target,
            wire_safe: false,
        }
    }

    /// The next case.
    pub(crate) fn case(&mut self) -> Case {
        let route = self.rng.below(100);
        let (method, target, body_kind) = match route {
            0..=39 => self.value_request(),
            40..=44 => (
                self.method_or("GET"),
                format!("{}/keys{}", self.ns_base(), self.query()),
                BodyKind::Random,
            ),
            45..=54 => {
                let m = self.method_or("PUT");
                let path = if self.rng.one_in(6) {
                    "/bulk/"
                } else {
                    "/bulk"
                };
                (
                    m,
                    format!("{}{path}{}", self.ns_base(), self.query()),
                    BodyKind::BulkWrite,
                )
            }
            55..=60 => (
                self.method_or("POST"),
                format!("{}/bulk/delete{}", self.ns_base(), self.query()),
                BodyKind::BulkDelete,
            ),
            61..=68 => (
                self.method_or("POST"),
                format!("{}/bulk/get{}", self.ns_base(), self.query()),
                BodyKind::BulkGet,
            ),
            69..=82 => self.namespace_request(),
            _ => (
                self.method(),
                format!("{}{}", self.odd_path(), self.query()),
                BodyKind::Random,
            ),
        };
        let body_kind = if self.rng.one_in(6) {
            BodyKind::Random
        } else {
            body_kind
        };
        let (mut content_type, body) = self.body(body_kind);
        if self.rng.one_in(8) {
            content_type = Some(self.rng.pick(CONTENT_TYPES).as_bytes().to_vec());
        }
        if self.rng.one_in(40) {
            // A content type that is not even UTF-8.
            let mut ct = b"multipart/form-data; boundary=".to_vec();
            ct.extend(self.rng.bytes(8).into_iter().map(|b| b | 0x80));
            content_type = Some(ct);
        }
        let mut headers = Vec::new();
        if let Some(ct) = content_type {
            headers.push(("content-type".to_owned(), ct));
        }
        if self.rng.one_in(12) {
            let v = match self.rng.below(8) {
                0 => "abc".to_owned(),
                1 => "-1".to_owned(),
                2 => "18446744073709551616".to_owned(),
                3 => "99999999999".to_owned(),
                4 => format!("{0}, {0}", body.len()),
                5 => "26214401".to_owned(),
                6 => "100000001".to_owned(),
                _ => format!(" {} ", body.len()),
            };
            // Over a socket the client adds the real length after it: two that disagree (or one
            // that is not a number) make the head malformed, which the server must refuse
            // with an envelope.
            headers.push(("content-length".to_owned(), v.into_bytes()));
        }
        let valid_auth = self.auth(&mut headers);
        // A request line cannot hold a space.
        let target = target.replace(' ', "%20");
        if self.rng.one_in(30) {
            headers.push(("x-long".to_owned(), vec![b'h'; 1 + self.rng.below(9000)]));
        }
        if self.rng.one_in(30) {
            let mut v = b"odd ".to_vec();
            v.extend(self.rng.bytes(16).into_iter().map(|b| b | 0x80));
            headers.push(("x-obs-text".to_owned(), v));
        }
        Case {
            method,
            target,
            headers,
            body,
            valid_auth,
        }
    }

    fn method(&mut self) -> String {
        let m = self.rng.pick(METHODS).to_owned();
        if self.wire_safe && m == "TRACE" {
            return "GET".to_owned();
        }
        m
    }

    /// `usual` most of the time, another method otherwise.
    fn method_or(&mut self, usual: &str) -> String {
        if self.rng.one_in(5) {
            self.method()
        } else {
            usual.to_owned()
        }
    }

    fn account(&mut self) -> String {
        match self.rng.below(40) {
            0 => "e".repeat(32),
            1 => String::new(),
            2 => format!(
                "%{:02X}{}",
                self.target.account.as_bytes()[0],
                &self.target.account[1..]
            ),
            3 => "..".to_owned(),
            _ => self.target.account.clone(),
        }
    }

    fn namespace(&mut self) -> String {
        match self.rng.below(30) {
            0 => "f".repeat(32),
            1 => String::new(),
            2 => "..".to_owned(),
            3 => self.target.namespace.to_uppercase(),
            4 => format!("{}%2Fbulk", self.target.namespace),
            _ => self.target.namespace.clone(),
        }
    }

    /// `/client/v4/accounts/{a}/storage/kv/namespaces/{ns}`, sometimes bent.
    fn ns_base(&mut self) -> String {
        let account = self.account();
        let ns = self.namespace();
        match self.rng.below(40) {
            0 => format!("//client/v4/accounts/{account}/storage/kv/namespaces/{ns}"),
            1 => format!("/client/v4/accounts/{account}/storage/kv/namespaces/../namespaces/{ns}"),
            2 => format!("/client/v4/./accounts/{account}/storage/kv/namespaces/{ns}"),
            3 => format!("/client/v4/accounts/{account}/storage/kv/namespaces%2F{ns}"),
            4 => format!("/client/v4/accounts/{account}/storage/kv/namespaces//{ns}"),
            _ => format!("/client/v4/accounts/{account}/storage/kv/namespaces/{ns}"),
        }
    }

    /// A hostile key segment (still percent-encoded, as it goes on the wire).
    pub(crate) fn key_segment(&mut self) -> String {
        if self.rng.one_in(25) {
            return match self.rng.below(4) {
                0 => "k".repeat(500 + self.rng.below(30)),
                1 => "%41".repeat(160 + self.rng.below(20)),
                2 => "%E2%82%AC".repeat(160 + self.rng.below(20)),
                _ => "y".repeat(10_000),
            };
        }
        let n = self.rng.below(6);
        let mut s = String::new();
        for _ in 0..n {
            match self.rng.below(4) {
                0 => s.push_str(&format!("%{:02X}", self.rng.next_u64() as u8)),
                1 => s.push((b'a' + self.rng.below(26) as u8) as char),
                _ => {
                    let piece = self.rng.pick(KEY_PIECES);
                    if self.wire_safe && piece.contains('#') {
                        s.push_str("%23");
                    } else {
                        s.push_str(piece);
                    }
                }
            }
        }
        s
    }

    fn value_request(&mut self) -> (String, String, BodyKind) {
        let kind = if self.rng.one_in(4) {
            "metadata"
        } else {
            "values"
        };
        let method = match self.rng.below(10) {
            0..=3 => "PUT".to_owned(),
            4..=6 => "GET".to_owned(),
            7 => "DELETE".to_owned(),
            _ => self.method(),
        };
        let sep = if self.rng.one_in(15) { "//" } else { "/" };
        let target = format!(
            "{}/{kind}{sep}{}{}",
            self.ns_base(),
            self.key_segment(),
            self.query()
        );
        (method, target, BodyKind::Value)
    }

    fn namespace_request(&mut self) -> (String, String, BodyKind) {
        let account = self.account();
        let base = format!("/client/v4/accounts/{account}/storage/kv/namespaces");
        match self.rng.below(4) {
            0 => (
                self.method_or("GET"),
                format!("{base}{}", self.query()),
                BodyKind::Title,
            ),
            1 => (self.method_or("POST"), base, BodyKind::Title),
            _ => {
                let ns = self.namespace();
                let m = self
                    .rng
                    .pick(&["GET", "PUT", "PUT", "DELETE", "PATCH"])
                    .to_owned();
                let m = if m == "DELETE" && !self.rng.one_in(8) {
                    // Deleting the namespace stops most later requests; rare on the real one.
                    "GET".to_owned()
                } else {
                    m
                };
                (m, format!("{base}/{ns}"), BodyKind::Title)
            }
        }
    }

    fn odd_path(&mut self) -> String {
        let seg = self.key_segment();
        match self.rng.below(14) {
            0 => "/".to_owned(),
            1 => format!("/{seg}"),
            2 => format!("/client/v4/{seg}"),
            3 => "/client/v4".to_owned(),
            4 => format!(
                "/CLIENT/v4/accounts/{}/storage/kv/namespaces",
                self.target.account
            ),
            5 => format!("/client/v4/../client/v4/accounts/{}", self.target.account),
            6 => format!(
                "/__mock/../client/v4/accounts/{}/storage/kv/namespaces",
                self.target.account
            ),
            7 => format!(
                "/client/v4/accounts/{}/storage/kv/namespaces/{}/{seg}",
                self.target.account, self.target.namespace
            ),
            8 => format!("/client/v4/accounts/{}/storage/kv", self.target.account),
            9 => format!("/{}", "z/".repeat(2000)),
            10 => format!(
                "/client/v4/accounts/{}/storage/kv/namespaces/{}/values",
                self.target.account, self.target.namespace
            ),
            11 => format!(
                "/client/v4/accounts/{}/storage/kv/namespaces/{}/bulk/get/x",
                self.target.account, self.target.namespace
            ),
            12 => "/%2e%2e/%2e%2e/etc/passwd".to_owned(),
            _ => format!("/{seg}/{seg}"),
        }
    }

    fn query(&mut self) -> String {
        if self.rng.one_in(3) {
            return String::new();
        }
        let mut parts = Vec::new();
        for _ in 0..1 + self.rng.below(4) {
            let name = self.rng.pick(QUERY_NAMES);
            let value = match self.rng.below(12) {
                0 => (self.target.now + 30 + self.rng.below(100) as u64).to_string(),
                1 => "a".repeat(1 + self.rng.below(3000)),
                2 => {
                    // The same name twice.
                    parts.push(format!("{name}={}", self.rng.pick(QUERY_VALUES)));
                    self.rng.pick(QUERY_VALUES).to_owned()
                }
                _ => self.rng.pick(QUERY_VALUES).to_owned(),
            };
            match self.rng.below(10) {
                0 => parts.push(name.to_owned()),
                1 => parts.push(String::new()),
                2 => parts.push(format!("{name}={value}={value}")),
                _ => parts.push(format!("{name}={value}")),
            }
        }
        format!("?{}", parts.join("&"))
    }

    fn auth(&mut self, headers: &mut Vec<(String, Vec<u8>)>) -> bool {
        let mut push = |n: &str, v: &str| headers.push((n.to_owned(), v.as_bytes().to_vec()));
        match self.rng.below(16) {
            0..=3 => {
                push("authorization", &format!("Bearer {TOKEN}"));
                true
            }
            4 => {
                push("x-auth-email", EMAIL);
                push("x-auth-key", AUTH_KEY);
                true
            }
            5 => {
                push(
                    "authorization",
                    &format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
                );
                false
            }
            6 => {
                push("authorization", &format!("Bearer {TOKEN}x"));
                false
            }
            7 => {
                push("authorization", &format!("Basic {TOKEN}"));
                false
            }
            8 => {
                push("authorization", TOKEN);
                false
            }
            9 => {
                push("x-auth-email", EMAIL);
                push("x-auth-key", TOKEN);
                false
            }
            10 => {
                push("x-auth-key", AUTH_KEY);
                false
            }
            11 => {
                push("authorization", "Bearer");
                false
            }
            12 => {
                let mut v = b"Bearer ".to_vec();
                v.extend(TOKEN.bytes());
                v.push(0xFF);
                headers.push(("authorization".to_owned(), v));
                false
            }
            _ => false,
        }
    }

    fn body(&mut self, kind: BodyKind) -> (Option<Vec<u8>>, Vec<u8>) {
        let json = Some(b"application/json".to_vec());
        match kind {
            BodyKind::Random => match self.rng.below(4) {
                0 => (None, Vec::new()),
                1 => (json, self.json_garbage()),
                _ => (None, self.rng.bytes(2048)),
            },
            BodyKind::Value => match self.rng.below(8) {
                0..=2 => (None, self.rng.bytes(512)),
                3 => (Some(b"text/plain".to_vec()), b"hello".to_vec()),
                4 if self.rng.one_in(20) => (None, vec![b'v'; 64 * 1024]),
                _ => {
                    let (ct, body) = self.multipart();
                    (Some(ct.into_bytes()), body)
                }
            },
            BodyKind::BulkWrite => (json, self.bulk_write_body()),
            BodyKind::BulkDelete => (json, self.bulk_delete_body()),
            BodyKind::BulkGet => (json, self.bulk_get_body()),
            BodyKind::Title => {
                let title = match self.rng.below(8) {
                    0 => r#"{"title":""}"#.to_owned(),
                    1 => r#"{"title":5}"#.to_owned(),
                    2 => r#"{"title":null}"#.to_owned(),
                    3 => format!(r#"{{"title":"{}"}}"#, "t".repeat(70_000)),
                    4 => r#"{"title":"default"}"#.to_owned(),
                    5 => r#"{"title":"é\u0000\ud800"}"#.to_owned(),
                    _ => format!(r#"{{"title":"t{}"}}"#, self.rng.below(50)),
                };
                (json, title.into_bytes())
            }
        }
    }

    /// JSON that is wrong in shape or nesting.
    fn json_garbage(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 => "[".repeat(1 + self.rng.below(20_000)).into_bytes(),
            1 => {
                let depth = 1 + self.rng.below(200);
                format!("{}1{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
            }
            2 => {
                let depth = 1 + self.rng.below(200);
                format!("{}{}", r#"{"a":"#.repeat(depth), "}".repeat(depth)).into_bytes()
            }
            3 => b"null".to_vec(),
            4 => b"{}".to_vec(),
            5 => b"\xEF\xBB\xBF[]".to_vec(),
            6 => b"[1,2,3".to_vec(),
            7 => b"\"str\"".to_vec(),
            8 => b"[\"a\"\x00]".to_vec(),
            9 => b"1e999999".to_vec(),
            10 => b"\xFF\xFE[\x00]\x00".to_vec(),
            _ => b"{\"keys\":{\"keys\":[]}}".to_vec(),
        }
    }

    fn json_key(&mut self) -> String {
        match self.rng.below(8) {
            0 => r#""""#.to_owned(),
            1 => r#"".""#.to_owned(),
            2 => format!("\"{}\"", "k".repeat(513)),
            3 => r#""a/../../bulk""#.to_owned(),
            4 => r#""\ud800""#.to_owned(),
            5 => r#""\u0000""#.to_owned(),
            _ => format!("\"k{}\"", self.rng.below(40)),
        }
    }

    fn bulk_item(&mut self) -> String {
        let mut fields = Vec::new();
        match self.rng.below(10) {
            0 => {}
            1 => fields.push(r#""key":5"#.to_owned()),
            2 => fields.push(r#""key":null"#.to_owned()),
            _ => fields.push(format!(r#""key":{}"#, self.json_key())),
        }
        match self.rng.below(10) {
            0 => {}
            1 => fields.push(r#""value":{"a":1}"#.to_owned()),
            2 => fields.push(r#""value":7"#.to_owned()),
            _ => fields.push(r#""value":"v""#.to_owned()),
        }
        if self.rng.one_in(3) {
            let b = self.rng.pick(&["true", "false", "\"yes\"", "null", "1"]);
            fields.push(format!(r#""base64":{b}"#));
        }
        if self.rng.one_in(3) {
            let name = self.rng.pick(&["expiration", "expiration_ttl"]);
            let v = match self.rng.below(8) {
                0 => "-1".to_owned(),
                1 => "1.5".to_owned(),
                2 => "\"60\"".to_owned(),
                3 => "\"abc\"".to_owned(),
                4 => "1e400".to_owned(),
                5 => "[]".to_owned(),
                6 => "18446744073709551616".to_owned(),
                _ => (self.target.now + self.rng.below(200) as u64).to_string(),
            };
            fields.push(format!(r#""{name}":{v}"#));
        }
        if self.rng.one_in(3) {
            let v = match self.rng.below(6) {
                0 => format!("\"{}\"", "m".repeat(1100)),
                1 => format!("{}1{}", "[".repeat(127), "]".repeat(127)),
                2 => format!("{}1{}", "[".repeat(300), "]".repeat(300)),
                3 => "null".to_owned(),
                _ => r#"{"a":[1,2,{"b":null}]}"#.to_owned(),
            };
            fields.push(format!(r#""metadata":{v}"#));
        }
        if self.rng.one_in(10) {
            fields.push(r#""extra":[1,2,3]"#.to_owned());
        }
        format!("{{{}}}", fields.join(","))
    }

    fn bulk_write_body(&mut self) -> Vec<u8> {
        match self.rng.below(20) {
            0 => self.json_garbage(),
            1 if self.rng.one_in(40) => {
                // The most items allowed, or one more.
                let n = 10_000 + self.rng.below(2);
                let items: Vec<String> = (0..n)
                    .map(|i| format!(r#"{{"key":"big{}","value":"v"}}"#, i % 50))
                    .collect();
                format!("[{}]", items.join(",")).into_bytes()
            }
            2 => b"[{\"key\":\"a\",\"value\":\"b\"},".to_vec(),
            _ => {
                let items: Vec<String> =
                    (0..self.rng.below(12)).map(|_| self.bulk_item()).collect();
                format!("[{}]", items.join(",")).into_bytes()
            }
        }
    }

    fn bulk_delete_body(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => self.json_garbage(),
            1 => b"[1,null,{}]".to_vec(),
            2 if self.rng.one_in(20) => {
                let keys: Vec<String> = (0..10_000).map(|i| format!("\"k{i}\"")).collect();
                format!("[{}]", keys.join(",")).into_bytes()
            }
            _ => {
                let keys: Vec<String> = (0..self.rng.below(10)).map(|_| self.json_key()).collect();
                format!("[{}]", keys.join(",")).into_bytes()
            }
        }
    }

    fn bulk_get_body(&mut self) -> Vec<u8> {
        if self.rng.one_in(8) {
            return self.json_garbage();
        }
        let n = match self.rng.below(10) {
            0 => 100,
            1 => 101,
            _ => self.rng.below(8),
        };
        let keys: Vec<String> = (0..n).map(|_| self.json_key()).collect();
        let keys = if self.rng.one_in(10) {
            r#""k1""#.to_owned()
        } else {
            format!("[{}]", keys.join(","))
        };
        let ty = self.rng.pick(&[
            "",
            r#","type":"text""#,
            r#","type":"json""#,
            r#","type":"xml""#,
            r#","type":5"#,
        ]);
        let meta = self
            .rng
            .pick(&["", r#","withMetadata":true"#, r#","withMetadata":"yes""#]);
        format!(r#"{{"keys":{keys}{ty}{meta}}}"#).into_bytes()
    }

    /// A multipart body and its content type: sometimes well formed, sometimes with a bad
    /// boundary, missing parts, huge part headers, nesting or no end.
    fn multipart(&mut self) -> (String, Vec<u8>) {
        let boundary = match self.rng.below(8) {
            0 => "----WebKitFormBoundary7MA4YWxkTrZu0gW".to_owned(),
            1 => "x".repeat(70),
            2 => "x".repeat(200),
            _ => "B0undary".to_owned(),
        };
        let header_boundary = match self.rng.below(12) {
            0 => "Other".to_owned(),
            1 => format!("\"{boundary}\""),
            _ => boundary.clone(),
        };
        let ct = format!("multipart/form-data; boundary={header_boundary}");
        let nl = if self.rng.one_in(10) { "\n" } else { "\r\n" };
        let mut body = Vec::new();
        if self.rng.one_in(10) {
            body.extend_from_slice(b"preamble garbage\r\n");
        }
        let parts = self.rng.below(5);
        for _ in 0..parts {
            body.extend_from_slice(format!("--{boundary}{nl}").as_bytes());
            let (head, data): (String, Vec<u8>) = match self.rng.below(12) {
                0..=3 => (
                    format!("Content-Disposition: form-data; name=\"value\"{nl}"),
                    self.rng.bytes(64),
                ),
                4 => (
                    format!(
                        "Content-Disposition: form-data; name=\"value\"; filename=\"v.bin\"{nl}Content-Type: application/octet-stream{nl}"
                    ),
                    self.rng.bytes(64),
                ),
                5 => (
                    format!("Content-Disposition: form-data; name=\"metadata\"{nl}"),
                    self.rng
                        .pick(&[
                            &b"{\"a\":1}"[..],
                            b"{nope",
                            b"[1,2]",
                            b"\xFF\xFE",
                            b"",
                            b"null",
                        ])
                        .to_vec(),
                ),
                6 => (
                    format!(
                        "Content-Disposition: form-data; name=\"metadata\"{nl}Content-Type: application/json{nl}"
                    ),
                    format!("\"{}\"", "m".repeat(self.rng.below(1100))).into_bytes(),
                ),
                7 => (
                    format!("Content-Disposition: form-data; name=\"metadata[a]\"{nl}"),
                    b"1".to_vec(),
                ),
                8 => (
                    format!(
                        "Content-Disposition: form-data; name=\"value\"{nl}Content-Type: multipart/mixed; boundary=inner{nl}"
                    ),
                    format!(
                        "--inner{nl}Content-Disposition: form-data; name=\"value\"{nl}{nl}deep{nl}--inner--{nl}"
                    )
                    .into_bytes(),
                ),
                9 => (
                    format!(
                        "Content-Disposition: form-data; name=\"value\"{nl}X-Huge: {}{nl}",
                        "h".repeat(1 + self.rng.below(20_000))
                    ),
                    b"v".to_vec(),
                ),
                10 => (String::new(), b"no disposition".to_vec()),
                _ => (
                    format!("Content-Disposition: form-data; name=value{nl}"),
                    b"unquoted".to_vec(),
                ),
            };
            body.extend_from_slice(head.as_bytes());
            body.extend_from_slice(nl.as_bytes());
            body.extend_from_slice(&data);
            body.extend_from_slice(nl.as_bytes());
        }
        match self.rng.below(10) {
            0 => {}
            1 => body.extend_from_slice(format!("--{boundary}").as_bytes()),
            _ => body.extend_from_slice(format!("--{boundary}--{nl}").as_bytes()),
        }
        if self.rng.one_in(10) {
            body.extend_from_slice(b"epilogue");
        }
        (ct, body)
    }
}

/// What a route's body usually is.
#[derive(Debug, Clone, Copy)]
enum BodyKind {
    Random,
    Value,
    BulkWrite,
    BulkDelete,
    BulkGet,
    Title,
}
