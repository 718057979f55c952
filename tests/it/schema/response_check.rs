//! Sends one request to a running kv-mock and validates its answer against the spec: the status
//! must be the expected one, the spec must document a response for it, the `Content-Type` must
//! be that response's media type, and a JSON body must validate against its schema. Every
//! validated answer is recorded, so the test can prove that it covered every operation.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use super::openapi::Spec;
use super::path_template::fill;

/// What a request carries as its body.
pub(crate) enum Payload {
    /// No body.
    None,
    /// A JSON body (`application/json`).
    Json(Value),
    /// Raw bytes with this content type.
    Bytes(&'static str, Vec<u8>),
    /// A `multipart/form-data` body.
    Multipart(reqwest::multipart::Form),
    /// Only the headers of a body this long (`Content-Length`), sent over a raw connection: a
    /// server that refuses a body by its declared size answers before it arrives.
    DeclaredOnly(&'static str, u64),
}

/// How a request authenticates.
pub(crate) enum Auth {
    /// The mock's token.
    Token,
    /// No credentials at all.
    Missing,
    /// A wrong token.
    Wrong,
}

/// One request, built with the setters below and sent by [`Driver::send`].
pub(crate) struct Req {
    method: &'static str,
    template: &'static str,
    params: Vec<(&'static str, String)>,
    query: Vec<(&'static str, String)>,
    payload: Payload,
    auth: Auth,
}

impl Req {
    /// `method template`, with the driver's account and namespace ids.
    pub(crate) fn new(method: &'static str, template: &'static str) -> Req {
        Req {
            method,
            template,
            params: Vec::new(),
            query: Vec::new(),
            payload: Payload::None,
            auth: Auth::Token,
        }
    }

    /// Sets a path parameter (`key_name`, or another `namespace_id`).
    pub(crate) fn param(mut self, name: &'static str, value: impl Into<String>) -> Req {
        self.params.push((name, value.into()));
        self
    }

    /// Adds a query parameter.
    pub(crate) fn query(mut self, name: &'static str, value: impl ToString) -> Req {
        self.query.push((name, value.to_string()));
        self
    }

    /// Sends a JSON body.
    pub(crate) fn json(mut self, body: Value) -> Req {
        self.payload = Payload::Json(body);
        self
    }

    /// Sends raw bytes.
    pub(crate) fn bytes(mut self, content_type: &'static str, body: impl Into<Vec<u8>>) -> Req {
        self.payload = Payload::Bytes(content_type, body.into());
        self
    }

    /// Declares a body of `len` bytes and sends none of it.
    pub(crate) fn declared_only(mut self, content_type: &'static str, len: u64) -> Req {
        self.payload = Payload::DeclaredOnly(content_type, len);
        self
    }

    /// Sends a multipart form.
    pub(crate) fn multipart(mut self, form: reqwest::multipart::Form) -> Req {
        self.payload = Payload::Multipart(form);
        self
    }

    /// Authenticates this way.
    pub(crate) fn auth(mut self, auth: Auth) -> Req {
        self.auth = auth;
        self
    }
}

/// A validated answer.
pub(crate) struct Answer {
    /// The parsed body of a JSON answer (`Value::Null` for raw bytes).
    pub(crate) json: Value,
    /// The raw body.
    pub(crate) bytes: Vec<u8>,
}

/// One validated answer, for the coverage check.
pub(crate) struct Covered {
    /// The `operationId`.
    pub(crate) operation: String,
    /// The status answered.
    pub(crate) status: u16,
}

/// Talks to one kv-mock and validates every answer.
pub(crate) struct Driver {
    spec: Spec,
    http: reqwest::Client,
    base_url: String,
    account_id: String,
    namespace_id: String,
    token: String,
    /// Every validated answer so far.
    pub(crate) covered: Vec<Covered>,
}

impl Driver {
    /// A driver for the mock at `base_url` (with its path prefix) that requires `token`.
    pub(crate) fn new(
        spec: Spec,
        base_url: &str,
        account_id: &str,
        namespace_id: &str,
        token: &str,
    ) -> Driver {
        Driver {
            spec,
            http: reqwest::Client::new(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            account_id: account_id.to_owned(),
            namespace_id: namespace_id.to_owned(),
            token: token.to_owned(),
            covered: Vec::new(),
        }
    }

    /// The spec the driver validates against.
    pub(crate) fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Sends `req`, checks that the answer has status `expect`, and validates it against the
    /// spec's response for that status. Panics (fails the test) with the details otherwise.
    pub(crate) async fn send(&mut self, req: Req, expect: u16) -> Answer {
        let mut params: Vec<(&str, &str)> = vec![
            ("account_id", self.account_id.as_str()),
            ("namespace_id", self.namespace_id.as_str()),
        ];
        for (name, value) in &req.params {
            params.retain(|(n, _)| n != name);
            params.push((name, value.as_str()));
        }
        let path = fill(req.template, &params);
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.base_url)).expect("url");
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(req.query.iter());
        }
        let auth = match req.auth {
            Auth::Token => Some(format!("Bearer {}", self.token)),
            Auth::Missing => None,
            Auth::Wrong => Some("Bearer not-the-token".to_owned()),
        };
        let (status, content_type, bytes) = match req.payload {
            Payload::DeclaredOnly(content_type, len) => {
                raw_head_only(&url, req.method, auth.as_deref(), content_type, len).await
            }
            payload => {
                let method = reqwest::Method::from_bytes(req.method.as_bytes()).expect("method");
                let mut builder = self.http.request(method, url.clone());
                if let Some(auth) = auth {
                    builder = builder.header(AUTHORIZATION, auth);
                }
                builder = match payload {
                    Payload::None | Payload::DeclaredOnly(..) => builder,
                    Payload::Json(body) => builder.json(&body),
                    Payload::Bytes(content_type, body) => {
                        builder.header(CONTENT_TYPE, content_type).body(body)
                    }
                    Payload::Multipart(form) => builder.multipart(form),
                };
                let response = builder.send().await.expect("kv-mock answers");
                let status = response.status().as_u16();
                let content_type = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let bytes = response.bytes().await.expect("body").to_vec();
                (status, content_type, bytes)
            }
        };
        let label = format!("{} {url}", req.method);
        assert_eq!(
            status,
            expect,
            "{label}: status {status}, expected {expect}; body: {}",
            String::from_utf8_lossy(&bytes)
        );

        let operation = self.spec.operation(req.method, req.template);
        let documented = operation.response(status).unwrap_or_else(|| {
            panic!(
                "{label}: the spec documents no response for {status} of {}",
                operation.label()
            )
        });
        let media_type = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        assert_eq!(
            media_type, documented.media_type,
            "{label}: {status} answered with Content-Type {content_type:?}, the spec's {} \
             response is {}",
            documented.status_key, documented.media_type
        );
        let json = if media_type == "application/json" {
            let json: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                panic!(
                    "{label}: body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            if let Err(errors) = self.spec.check(&documented.schema, &json) {
                panic!(
                    "{label}: {status} body does not match the spec's {} schema of {} ({}):\n\
                     {errors}body: {json:#}",
                    documented.status_key,
                    operation.label(),
                    operation.id()
                );
            }
            json
        } else {
            Value::Null
        };
        self.covered.push(Covered {
            operation: operation.id().to_owned(),
            status,
        });
        Answer { json, bytes }
    }
}

/// Sends the head of a request declaring a `len`-byte body over a fresh connection, sends no
/// body, and reads the answer: `(status, content type, body)`. Bounded by a 10 s timeout.
async fn raw_head_only(
    url: &reqwest::Url,
    method: &str,
    auth: Option<&str>,
    content_type: &str,
    len: u64,
) -> (u16, String, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let host = url.host_str().expect("host");
    let port = url.port().expect("port");
    let mut target = url.path().to_owned();
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {len}\r\nConnection: close\r\n"
    );
    if let Some(auth) = auth {
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    head.push_str("\r\n");
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((host, port))
            .await
            .expect("connect");
        stream.write_all(head.as_bytes()).await.expect("send head");
        let mut raw = Vec::new();
        let mut buf = [0_u8; 8192];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&buf[..n]),
            }
            if let Some(end) = find(&raw, b"\r\n\r\n") {
                let length =
                    header(&raw[..end], "content-length").and_then(|v| v.parse::<usize>().ok());
                if length.is_some_and(|l| raw.len() >= end + 4 + l) {
                    break;
                }
            }
        }
        raw
    };
    let raw = tokio::time::timeout(std::time::Duration::from_secs(10), exchange)
        .await
        .expect("kv-mock answers within 10 s");
    let end = find(&raw, b"\r\n\r\n").unwrap_or_else(|| {
        panic!(
            "no complete answer head: {:?}",
            String::from_utf8_lossy(&raw)
        )
    });
    let head = &raw[..end];
    let status_line =
        String::from_utf8_lossy(head.split(|b| *b == b'\r').next().unwrap_or(b"")).into_owned();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let content_type = header(head, "content-type").unwrap_or_default();
    let length: usize = header(head, "content-length")
        .and_then(|v| v.parse().ok())
        .expect("a Content-Length on the answer");
    let body = raw[end + 4..]
        .get(..length)
        .expect("the whole body")
        .to_vec();
    (status, content_type, body)
}

/// The first index of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The value of header `name` (lower case) in a raw response head.
fn header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .skip(1)
        .find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
}
