//! `edge-kv key put | get | list | delete`: one key at a time. Keys go to kv-client as given; it
//! sends each as one percent-encoded path segment, so `/`, `%`, `?`, `#`, spaces and non-ASCII
//! round-trip.

use base64::Engine;
use futures_util::TryStreamExt;
use kv_client::{Body, KvNamespace};
use kv_types::{KeyInfo, Metadata};
use serde_json::json;

use crate::args::KeyCommand;
use crate::connect;
use crate::failure::CliError;
use crate::output;

/// Runs one key command.
pub(crate) async fn run(
    client: &kv_client::Client,
    command: KeyCommand,
    json: bool,
) -> Result<(), CliError> {
    match command {
        KeyCommand::Put {
            ns,
            key,
            value,
            path,
            metadata,
            ttl,
            expiration,
        } => {
            let kv = connect::namespace(client, &ns).await?;
            let body = match (value, path) {
                (Some(v), _) => Body::from(v),
                (None, Some(p)) => Body::file(p),
                (None, None) => return Err(CliError::Usage("give a VALUE or --path FILE".into())),
            };
            let mut put = kv.put(&key, body);
            if let Some(m) = metadata {
                let m = Metadata::from_json(m)
                    .map_err(|e| CliError::Usage(format!("--metadata: {e}")))?;
                put = put.raw_metadata(m);
            }
            if let Some(ttl) = ttl {
                put = put.expiration_ttl(ttl);
            }
            if let Some(at) = expiration {
                put = put.expiration(at);
            }
            put.await?;
            if json {
                output::json(&json!({"key": key, "namespace_id": kv.id(), "written": true}))
            } else {
                output::line(&format!("Wrote key {key:?} in namespace {}", kv.id()))
            }
        }
        KeyCommand::Get {
            ns,
            key,
            text,
            metadata,
        } => {
            let kv = connect::namespace(client, &ns).await?;
            get(&kv, &key, text, metadata, json).await
        }
        KeyCommand::List {
            ns,
            prefix,
            limit,
            cursor,
            all,
        } => {
            let kv = connect::namespace(client, &ns).await?;
            let mut list = kv.list();
            if let Some(p) = prefix {
                list = list.prefix(p);
            }
            if let Some(n) = limit {
                list = list.limit(n);
            }
            if let Some(c) = cursor {
                list = list.cursor(c);
            }
            if all {
                let mut keys = std::pin::pin!(list.into_stream());
                while let Some(info) = keys.try_next().await? {
                    print_key(&info, json)?;
                }
                return Ok(());
            }
            let page = list.await?;
            if json {
                output::json(&page.keys)?;
            } else {
                for info in &page.keys {
                    print_key(info, false)?;
                }
            }
            if let Some(c) = page.cursor {
                output::note(&format!("more keys follow: --cursor {c} or --all"));
            }
            Ok(())
        }
        KeyCommand::Delete { ns, key } => {
            let kv = connect::namespace(client, &ns).await?;
            kv.delete(&key).await?;
            if json {
                output::json(&json!({"key": key, "namespace_id": kv.id(), "deleted": true}))
            } else {
                output::line(&format!("Deleted key {key:?} in namespace {}", kv.id()))
            }
        }
    }
}

/// One key of a listing: a JSON line, or `name<TAB>expiration<TAB>metadata` (`-` for none).
fn print_key(info: &KeyInfo, json: bool) -> Result<(), CliError> {
    if json {
        return output::json(info);
    }
    let expiration = info
        .expiration
        .map_or_else(|| "-".to_owned(), |e| e.to_string());
    let metadata = info.metadata.as_ref().map_or("-", |m| m.as_json());
    output::line(&format!("{}\t{expiration}\t{metadata}", info.name))
}

fn not_found(kv: &KvNamespace, key: &str) -> CliError {
    CliError::NotFound(format!("key {key:?} not found in namespace {}", kv.id()))
}

/// A value for JSON: the text when it is UTF-8, else base64 with `"base64": true`.
fn value_json(value: &[u8]) -> (serde_json::Value, bool) {
    match std::str::from_utf8(value) {
        Ok(text) => (json!(text), false),
        Err(_) => (
            json!(base64::engine::general_purpose::STANDARD.encode(value)),
            true,
        ),
    }
}

/// `key get`: raw bytes, `--text`, or a JSON document (`--json`, `--metadata`).
async fn get(
    kv: &KvNamespace,
    key: &str,
    text: bool,
    metadata: bool,
    json: bool,
) -> Result<(), CliError> {
    if metadata {
        let read = kv
            .get_with_metadata::<serde_json::Value>(key)
            .await?
            .ok_or_else(|| not_found(kv, key))?;
        let (value, base64) = value_json(&read.value);
        return output::json(&json!({
            "key": key,
            "value": value,
            "base64": base64,
            "metadata": read.metadata,
            "expiration": read.expiration,
        }));
    }
    let value = kv
        .get(key)
        .bytes()
        .await?
        .ok_or_else(|| not_found(kv, key))?;
    if json {
        let (value, base64) = value_json(&value);
        return output::json(&json!({"key": key, "value": value, "base64": base64}));
    }
    if text {
        let text = std::str::from_utf8(&value).map_err(|e| {
            CliError::Usage(format!(
                "the value of {key:?} is not UTF-8 ({e}); drop --text for its bytes"
            ))
        })?;
        return output::line(text);
    }
    output::bytes(&value)
}
