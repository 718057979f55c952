//! With credentials configured, every request without exactly the right ones (missing, wrong,
//! another scheme, a prefix or extension of the secret, the secret in the wrong header) gets
//! 403, code 10000, `Authentication error`, through the router and over loopback; the right
//! ones get through.

use axum::body::Body;
use http::{HeaderValue, Request};
use kv_mock::{ApiState, Clock, Credentials, Engine, EngineConfig, KvMock, router};
use kv_types::Limits;

use crate::hostile::ACCOUNT;
use crate::hostile::oneshot::answer_of;

const TOKEN: &str = "t0ken-5ecret-value";
const EMAIL: &str = "owner@example.com";
const KEY: &str = "global-api-key-123";

/// Which credential lets a request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    Token,
    EmailKey,
}

/// Header names and raw values.
type Headers = Vec<(&'static str, Vec<u8>)>;

/// Header sets, and the credential that lets each in (if any).
fn cases() -> Vec<(Headers, Option<Via>)> {
    let h = |name: &'static str, value: &str| (name, value.as_bytes().to_vec());
    vec![
        (vec![], None),
        (
            vec![h("authorization", &format!("Bearer {TOKEN}"))],
            Some(Via::Token),
        ),
        (
            vec![h("authorization", &format!("bearer {TOKEN}"))],
            Some(Via::Token),
        ),
        (
            vec![h("authorization", &format!("BEARER  {TOKEN}"))],
            Some(Via::Token),
        ),
        (vec![h("authorization", "Bearer wrong")], None),
        (vec![h("authorization", "Bearer ")], None),
        (vec![h("authorization", "Bearer")], None),
        (
            vec![h(
                "authorization",
                &format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
            )],
            None,
        ),
        (vec![h("authorization", &format!("Bearer {TOKEN}0"))], None),
        (
            vec![h(
                "authorization",
                &format!("Bearer {}", TOKEN.to_uppercase()),
            )],
            None,
        ),
        (vec![h("authorization", &format!("Bearer{TOKEN}"))], None),
        (vec![h("authorization", TOKEN)], None),
        (vec![h("authorization", &format!("Basic {TOKEN}"))], None),
        (vec![h("authorization", &format!("Token {TOKEN}"))], None),
        (
            vec![h("authorization", &format!("Bearer {TOKEN}, Bearer x"))],
            None,
        ),
        (vec![h("authorization", &format!("Bearer {KEY}"))], None),
        (
            vec![("authorization", {
                let mut v = format!("Bearer {TOKEN}").into_bytes();
                v.push(0xFF);
                v
            })],
            None,
        ),
        (vec![h("x-auth-key", TOKEN)], None),
        (
            vec![h("x-auth-email", EMAIL), h("x-auth-key", KEY)],
            Some(Via::EmailKey),
        ),
        (vec![h("x-auth-email", EMAIL)], None),
        (vec![h("x-auth-key", KEY)], None),
        (
            vec![h("x-auth-email", EMAIL), h("x-auth-key", "wrong")],
            None,
        ),
        (
            vec![h("x-auth-email", "other@example.com"), h("x-auth-key", KEY)],
            None,
        ),
        (
            vec![
                h("x-auth-email", &EMAIL.to_uppercase()),
                h("x-auth-key", KEY),
            ],
            None,
        ),
        (
            vec![
                h("x-auth-email", EMAIL),
                h("x-auth-key", &KEY.to_uppercase()),
            ],
            None,
        ),
        (vec![h("x-auth-email", EMAIL), h("x-auth-key", TOKEN)], None),
        (
            vec![
                h("x-auth-email", EMAIL),
                h("x-auth-key", &KEY[..KEY.len() - 1]),
            ],
            None,
        ),
        (
            vec![
                h("x-auth-email", EMAIL),
                h("authorization", &format!("Bearer {KEY}")),
            ],
            None,
        ),
        (
            vec![
                h("authorization", "Bearer wrong"),
                h("x-auth-email", EMAIL),
                h("x-auth-key", KEY),
            ],
            Some(Via::EmailKey),
        ),
    ]
}

/// Asserts the answer: 403 with the authentication envelope, or (authenticated) the 404 of a
/// missing key.
fn expect(status: u16, body: &[u8], authenticated: bool, what: &str) {
    let j: serde_json::Value = serde_json::from_slice(body).expect("envelope");
    if authenticated {
        assert_eq!(
            (status, &j["errors"][0]["code"]),
            (404, &serde_json::json!(kv_types::codes::KEY_NOT_FOUND)),
            "{what}: {j}"
        );
    } else {
        assert_eq!(status, 403, "{what}: {j}");
        assert_eq!(j["success"], serde_json::json!(false), "{what}");
        assert_eq!(
            j["errors"][0]["code"],
            serde_json::json!(kv_types::codes::AUTHENTICATION_ERROR),
            "{what}"
        );
        assert_eq!(j["errors"][0]["message"], "Authentication error", "{what}");
    }
}

#[tokio::test]
async fn credentials_through_the_router() {
    let engine = Engine::new(EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: false,
        clock: Clock::frozen_at(crate::hostile::NOW),
    });
    let ns = engine.create_namespace("default").expect("ns").id;
    let credentials = Credentials::none()
        .with_token(TOKEN)
        .with_email_key(EMAIL, KEY);
    let app = router(ApiState::new(engine, ACCOUNT, credentials));
    let uri = format!("/client/v4/accounts/{ACCOUNT}/storage/kv/namespaces/{ns}/values/missing");
    for (headers, via) in cases() {
        let authenticated = via.is_some();
        let mut request = Request::get(&uri).body(Body::empty()).expect("request");
        for (name, value) in &headers {
            request
                .headers_mut()
                .append(*name, HeaderValue::from_bytes(value).expect("header value"));
        }
        let a = answer_of(&app, request).await;
        expect(a.status, &a.body, authenticated, &format!("{headers:?}"));
    }
    // Right credentials for another account: still 403.
    let other = format!(
        "/client/v4/accounts/{}/storage/kv/namespaces/{ns}/values/missing",
        "e".repeat(32)
    );
    let request = Request::get(other)
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .expect("request");
    let a = answer_of(&app, request).await;
    expect(a.status, &a.body, false, "another account");
}

#[tokio::test]
async fn credentials_over_loopback() {
    let only_email_key = KvMock::builder()
        .email_key(EMAIL, KEY)
        .start()
        .await
        .expect("mock");
    let both = KvMock::builder()
        .api_token(TOKEN)
        .email_key(EMAIL, KEY)
        .start()
        .await
        .expect("mock");
    let client = reqwest::Client::new();
    for mock in [&both, &only_email_key] {
        let url = format!(
            "{}/accounts/{}/storage/kv/namespaces/{}/values/missing",
            mock.base_url(),
            mock.account_id(),
            mock.namespace_id()
        );
        for (headers, via) in cases() {
            let authenticated = match via {
                Some(Via::Token) => std::ptr::eq(mock, &both),
                Some(Via::EmailKey) => true,
                None => false,
            };
            let mut request = client.get(&url);
            for (name, value) in &headers {
                request = request.header(*name, HeaderValue::from_bytes(value).expect("value"));
            }
            let r = request.send().await.expect("answer");
            let status = r.status().as_u16();
            let body = r.bytes().await.expect("body");
            expect(status, &body, authenticated, &format!("{headers:?}"));
        }
    }
}
