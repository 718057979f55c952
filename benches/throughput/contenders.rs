//! The clients compared, each sending the same requests to the same server: kv-client (retries
//! on, its defaults), bare reqwest (what a user would write by hand), and the `cloudflare` crate
//! (0.14). Each put writes one 1 KiB value; each get reads one back.

use bytes::Bytes;
use cloudflare::endpoints::workerskv::read_key::ReadKey;
use cloudflare::endpoints::workerskv::write_key::{WriteKey, WriteKeyBody, WriteKeyParams};
use cloudflare::framework::Environment;
use cloudflare::framework::auth::Credentials;
use cloudflare::framework::client::ClientConfig;
use edge_kv::client::{Client, KvNamespace};
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};

/// The token every client sends (the mock accepts any when started without one).
const TOKEN: &str = "bench-token";
/// The `Authorization` header of the hand-written requests.
const AUTH: &str = "Bearer bench-token";
/// Distinct keys cycled through, so puts and gets spread over a realistic handful of entries.
pub(crate) const KEYS: usize = 256;
/// The size of every value written.
pub(crate) const VALUE_BYTES: usize = 1024;

/// Where the server is.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// `http://127.0.0.1:PORT/client/v4`
    pub(crate) base_url: String,
    /// The account id.
    pub(crate) account_id: String,
    /// The namespace id.
    pub(crate) namespace_id: String,
}

/// The name of the `i`th key.
fn key(i: usize) -> String {
    format!("bench-{:03}", i % KEYS)
}

/// A client under test.
pub(crate) enum Contender {
    /// kv-client, default settings (retries on).
    KvClient(KvNamespace),
    /// reqwest with the requests written by hand: status checked, body read, nothing parsed.
    Reqwest {
        /// The HTTP client.
        http: reqwest::Client,
        /// `{base}/accounts/{a}/storage/kv/namespaces/{ns}/values/`
        values_url: String,
    },
    /// The `cloudflare` crate's async client.
    Cloudflare {
        /// The client.
        client: Box<cloudflare::framework::client::async_api::Client>,
        /// The account id.
        account_id: String,
        /// The namespace id.
        namespace_id: String,
    },
}

impl Contender {
    /// kv-client pointed at `target`.
    pub(crate) fn kv_client(target: &Target) -> Result<Contender, String> {
        let client = Client::builder()
            .base_url(&target.base_url)
            .account_id(&target.account_id)
            .api_token(TOKEN)
            .build()
            .map_err(|e| format!("kv-client: {e}"))?;
        Ok(Contender::KvClient(client.namespace(&target.namespace_id)))
    }

    /// Bare reqwest pointed at `target`.
    pub(crate) fn reqwest(target: &Target) -> Result<Contender, String> {
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| format!("reqwest: {e}"))?;
        let values_url = format!(
            "{}/accounts/{}/storage/kv/namespaces/{}/values/",
            target.base_url, target.account_id, target.namespace_id
        );
        Ok(Contender::Reqwest { http, values_url })
    }

    /// The `cloudflare` crate pointed at `target`.
    pub(crate) fn cloudflare(target: &Target) -> Result<Contender, String> {
        // The crate joins endpoint paths onto the base URL: it needs the trailing slash.
        let client = cloudflare::framework::client::async_api::Client::new(
            Credentials::UserAuthToken {
                token: TOKEN.into(),
            },
            ClientConfig::default(),
            Environment::Custom(format!("{}/", target.base_url)),
        )
        .map_err(|e| format!("cloudflare: {e:?}"))?;
        Ok(Contender::Cloudflare {
            client: Box::new(client),
            account_id: target.account_id.clone(),
            namespace_id: target.namespace_id.clone(),
        })
    }

    /// Writes the `i`th key.
    pub(crate) async fn put(&self, i: usize, value: &Bytes) -> Result<(), String> {
        match self {
            Contender::KvClient(kv) => kv
                .put(key(i), value.clone())
                .await
                .map_err(|e| e.to_string()),
            Contender::Reqwest { http, values_url } => {
                let response = http
                    .put(format!("{values_url}{}", key(i)))
                    .header(AUTHORIZATION, AUTH)
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .body(value.clone())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let body = response.bytes().await.map_err(|e| e.to_string())?;
                if status.is_success() {
                    Ok(())
                } else {
                    Err(format!("put: {status} {}", String::from_utf8_lossy(&body)))
                }
            }
            Contender::Cloudflare {
                client,
                account_id,
                namespace_id,
            } => {
                let key = key(i);
                client
                    .request(&WriteKey {
                        account_identifier: account_id,
                        namespace_identifier: namespace_id,
                        key: &key,
                        params: WriteKeyParams::default(),
                        body: WriteKeyBody::Value(value.to_vec()),
                    })
                    .await
                    .map(drop)
                    .map_err(|e| format!("{e:?}"))
            }
        }
    }

    /// Reads the `i`th key; a missing key is an error.
    pub(crate) async fn get(&self, i: usize) -> Result<(), String> {
        let len = match self {
            Contender::KvClient(kv) => kv
                .get(key(i))
                .bytes()
                .await
                .map_err(|e| e.to_string())?
                .map(|b| b.len()),
            Contender::Reqwest { http, values_url } => {
                let response = http
                    .get(format!("{values_url}{}", key(i)))
                    .header(AUTHORIZATION, AUTH)
                    .header(ACCEPT, "application/octet-stream")
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                let body = response.bytes().await.map_err(|e| e.to_string())?;
                status.is_success().then_some(body.len())
            }
            Contender::Cloudflare {
                client,
                account_id,
                namespace_id,
            } => {
                let key = key(i);
                let value = client
                    .request(&ReadKey {
                        account_identifier: account_id,
                        namespace_identifier: namespace_id,
                        key: &key,
                    })
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                Some(value.len())
            }
        };
        match len {
            Some(_) => Ok(()),
            None => Err(format!("get {}: missing", key(i))),
        }
    }
}
