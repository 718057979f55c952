//! The smaller part over loopback: generated requests written as raw HTTP/1.1 on keep-alive
//! connections, through hyper, the fault layer and the request log, with a status fault injected
//! now and then.

use std::collections::BTreeMap;

use kv_mock::{Clock, Fault, KvMock};

use crate::answer::{Answer, check};
use crate::generator::{Generator, Target};
use crate::raw_http::{Connection, ReadError, wire};

/// Requests over loopback.
const LOOPBACK_REQUESTS: usize = 5_000;
/// A status fault is injected before every this many requests.
const FAULT_EVERY: usize = 250;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_over_loopback() {
    let mock = KvMock::builder()
        .clock(Clock::frozen_at(crate::NOW))
        .account_id(crate::ACCOUNT)
        .start()
        .await
        .expect("mock");
    let target = Target {
        account: mock.account_id().to_owned(),
        namespace: mock.namespace_id().to_owned(),
        now: crate::NOW,
    };
    let mut generator = Generator::new(0x100F_BAC4, &target);
    generator.wire_safe = true;
    let mut conn = Connection::open(mock.addr()).await;
    let mut statuses = BTreeMap::<u16, usize>::new();
    let mut fault_pending = false;
    let mut faults_seen = 0usize;
    let mut reconnects = 0usize;
    for i in 0..LOOPBACK_REQUESTS {
        if i.is_multiple_of(crate::RESET_EVERY) {
            mock.reset();
        }
        if i % FAULT_EVERY == FAULT_EVERY - 1 && !fault_pending {
            mock.inject(Fault::status(503).times(1));
            fault_pending = true;
        }
        let case = generator.case();
        let request = wire(&case);
        let head = case.method == "HEAD";
        let (status, headers, body) = match conn.exchange(&request, head).await {
            Ok(answer) => answer,
            Err(ReadError::ClosedBeforeAnswer) => {
                // The previous answer ended a connection the client took as kept alive (the
                // server does not drain an unread body): send again on a new one.
                reconnects += 1;
                conn = Connection::open(mock.addr()).await;
                conn.exchange(&request, head)
                    .await
                    .unwrap_or_else(|e| panic!("case {i} ({}): {e:?}", case.describe()))
            }
            Err(ReadError::Broken(e)) => panic!("case {i} ({}): {e}", case.describe()),
        };
        let to_api = !case.target.starts_with("/__mock");
        let faulted = fault_pending && to_api;
        let answer = Answer {
            status,
            content_type: headers.get("content-type").cloned(),
            body,
        };
        let code = check(&case, &answer, faulted).unwrap_or_else(|e| {
            panic!(
                "case {i} ({}): {e}\nstatus {status} headers {headers:?} body {:?}",
                case.describe(),
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(500)])
            )
        });
        if faulted {
            fault_pending = false;
            faults_seen += 1;
            assert_eq!(status, 503, "case {i}: the injected fault");
            if !head {
                assert_eq!(code, Some(u64::from(kv_types::codes::INJECTED_FAULT)));
            }
        }
        *statuses.entry(status).or_default() += 1;
        if headers
            .get("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        {
            conn = Connection::open(mock.addr()).await;
        }
    }
    eprintln!(
        "loopback fuzz: {LOOPBACK_REQUESTS} sent, statuses {statuses:?}, {faults_seen} faults, {reconnects} reconnects"
    );
    assert!(faults_seen >= LOOPBACK_REQUESTS / FAULT_EVERY - 1);
    for status in [200, 400, 403, 404, 405, 413] {
        assert!(
            statuses.contains_key(&status),
            "no {status} in {statuses:?}"
        );
    }
    // Every API request was logged with the status it got.
    let log = mock.requests();
    assert!(!log.is_empty() && log.iter().all(|r| r.status < 500 || r.status == 503));
}
