//! One conformance suite, run against every `KvStore` of the workspace: the mock's engine (no
//! socket), and the HTTP client talking to the mock over loopback. Both must behave alike.

mod suite;

use crate::kit;
use std::sync::Arc;

use edge_kv::client::KvNamespace;
use edge_kv::mock::{Clock, Engine, EngineConfig, KvMock, NamespaceHandle};
use edge_kv::types::{KvStore, Limits};

/// A fresh namespace of a fresh engine, with the per-key write limit off.
fn engine_store() -> (NamespaceHandle, Clock) {
    let clock = Clock::system();
    let engine = Engine::new(EngineConfig {
        limits: Limits::PRODUCTION,
        rate_limit: false,
        clock: clock.clone(),
    });
    let ns = engine.create_namespace("conformance").expect("create");
    (engine.namespace(&ns.id).expect("exists"), clock)
}

/// A fresh mock server, with the per-key write limit off, and a client namespace on it.
async fn client_store() -> (KvMock, KvNamespace) {
    let mock = kit::start_mock(KvMock::builder().rate_limit(false)).await;
    let client = kit::client_builder(&mock).build().expect("client");
    let kv = client.namespace(mock.namespace_id());
    (mock, kv)
}

macro_rules! conformance {
    ($($name:ident => |$store:ident, $now:ident| $body:expr;)*) => {
        mod engine {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, clock) = engine_store();
                    let $now = clock.now_secs();
                    let $store = &store;
                    $body.await;
                }
            )*
        }
        mod client_over_http {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let (mock, store) = client_store().await;
                    let $now = mock.clock().now_secs();
                    let $store = &store;
                    $body.await;
                }
            )*
        }
        mod engine_as_dyn_store {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, clock) = engine_store();
                    let $now = clock.now_secs();
                    let dynamic: Arc<dyn KvStore<Error = edge_kv::mock::EngineError>> = Arc::new(store);
                    let $store = &*dynamic;
                    $body.await;
                }
            )*
        }
    };
}

conformance! {
    values_round_trip => |s, _now| suite::values_round_trip(s);
    odd_keys_round_trip => |s, _now| suite::odd_keys_round_trip(s);
    metadata_and_overwrite => |s, now| suite::metadata_and_overwrite(s, now);
    list_pages => |s, _now| suite::list_pages(s);
    validation_is_typed => |s, _now| suite::validation_is_typed(s, Limits::PRODUCTION.max_value_bytes);
}
