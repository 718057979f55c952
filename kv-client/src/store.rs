//! [`KvStore`] for [`KvNamespace`]: code written against the trait runs over HTTP; and
//! [`StoreError`] for [`Error`], whose kind the classifier decides.

use async_trait::async_trait;
use bytes::Bytes;
use kv_types::{
    ErrorKind, Key, KvStore, ListOptions, ListPage, Metadata, PutOptions, StoreError,
    ValidationError, Value, ValueWithMetadata,
};

use crate::error::{Error, Operation};
use crate::namespace::KvNamespace;
use crate::trace::{in_span, op_span};

impl StoreError for Error {
    fn kind(&self) -> ErrorKind {
        crate::classify::kind(self)
    }

    fn validation(&self) -> Option<&ValidationError> {
        self.validation_error()
    }
}

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
        in_span(op_span(&ctx), self.consistent_read(&ctx)).await
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
