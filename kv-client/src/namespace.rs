//! [`KvNamespace`]: the handle of one namespace, carrying the key operations; and the two simple
//! ones, `delete` and `metadata`.

use std::fmt;
use std::sync::Arc;

use http::Method;
use kv_types::{Key, Metadata};
use serde::de::DeserializeOwned;

use crate::body::Body;
use crate::client::{Client, Inner};
use crate::error::{Context, Error, Operation};
use crate::execute::execute;
use crate::get::GetRequest;
use crate::list::ListRequest;
use crate::pacing;
use crate::put::{PutBuilder, boxed};
use crate::reading::{Ack, MetadataRead};
use crate::request::Request;
use crate::trace::{in_span, op_span};

/// One namespace: the edge API's `kv` object. Cheap to clone; implements
/// [`KvStore`](kv_types::KvStore).
///
/// Keys are given as `&str`, `String` or [`Key`]; they are validated before anything is sent, and
/// sent as one percent-encoded path segment, so any valid key (with `/`, `?`, `#`, `%`, `..`,
/// spaces, non-ASCII) round-trips exactly.
///
/// ```no_run
/// # async fn demo(kv: kv_client::KvNamespace) -> Result<(), kv_client::Error> {
/// use kv_client::Body;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct User { name: String }
///
/// kv.put("user/1", Body::json(&User { name: "Ada".into() }))
///     .expiration_ttl(3600)
///     .metadata(&serde_json::json!({"v": 1}))
///     .await?;
/// let user: Option<User> = kv.get("user/1").json().await?;
/// kv.delete("user/1").await?;
/// # let _ = user; Ok(()) }
/// ```
#[derive(Clone)]
pub struct KvNamespace {
    client: Client,
    id: Arc<str>,
    /// `.../namespaces/{id}/values`, built once: value URLs extend it (see `value_url`).
    values: Arc<reqwest::Url>,
}

impl fmt::Debug for KvNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvNamespace")
            .field("id", &self.id)
            .field("client", &self.client)
            .finish()
    }
}

impl KvNamespace {
    pub(crate) fn new(client: Client, id: String) -> KvNamespace {
        let values = Arc::new(client.inner().endpoints.values(&id));
        KvNamespace {
            client,
            id: id.into(),
            values,
        }
    }

    /// The URL of `key`'s value.
    pub(crate) fn value_url(&self, key: &Key) -> reqwest::Url {
        crate::endpoint::value_in(&self.values, &self.inner().endpoints, &self.id, key)
    }

    /// The namespace id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn inner(&self) -> &Inner {
        self.client.inner()
    }

    /// The context of an operation on this namespace.
    pub(crate) fn ctx(&self, op: Operation) -> Context {
        Context::new(op).with_namespace(Arc::clone(&self.id))
    }

    /// Validates a key name against the client's limits.
    pub(crate) fn key(&self, ctx: &Context, name: impl Into<String>) -> Result<Key, Error> {
        Key::with_limits(name, &self.inner().limits).map_err(|e| Error::validation(ctx, e))
    }

    /// Writes `value` under `key`, replacing value, expiration and metadata together. Returns a
    /// builder for the options; await it to send.
    ///
    /// `value` is anything that converts into a [`Body`]: `&str`, `String`, `&[u8]`, `Vec<u8>`,
    /// `Bytes`, [`Body::json`], [`Body::stream`], [`Body::file`], [`Body::replayable`].
    pub fn put(&self, key: impl AsRef<str>, value: impl Into<Body>) -> PutBuilder {
        PutBuilder::new(self.clone(), key.as_ref().to_owned(), value.into())
    }

    /// Reads the value of `key`: choose the form with [`GetRequest::text`],
    /// [`bytes`](GetRequest::bytes), [`json`](GetRequest::json) or
    /// [`stream`](GetRequest::stream), or await it for bytes. A missing key is `None`.
    pub fn get(&self, key: impl AsRef<str>) -> GetRequest {
        GetRequest::new(self.clone(), key.as_ref().to_owned())
    }

    /// Lists keys: one page when awaited, or every key with
    /// [`into_stream`](ListRequest::into_stream).
    pub fn list(&self) -> ListRequest {
        ListRequest::new(self.clone())
    }

    /// Deletes `key`. Deleting a missing key succeeds.
    pub async fn delete(&self, key: impl AsRef<str>) -> Result<(), Error> {
        let ctx = self.ctx(Operation::Delete).with_key(key.as_ref());
        in_span(op_span(&ctx), async {
            let key = self.key(&ctx, ctx.key().unwrap_or_default())?;
            let url = self.value_url(&key);
            if self.inner().pacer.is_none() {
                return execute(self.inner(), &ctx, &Request::new(Method::DELETE, url), &Ack).await;
            }
            let (owner, carrier) = (self.clone(), ctx.clone());
            let send: pacing::Send = Box::new(move || {
                boxed(move || async move {
                    let request = Request::new(Method::DELETE, url);
                    execute(owner.inner(), &carrier, &request, &Ack).await
                })
            });
            pacing::paced(&self.client, &ctx, send).await
        })
        .await
    }

    /// Reads only the metadata of `key`, decoded into `M`: `None` when the key does not exist,
    /// `Some(None)` when it has no metadata.
    pub async fn metadata<M: DeserializeOwned>(
        &self,
        key: impl AsRef<str>,
    ) -> Result<Option<Option<M>>, Error> {
        let ctx = self.ctx(Operation::Metadata).with_key(key.as_ref());
        in_span(op_span(&ctx), async {
            let key = self.key(&ctx, ctx.key().unwrap_or_default())?;
            match self.raw_metadata(&ctx, &key).await? {
                None => Ok(None),
                Some(None) => Ok(Some(None)),
                Some(Some(m)) => m
                    .decode::<M>()
                    .map(|m| Some(Some(m)))
                    .map_err(|e| Error::decode(&ctx, 200, format!("metadata: {e}"))),
            }
        })
        .await
    }

    /// The metadata endpoint, undecoded.
    pub(crate) async fn raw_metadata(
        &self,
        ctx: &Context,
        key: &Key,
    ) -> Result<Option<Option<Metadata>>, Error> {
        let inner = self.inner();
        let request = Request::new(Method::GET, inner.endpoints.metadata(&self.id, key));
        execute(inner, ctx, &request, &MetadataRead).await
    }
}
