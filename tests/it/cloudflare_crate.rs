//! The `cloudflare` Rust crate (0.14), pointed at kv-mock with a custom environment: write (with
//! and without metadata), read, read metadata, list across pages, delete, bulk write and delete.
//! Every read is compared with what was written.

use cloudflare::endpoints::workerskv::{
    delete_bulk::DeleteBulk,
    delete_key::DeleteKey,
    list_namespace_keys::{ListNamespaceKeys, ListNamespaceKeysParams},
    read_key::ReadKey,
    read_key_metadata::ReadKeyMetadata,
    write_bulk::{KeyValuePair, WriteBulk},
    write_key::{WriteKey, WriteKeyBody, WriteKeyBodyMetadata, WriteKeyParams},
};
use cloudflare::framework::Environment;
use cloudflare::framework::auth::Credentials;
use cloudflare::framework::client::ClientConfig;
use cloudflare::framework::client::async_api::Client;
use edge_kv::mock::KvMock;

const TOKEN: &str = "cloudflare-crate-token";

async fn setup() -> (KvMock, Client) {
    let mock = KvMock::builder()
        .api_token(TOKEN)
        .rate_limit(false)
        .start()
        .await
        .expect("mock starts");
    // The crate joins endpoint paths onto the base URL, so the base needs its trailing slash.
    let client = Client::new(
        Credentials::UserAuthToken {
            token: TOKEN.into(),
        },
        ClientConfig::default(),
        Environment::Custom(format!("{}/", mock.base_url())),
    )
    .expect("client");
    (mock, client)
}

const KEYS: [&str; 6] = [
    "plain",
    "with space",
    "a/b/c",
    "100%",
    "ключ-日本",
    "q?x=1#frag",
];

#[tokio::test]
async fn write_read_metadata_delete_with_odd_keys() {
    let (mock, cf) = setup().await;
    let (account, ns) = (mock.account_id(), mock.namespace_id());
    for (i, key) in KEYS.iter().enumerate() {
        // Without metadata: application/octet-stream.
        let value = format!("value of {key}").into_bytes();
        cf.request(&WriteKey {
            account_identifier: account,
            namespace_identifier: ns,
            key,
            params: WriteKeyParams::default(),
            body: WriteKeyBody::Value(value.clone()),
        })
        .await
        .unwrap_or_else(|e| panic!("write {key:?}: {e:?}"));
        let read = cf
            .request(&ReadKey {
                account_identifier: account,
                namespace_identifier: ns,
                key,
            })
            .await
            .unwrap_or_else(|e| panic!("read {key:?}: {e:?}"));
        assert_eq!(read, value, "value of {key:?}");

        // With metadata: multipart with a `metadata` text part and a `value` bytes part.
        let meta = serde_json::json!({"key": key, "i": i});
        let binary: Vec<u8> = (0..=255u8).rev().collect();
        cf.request(&WriteKey {
            account_identifier: account,
            namespace_identifier: ns,
            key,
            params: WriteKeyParams {
                expiration: None,
                expiration_ttl: Some(3600),
            },
            body: WriteKeyBody::Metadata(WriteKeyBodyMetadata {
                value: binary.clone(),
                metadata: meta.clone(),
            }),
        })
        .await
        .unwrap_or_else(|e| panic!("write with metadata {key:?}: {e:?}"));
        let read = cf
            .request(&ReadKey {
                account_identifier: account,
                namespace_identifier: ns,
                key,
            })
            .await
            .expect("read");
        assert_eq!(read, binary, "binary value of {key:?} from multipart");
        let read_meta = cf
            .request(&ReadKeyMetadata {
                account_identifier: account,
                namespace_identifier: ns,
                key,
            })
            .await
            .expect("read metadata");
        assert_eq!(read_meta.result, Some(meta), "metadata of {key:?}");
    }

    cf.request(&DeleteKey {
        account_identifier: account,
        namespace_identifier: ns,
        key: "with space",
    })
    .await
    .expect("delete");
    let gone = cf
        .request(&ReadKey {
            account_identifier: account,
            namespace_identifier: ns,
            key: "with space",
        })
        .await;
    assert!(gone.is_err(), "a deleted key must not read back: {gone:?}");
    assert!(
        mock.engine().entry(ns, "with space").is_none(),
        "the mock no longer holds the deleted key"
    );
}

#[tokio::test]
async fn list_follows_cursors_and_bulk_round_trips() {
    let (mock, cf) = setup().await;
    let (account, ns) = (mock.account_id(), mock.namespace_id());
    let pairs: Vec<KeyValuePair> = (0..25)
        .map(|i| KeyValuePair {
            key: format!("page/{i:02}"),
            value: format!("v{i}"),
            expiration: None,
            expiration_ttl: if i == 0 { Some(600) } else { None },
            base64: None,
        })
        .collect();
    let written = cf
        .request(&WriteBulk {
            account_identifier: account,
            namespace_identifier: ns,
            bulk_key_value_pairs: pairs,
        })
        .await
        .expect("bulk write");
    assert_eq!(
        written.result.unsuccessful_keys.unwrap_or_default(),
        Vec::<String>::new()
    );

    let mut names = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = cf
            .request(&ListNamespaceKeys {
                account_identifier: account,
                namespace_identifier: ns,
                params: ListNamespaceKeysParams {
                    limit: Some(10),
                    cursor: cursor.clone(),
                    prefix: Some("page/".into()),
                },
            })
            .await
            .expect("list");
        for key in &page.result {
            if key.name == "page/00" {
                assert!(key.expiration.is_some(), "TTL key lists its expiration");
            }
            if key.name == "page/01" {
                assert_eq!(key.expiration, None, "a key without TTL lists none");
            }
        }
        names.extend(page.result.into_iter().map(|k| k.name));
        cursor = page
            .result_info
            .as_ref()
            .and_then(|info| info.get("cursor"))
            .and_then(|c| c.as_str())
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    let expected: Vec<String> = (0..25).map(|i| format!("page/{i:02}")).collect();
    assert_eq!(names, expected, "every key once, in order, across pages");

    let read = cf
        .request(&ReadKey {
            account_identifier: account,
            namespace_identifier: ns,
            key: "page/07",
        })
        .await
        .expect("read");
    assert_eq!(read, b"v7");

    cf.request(&DeleteBulk {
        account_identifier: account,
        namespace_identifier: ns,
        bulk_keys: expected.clone(),
    })
    .await
    .expect("bulk delete");
    let left = cf
        .request(&ListNamespaceKeys {
            account_identifier: account,
            namespace_identifier: ns,
            params: ListNamespaceKeysParams {
                limit: None,
                cursor: None,
                prefix: Some("page/".into()),
            },
        })
        .await
        .expect("list");
    assert!(left.result.is_empty(), "bulk delete removed every key");
}
