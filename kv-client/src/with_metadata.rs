//! `get_with_metadata`: a value and the metadata of the same write, from an API that has no
//! single call returning both.
//!
//! # How "never mixed across two writes" is guaranteed
//!
//! A write replaces value, expiration and metadata together, and the service accepts at most one
//! write per second per key. Each round reads the value (with its `expiration` header), then the
//! metadata, then the value again, and measures the round by the client's clock. The round is
//! accepted only if both value reads agree (same bytes, same expiration) **and** the round took
//! less than one second.
//!
//! Why that is enough: two writes of one key are at least one second apart, so a window shorter
//! than a second contains at most one write `W`. If there was none, all three reads saw the same
//! write. If there was one, the metadata read saw either the write before `W` or `W` itself; both
//! reads of the value agree, and the first saw the write before `W` while the second saw `W`, so
//! both writes have exactly these bytes and this expiration: the metadata returned belongs to a
//! write whose value and expiration are the ones returned. A change `A → B → A` would need two
//! writes inside the window, which the limit rules out. Otherwise the round is discarded and
//! another starts, at most five times, then [`Error::Inconsistent`].
//!
//! This relies on the reads of one client seeing writes in order (true of one location of the
//! service and of the fake) and on the per-key write limit being enforced (a fake with its rate
//! limit disabled gives no such guarantee). `bulk_get` with `withMetadata` would return both in
//! one call, but only as text or JSON, so binary values could not round-trip.

use std::time::Duration;

use bytes::Bytes;
use kv_types::{Key, Metadata, ValueWithMetadata};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::error::{Context, Error, Operation};
use crate::namespace::KvNamespace;
use crate::retry::backoff::rate_limit_floor;
use crate::trace::op_span;

/// Read rounds before giving up with [`Error::Inconsistent`].
pub(crate) const MAX_ROUNDS: u32 = 5;

/// A value with the metadata and expiration of the same write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithMetadata<M> {
    /// The value's bytes.
    pub value: Bytes,
    /// The metadata written with it, decoded, if any.
    pub metadata: Option<M>,
    /// When the key expires, in epoch seconds, if it does.
    pub expiration: Option<u64>,
}

impl KvNamespace {
    /// Reads the value of `key` with the metadata and expiration of the same write, never mixed
    /// across two writes. `None` when the key does not exist.
    ///
    /// The REST API has no single call returning a value with its metadata, so each round reads
    /// the value (with its `expiration` header), then the metadata, then the value again, timed
    /// by the client's clock. A round counts only if both value reads agree (bytes and
    /// expiration) **and** it took less than one second. The service accepts at most one write
    /// per second per key, so such a window holds at most one write `W`: the metadata read saw
    /// either the write before `W` or `W` itself, and since the value reads before and after
    /// agree, both of those writes carry exactly the bytes and expiration returned. A change
    /// `A → B → A` would need two writes inside the window. Otherwise another round starts, at
    /// most five, then [`Error::Inconsistent`].
    ///
    /// This assumes the reads of one client see writes in order (true at one location of the
    /// service and in kv-mock) and that the per-key write limit is enforced (a fake with its
    /// rate limit turned off gives no such guarantee). `bulk_get` with `withMetadata` would
    /// return both at once, but only as text or JSON, so binary values could not round-trip.
    ///
    /// ```no_run
    /// # async fn demo(kv: kv_client::KvNamespace) -> Result<(), kv_client::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct Meta { version: u32 }
    ///
    /// if let Some(read) = kv.get_with_metadata::<Meta>("config").await? {
    ///     println!("{} bytes, version {:?}", read.value.len(), read.metadata.map(|m| m.version));
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn get_with_metadata<M: DeserializeOwned>(
        &self,
        key: impl AsRef<str>,
    ) -> Result<Option<WithMetadata<M>>, Error> {
        let ctx = self.ctx(Operation::GetWithMetadata).with_key(key.as_ref());
        let span = op_span(&ctx);
        async {
            let Some(read) = self.consistent_read(&ctx).await? else {
                return Ok(None);
            };
            let metadata = match read.metadata {
                None => None,
                Some(m) => Some(
                    m.decode::<M>()
                        .map_err(|e| Error::decode(&ctx, 200, format!("metadata: {e}")))?,
                ),
            };
            Ok(Some(WithMetadata {
                value: read.value,
                metadata,
                expiration: read.expiration,
            }))
        }
        .instrument(span)
        .await
    }

    /// The rounds of reads described in the module docs, metadata undecoded.
    pub(crate) async fn consistent_read(
        &self,
        ctx: &Context,
    ) -> Result<Option<ValueWithMetadata>, Error> {
        let key: Key = self.key(ctx, ctx.key().unwrap_or_default())?;
        let clock = &self.inner().clock;
        let window: Duration = rate_limit_floor();
        for round in 1..=MAX_ROUNDS {
            let started = clock.now();
            let Some(first) = self.read(ctx, &key).await? else {
                return Ok(None);
            };
            let metadata: Option<Metadata> = match self.raw_metadata(ctx, &key).await? {
                Some(m) => m,
                None => {
                    tracing::debug!(round, "key deleted between reads; reading again");
                    continue;
                }
            };
            let Some(second) = self.read(ctx, &key).await? else {
                tracing::debug!(round, "key deleted between reads; reading again");
                continue;
            };
            let took = clock.now().saturating_duration_since(started);
            if first == second && took < window {
                return Ok(Some(ValueWithMetadata {
                    value: second.value,
                    metadata,
                    expiration: second.expiration,
                }));
            }
            tracing::debug!(
                round,
                changed = first != second,
                took_ms = took.as_millis() as u64,
                "value changed or round too slow; reading again"
            );
        }
        Err(Error::Inconsistent {
            ctx: ctx.boxed(),
            rounds: MAX_ROUNDS,
        })
    }
}
