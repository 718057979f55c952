//! 100,000 generated hostile requests through the router (`tower::ServiceExt::oneshot` on a
//! cloned router, no socket; the same router `KvMock` serves, control routes, faults and log
//! included), on two workers with an engine each so each stream is
//! deterministic.

use std::collections::BTreeMap;

use axum::body::Body;
use http::Request;
use kv_mock::{ApiState, Clock, Credentials, Engine, EngineConfig, router};
use kv_types::{Limits, Namespace, PutOptions};

use crate::hostile::answer::{self, check};
use crate::hostile::generator::{AUTH_KEY, EMAIL, Generator, TOKEN, Target};
use crate::hostile::oneshot::{answer_of, build};
use crate::hostile::{ACCOUNT, NOW, RESET_EVERY};

/// Requests through the router, in all.
const ROUTER_REQUESTS: usize = 100_000;
/// Workers sharing them (one engine each, so each stream is deterministic).
const WORKERS: usize = 2;

/// What one worker saw: answers by status and by error code, and requests `http` could not
/// even represent (not sent).
#[derive(Debug, Default)]
struct Tally {
    sent: usize,
    unrepresentable: usize,
    statuses: BTreeMap<u16, usize>,
    codes: BTreeMap<u64, usize>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.sent += other.sent;
        self.unrepresentable += other.unrepresentable;
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.codes {
            *self.codes.entry(k).or_default() += v;
        }
    }
}

/// One worker: its own engine, an open router and one that requires credentials.
async fn router_worker(seed: u64, requests: usize) -> Tally {
    let engine = Engine::new(EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: false,
        clock: Clock::frozen_at(NOW),
    });
    let ns: Namespace = engine.create_namespace("default").expect("namespace");
    let open = router(ApiState::new(engine.clone(), ACCOUNT, Credentials::none()));
    let guarded = router(ApiState::new(
        engine.clone(),
        ACCOUNT,
        Credentials::none()
            .with_token(TOKEN)
            .with_email_key(EMAIL, AUTH_KEY),
    ));
    let target = Target {
        account: ACCOUNT.to_owned(),
        namespace: ns.id.clone(),
        now: NOW,
    };
    let mut generator = Generator::new(seed, &target);
    let mut tally = Tally::default();
    let mut i = 0usize;
    while tally.sent < requests {
        i += 1;
        // A generated DELETE may have removed the namespace: bring it back (and start clean).
        if tally.sent.is_multiple_of(RESET_EVERY) || engine.namespace(&ns.id).is_none() {
            engine.reset(std::slice::from_ref(&ns)).expect("reset");
            engine
                .seed(&ns.id, "seeded", "value", PutOptions::new())
                .expect("seed");
            engine
                .seed(&ns.id, "k1", "{\"json\":true}", PutOptions::new())
                .expect("seed");
        }
        let case = generator.case();
        let Some(request) = build(&case) else {
            tally.unrepresentable += 1;
            continue;
        };
        let guarded_case = i.is_multiple_of(5);
        let app = if guarded_case { &guarded } else { &open };
        let answer = answer_of(app, request).await;
        let code = check(&case, &answer, false).unwrap_or_else(|e| {
            panic!(
                "seed {seed:#x} case {i} ({}): {e}\nstatus {} body {:?}",
                case.describe(),
                answer.status,
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(500)])
            )
        });
        // The control routes have a rule of their own (tests/it/control_auth.rs).
        let to_control = case.target == "/__mock" || case.target.starts_with("/__mock/");
        if guarded_case && !case.valid_auth && !to_control {
            let expected_code =
                (case.method != "HEAD").then_some(u64::from(kv_types::codes::AUTHENTICATION_ERROR));
            assert_eq!(
                (answer.status, code),
                (403, expected_code),
                "seed {seed:#x} case {i} without valid credentials: {}",
                case.describe()
            );
        }
        tally.sent += 1;
        *tally.statuses.entry(answer.status).or_default() += 1;
        if let Some(code) = code {
            *tally.codes.entry(code).or_default() += 1;
        }
    }
    // Still serving normally afterwards.
    engine.reset(std::slice::from_ref(&ns)).expect("reset");
    let put = Request::put(format!(
        "/client/v4/accounts/{ACCOUNT}/storage/kv/namespaces/{}/values/after",
        ns.id
    ))
    .body(Body::from("ok"))
    .expect("request");
    assert_eq!(answer_of(&open, put).await.status, 200);
    assert_eq!(
        engine.entry(&ns.id, "after").map(|e| e.value.to_vec()),
        Some(b"ok".to_vec())
    );
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_through_the_router() {
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let seed = 0x5EED_0000_0000_0001 + w as u64;
        workers.push(tokio::spawn(router_worker(seed, ROUTER_REQUESTS / WORKERS)));
    }
    let mut tally = Tally::default();
    for w in workers {
        tally.merge(w.await.expect("worker"));
    }
    eprintln!(
        "router fuzz: {} sent, {} not representable, statuses {:?}, codes {:?}",
        tally.sent, tally.unrepresentable, tally.statuses, tally.codes
    );
    assert!(tally.sent >= ROUTER_REQUESTS);
    // The stream reached every kind of answer, not only the router's edges.
    for status in answer::EXPECTED_STATUSES.iter().filter(|s| **s != 429) {
        assert!(
            tally.statuses.get(status).is_some_and(|n| *n >= 10),
            "status {status} too rare: {:?}",
            tally.statuses
        );
    }
    use kv_types::codes::*;
    for code in [
        AUTHENTICATION_ERROR,
        KEY_NOT_FOUND,
        NAMESPACE_NOT_FOUND,
        INVALID_KEY,
        KEY_TOO_LONG,
        VALUE_TOO_LARGE,
        METADATA_TOO_LARGE,
        INVALID_EXPIRATION_TTL,
        INVALID_EXPIRATION,
        INVALID_METADATA,
        INVALID_REQUEST_BODY,
        INVALID_LIST_LIMIT,
        BULK_TOO_MANY_ITEMS,
        ROUTE_NOT_FOUND,
        METHOD_NOT_ALLOWED,
        INVALID_CURSOR,
        INVALID_QUERY,
    ] {
        assert!(
            tally.codes.contains_key(&u64::from(code)),
            "code {code} never answered: {:?}",
            tally.codes
        );
    }
}
