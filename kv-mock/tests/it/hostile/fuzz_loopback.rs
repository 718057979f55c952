//! The smaller part over loopback: generated requests written as raw HTTP/1.1 on keep-alive
//! connections, through hyper, the fault layer and the request log, with a status fault injected
//! now and then. A request line corrupted beyond what hyper parses gets hyper's own 4xx and a
//! closed connection; everything that reaches the API gets an envelope.

use std::collections::BTreeMap;

use kv_mock::{Clock, Fault, KvMock};

use crate::hostile::answer::{Answer, check};
use crate::hostile::generator::{Generator, Target};
use crate::hostile::raw_http::{Connection, ReadError, wire};
use crate::hostile::rng::Rng;

/// Requests over loopback.
const LOOPBACK_REQUESTS: usize = 5_000;
/// A status fault is injected before every this many requests.
const FAULT_EVERY: usize = 250;
/// One request in this many gets a corrupted request line.
const CORRUPT_ONE_IN: usize = 40;

/// Puts a byte a request target cannot hold (or a raw non-ASCII one, which it can) somewhere
/// in `target`.
fn corrupt_target(target: &mut String, rng: &mut Rng) {
    let bad = rng.pick(&[
        " ", "\0", "\u{1}", "\u{7f}", "\t", "\r", "\n", "\"", "<", "`", "{", "ÿ", "\r\n",
    ]);
    let mut at = rng.below(target.len() + 1);
    while !target.is_char_boundary(at) {
        at -= 1;
    }
    target.insert_str(at, bad);
}

/// Replaces the version of the request line with one hyper does not speak.
fn corrupt_version(request: &mut Vec<u8>, rng: &mut Rng) {
    let bad = rng.pick(&[
        &b" HTTP/9.9\r\n"[..],
        b" HTTP/1.1 \r\n",
        b" HTTP/1\r\n",
        b" http/1.1\r\n",
        b" \r\n",
    ]);
    if let Some(at) = request.windows(11).position(|w| w == b" HTTP/1.1\r\n") {
        request.splice(at..at + 11, bad.iter().copied());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_over_loopback() {
    let mock = KvMock::builder()
        .clock(Clock::frozen_at(crate::hostile::NOW))
        .account_id(crate::hostile::ACCOUNT)
        .start()
        .await
        .expect("mock");
    let target = Target {
        account: mock.account_id().to_owned(),
        namespace: mock.namespace_id().to_owned(),
        now: crate::hostile::NOW,
    };
    let mut generator = Generator::new(0x100F_BAC4, &target);
    generator.wire_safe = true;
    let mut conn = Connection::open(mock.addr()).await;
    let mut statuses = BTreeMap::<u16, usize>::new();
    let mut fault_pending = false;
    let mut faults_seen = 0usize;
    let mut reconnects = 0usize;
    let mut refusals = 0usize;
    let mut rng = Rng::new(0xC0_4407);
    for i in 0..LOOPBACK_REQUESTS {
        if i.is_multiple_of(crate::hostile::RESET_EVERY) {
            mock.reset().expect("reset");
        }
        if i % FAULT_EVERY == FAULT_EVERY - 1 && !fault_pending {
            mock.inject(Fault::status(503).times(1));
            fault_pending = true;
        }
        let mut case = generator.case();
        let head = case.method == "HEAD";
        // Now and then a request line hyper cannot parse (never a HEAD: its answer would have
        // no body, the refusal has one).
        let corrupted = !head && rng.one_in(CORRUPT_ONE_IN);
        if corrupted {
            corrupt_target(&mut case.target, &mut rng);
        }
        let mut request = wire(&case);
        if corrupted && rng.one_in(4) {
            corrupt_version(&mut request, &mut rng);
        }
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
        // A head hyper could not parse gets hyper's own 4xx (no envelope: it never reached the
        // API, nor its faults), and the connection closes.
        if (400..500).contains(&status) && !headers.contains_key("content-type") {
            let odd_length = case.headers.iter().any(|(n, _)| n == "content-length");
            assert!(
                corrupted || odd_length,
                "case {i} ({}): refused as malformed: {status}",
                case.describe()
            );
            assert!(
                matches!(
                    conn.read_answer(false).await,
                    Err(ReadError::ClosedBeforeAnswer)
                ),
                "case {i} ({}): the connection closes after a refusal",
                case.describe()
            );
            refusals += 1;
            *statuses.entry(status).or_default() += 1;
            conn = Connection::open(mock.addr()).await;
            continue;
        }
        let to_api = !case.target.starts_with("/__mock");
        let may_be_faulted = fault_pending && to_api;
        let answer = Answer {
            status,
            content_type: headers.get("content-type").cloned(),
            body,
        };
        let code = check(&case, &answer, may_be_faulted).unwrap_or_else(|e| {
            panic!(
                "case {i} ({}): {e}\nstatus {status} headers {headers:?} body {:?}",
                case.describe(),
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(500)])
            )
        });
        if may_be_faulted {
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
        "loopback fuzz: {LOOPBACK_REQUESTS} sent, statuses {statuses:?}, {faults_seen} faults, {reconnects} reconnects, {refusals} malformed refused"
    );
    assert!(
        refusals >= LOOPBACK_REQUESTS / CORRUPT_ONE_IN / 4,
        "{refusals}"
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
