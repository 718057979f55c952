//! The [`KvStore`] trait: one namespace of KV, whatever serves it.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::ValidationError;
use crate::key::Key;
use crate::list::{ListPage, ValueWithMetadata};
use crate::metadata::Metadata;
use crate::options::{ListOptions, PutOptions};
use crate::value::Value;

/// What kind of failure a store reports, so code generic over [`KvStore`] (a conformance suite,
/// a cache in front of a store) can react without knowing the concrete error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request broke a rule of the contract; nothing was written.
    Validation,
    /// Too many requests (the per-key write limit or the account's rate); retry later.
    RateLimited,
    /// The namespace (or, where not an `Option`, the key) does not exist.
    NotFound,
    /// Missing or wrong credentials.
    Unauthorized,
    /// The store could not be reached or failed; the request may be retried.
    Unavailable,
    /// Anything else.
    Other,
}

/// The error of a [`KvStore`]: any error that can say its [`ErrorKind`].
pub trait StoreError: std::error::Error + Send + Sync + 'static {
    /// What kind of failure this is.
    fn kind(&self) -> ErrorKind;

    /// The rule broken, when [`kind`](Self::kind) is [`ErrorKind::Validation`].
    fn validation(&self) -> Option<&ValidationError> {
        None
    }
}

/// One namespace of KV: the operations of the edge API's `kv` binding. Implemented by
/// `kv-client`'s namespace handle (over HTTP) and by `kv-mock`'s engine (in memory), so code
/// written against this trait runs against either.
///
/// A missing (or expired) key is `Ok(None)`, never an error.
///
/// ```
/// use kv_types::{Key, KvStore, PutOptions, Value};
///
/// async fn remember<S: KvStore + ?Sized>(store: &S, name: &str) -> Result<bool, S::Error> {
///     let key = Key::new(format!("seen/{name}")).expect("a short ASCII key is valid");
///     let seen = store.get(&key).await?.is_some();
///     if !seen {
///         store.put(&key, Value::from("1"), PutOptions::new().expiration_ttl(3600)).await?;
///     }
///     Ok(seen)
/// }
/// ```
#[async_trait]
pub trait KvStore: Send + Sync {
    /// The error this store reports.
    type Error: StoreError;

    /// Writes `value` under `key`, replacing value, expiration and metadata together.
    async fn put(&self, key: &Key, value: Value, options: PutOptions) -> Result<(), Self::Error>;

    /// Reads the value of `key`.
    async fn get(&self, key: &Key) -> Result<Option<Bytes>, Self::Error>;

    /// Reads the value of `key` with the metadata and expiration of the same write.
    async fn get_with_metadata(&self, key: &Key) -> Result<Option<ValueWithMetadata>, Self::Error>;

    /// Reads only the metadata of `key`: `Ok(None)` when the key is absent, `Ok(Some(None))`
    /// when it has none.
    async fn metadata(&self, key: &Key) -> Result<Option<Option<Metadata>>, Self::Error> {
        Ok(self.get_with_metadata(key).await?.map(|v| v.metadata))
    }

    /// Deletes `key`; deleting a missing key succeeds.
    async fn delete(&self, key: &Key) -> Result<(), Self::Error>;

    /// Lists one page of keys.
    async fn list(&self, options: ListOptions) -> Result<ListPage, Self::Error>;
}

macro_rules! forward_kv_store {
    ($($ptr:ident),*) => {$(
        #[async_trait]
        impl<T: KvStore + ?Sized> KvStore for $ptr<T> {
            type Error = T::Error;

            async fn put(&self, key: &Key, value: Value, options: PutOptions) -> Result<(), Self::Error> {
                (**self).put(key, value, options).await
            }

            async fn get(&self, key: &Key) -> Result<Option<Bytes>, Self::Error> {
                (**self).get(key).await
            }

            async fn get_with_metadata(
                &self,
                key: &Key,
            ) -> Result<Option<ValueWithMetadata>, Self::Error> {
                (**self).get_with_metadata(key).await
            }

            async fn metadata(&self, key: &Key) -> Result<Option<Option<Metadata>>, Self::Error> {
                (**self).metadata(key).await
            }

            async fn delete(&self, key: &Key) -> Result<(), Self::Error> {
                (**self).delete(key).await
            }

            async fn list(&self, options: ListOptions) -> Result<ListPage, Self::Error> {
                (**self).list(options).await
            }
        }
    )*};
}

forward_kv_store!(Arc, Box);

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;
    use crate::list::KeyInfo;

    #[derive(Debug, thiserror::Error)]
    #[error("never")]
    struct Never;

    impl StoreError for Never {
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    /// A minimal store, to prove the trait is object-safe and forwards through pointers.
    #[derive(Default)]
    struct MapStore(Mutex<BTreeMap<String, Bytes>>);

    #[async_trait]
    impl KvStore for MapStore {
        type Error = Never;
        async fn put(&self, key: &Key, value: Value, _: PutOptions) -> Result<(), Never> {
            self.0
                .lock()
                .expect("not poisoned")
                .insert(key.to_string(), value.into_bytes());
            Ok(())
        }
        async fn get(&self, key: &Key) -> Result<Option<Bytes>, Never> {
            Ok(self
                .0
                .lock()
                .expect("not poisoned")
                .get(key.as_str())
                .cloned())
        }
        async fn get_with_metadata(&self, key: &Key) -> Result<Option<ValueWithMetadata>, Never> {
            Ok(self.get(key).await?.map(|value| ValueWithMetadata {
                value,
                metadata: None,
                expiration: None,
            }))
        }
        async fn delete(&self, key: &Key) -> Result<(), Never> {
            self.0.lock().expect("not poisoned").remove(key.as_str());
            Ok(())
        }
        async fn list(&self, _: ListOptions) -> Result<ListPage, Never> {
            let keys = self
                .0
                .lock()
                .expect("not poisoned")
                .keys()
                .map(|name| KeyInfo {
                    name: name.clone(),
                    expiration: None,
                    metadata: None,
                })
                .collect();
            Ok(ListPage::from_wire(keys, None))
        }
    }

    #[tokio::test]
    async fn object_safe_and_forwarded() {
        let store: Arc<dyn KvStore<Error = Never>> = Arc::new(MapStore::default());
        let boxed: Box<dyn KvStore<Error = Never>> = Box::new(MapStore::default());
        let key = Key::new("k").expect("valid");
        for s in [&store as &dyn KvStore<Error = Never>, &boxed] {
            s.put(&key, Value::from("v"), PutOptions::new())
                .await
                .expect("put");
            assert_eq!(s.get(&key).await.expect("get").as_deref(), Some(&b"v"[..]));
            assert_eq!(s.metadata(&key).await.expect("meta"), Some(None));
            assert_eq!(
                s.list(ListOptions::new()).await.expect("list").keys.len(),
                1
            );
            s.delete(&key).await.expect("delete");
            assert_eq!(s.get(&key).await.expect("get"), None);
        }
    }
}
