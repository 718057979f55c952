//! [`KvStore`] for [`KvNamespace`]: code written against the trait runs over HTTP.

use async_trait::async_trait;
use bytes::Bytes;
use kv_types::{
    Key, KvStore, ListOptions, ListPage, Metadata, PutOptions, Value, ValueWithMetadata,
};
use tracing::Instrument;

use crate::error::{Error, Operation};
use crate::namespace::KvNamespace;
use crate::trace::op_span;

#[async_trait]
impl KvStore for KvNamespace {
    type Error = Error;

    async fn put(&self, key: &Key, value: Value, options: PutOptions) -> Result<(), Error> {
        KvNamespace::put(self, key, value).options(options).await
    }

    async fn get(&self, key: &Key) -> Result<Option<Bytes>, Error> {
        KvNamespace::get(self, key).bytes().await
    }

    async fn get_with_metadata(&self, key: &Key) -> Result<Option<ValueWithMetadata>, Error> {
        let ctx = self.ctx(Operation::GetWithMetadata).with_key(key.as_str());
        let span = op_span(&ctx);
        self.consistent_read(&ctx).instrument(span).await
    }

    async fn metadata(&self, key: &Key) -> Result<Option<Option<Metadata>>, Error> {
        KvNamespace::metadata::<Metadata>(self, key).await
    }

    async fn delete(&self, key: &Key) -> Result<(), Error> {
        KvNamespace::delete(self, key).await
    }

    async fn list(&self, options: ListOptions) -> Result<ListPage, Error> {
        KvNamespace::list(self).options(options).send().await
    }
}
