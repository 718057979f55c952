//! [`BulkProgress`]: what a bulk call reports after each chunk, and the tally that makes those
//! reports and the call's final answer from the chunks' outcomes.

use std::collections::HashSet;
use std::fmt;

use kv_types::{ErrorKind, ValidationError};

use super::BulkReport;
use super::pack::Chunk;
use crate::classify;
use crate::error::{Context, Error};

/// The progress callback of a bulk call; see [`BulkWrite::on_progress`](crate::BulkWrite::on_progress).
pub(crate) type OnProgress<'a> = Box<dyn FnMut(&BulkProgress) + Send + 'a>;

/// Where a bulk call stands, reported after each chunk (one request, or a run of invalid items
/// that sent nothing), in the order the chunks finish. The `items_*`, `bytes_*` and `requests`
/// counts are cumulative; the `chunk_*` counts and `failures` are those of this chunk only.
/// Every input item is counted exactly once, as done or as failed, so when the call ends
/// `items_done + items_failed` is the number of items given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkProgress {
    /// Items written, deleted or read so far.
    pub items_done: u64,
    /// Items that failed so far (invalid, refused by the service, or in a request that failed).
    pub items_failed: u64,
    /// Request body bytes of the requests that were answered so far.
    pub bytes_done: u64,
    /// Request body bytes of the requests that failed (or were not sent) so far.
    pub bytes_failed: u64,
    /// Requests made so far (one per chunk; retries of a chunk not counted).
    pub requests: u32,
    /// Items of this chunk done.
    pub chunk_items_done: u64,
    /// Items of this chunk that failed (the length of `failures`).
    pub chunk_items_failed: u64,
    /// The request body bytes of this chunk (0 when it held only invalid items).
    pub chunk_bytes: u64,
    /// The items of this chunk that failed, with their input index.
    pub failures: Vec<BulkFailure>,
}

/// One item of a bulk call that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkFailure {
    /// Its 0-based position in the input.
    pub index: u64,
    /// Its key, as given.
    pub key: String,
    /// Why it failed.
    pub reason: BulkFailureReason,
}

/// Why an item of a bulk call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BulkFailureReason {
    /// The item breaks a rule of the API; it was not sent.
    #[error("invalid: {0}")]
    Invalid(ValidationError),
    /// The service answered the request but listed this key as not done.
    #[error("refused by the service")]
    Refused,
    /// Its request failed after the client's retries.
    #[error("its request failed: {message}")]
    RequestFailed {
        /// The failure's kind ([`ErrorKind::RateLimited`] and [`ErrorKind::Unavailable`] may
        /// pass if the item is sent again).
        kind: ErrorKind,
        /// The error, as text.
        message: String,
    },
    /// It was not sent because an earlier request failed in a way every request would (bad
    /// credentials, a missing namespace).
    #[error("not sent: {message}")]
    NotSent {
        /// The earlier request's error, as text.
        message: String,
    },
}

/// The running totals of a bulk call, and everything its final error lists.
pub(crate) struct Tally<'a> {
    on_progress: Option<OnProgress<'a>>,
    progress: BulkProgress,
    pub(crate) failed_keys: Vec<String>,
    pub(crate) refused_keys: Vec<String>,
    pub(crate) errors: Vec<Error>,
    /// The error that stopped the call, as text, once a request failed for every request.
    pub(crate) stopped: Option<String>,
}

impl fmt::Debug for Tally<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tally")
            .field("progress", &self.progress)
            .finish_non_exhaustive()
    }
}

/// What became of one chunk.
pub(crate) enum Outcome {
    /// Answered: `done` items succeeded, `refused` keys were listed as not done.
    Answered { done: u64, refused: Vec<String> },
    /// The request failed after its retries.
    Failed(Error),
    /// Not sent: the call had stopped, or the chunk held only invalid items.
    NotSent,
}

impl<'a> Tally<'a> {
    pub(crate) fn new(on_progress: Option<OnProgress<'a>>) -> Tally<'a> {
        Tally {
            on_progress,
            progress: BulkProgress::default(),
            failed_keys: Vec::new(),
            refused_keys: Vec::new(),
            errors: Vec::new(),
            stopped: None,
        }
    }

    /// Items done so far.
    pub(crate) fn done(&self) -> u64 {
        self.progress.items_done
    }

    /// Requests made so far.
    pub(crate) fn requests(&self) -> u32 {
        self.progress.requests
    }

    /// Whether nothing failed.
    pub(crate) fn is_clean(&self) -> bool {
        self.failed_keys.is_empty() && self.errors.is_empty()
    }

    /// The answer of the call: a report when every item succeeded, else
    /// [`Error::BulkIncomplete`] listing every key that failed.
    pub(crate) fn finish(self, ctx: &Context) -> Result<BulkReport, Error> {
        if self.is_clean() {
            return Ok(BulkReport {
                succeeded: self.done(),
                requests: self.requests(),
            });
        }
        tracing::warn!(failed = self.failed_keys.len(), "bulk operation incomplete");
        Err(Error::BulkIncomplete {
            ctx: ctx.boxed(),
            succeeded: self.done(),
            failed_keys: self.failed_keys,
            refused_keys: self.refused_keys,
            errors: self.errors,
        })
    }

    /// Counts one chunk's outcome and reports the progress.
    pub(crate) fn record(&mut self, ctx: &Context, chunk: Chunk, outcome: Outcome) {
        let mut failures = Vec::new();
        for invalid in chunk.invalid {
            let reason = match invalid.error.validation_error() {
                Some(rule) => BulkFailureReason::Invalid(rule.clone()),
                None => BulkFailureReason::RequestFailed {
                    kind: classify::kind(&invalid.error),
                    message: invalid.error.to_string(),
                },
            };
            failures.push(BulkFailure {
                index: invalid.index,
                key: invalid.key.clone(),
                reason,
            });
            self.failed_keys.push(invalid.key);
            self.errors.push(invalid.error);
        }
        let sent = !chunk.keys.is_empty() && !matches!(outcome, Outcome::NotSent);
        if sent {
            self.progress.requests += 1;
        }
        let bytes = chunk.body.len() as u64;
        let done_before = self.progress.items_done;
        let every = |reason: BulkFailureReason| {
            chunk
                .keys
                .iter()
                .zip(&chunk.indexes)
                .map(move |(key, index)| BulkFailure {
                    index: *index,
                    key: key.clone(),
                    reason: reason.clone(),
                })
        };
        match outcome {
            Outcome::Answered { done, refused } => {
                self.progress.items_done += done;
                self.progress.bytes_done += bytes;
                if !refused.is_empty() {
                    let refused_set: HashSet<&str> = refused.iter().map(String::as_str).collect();
                    for (key, index) in chunk.keys.iter().zip(&chunk.indexes) {
                        if refused_set.contains(key.as_str()) {
                            failures.push(BulkFailure {
                                index: *index,
                                key: key.clone(),
                                reason: BulkFailureReason::Refused,
                            });
                        }
                    }
                    self.failed_keys.extend(refused.iter().cloned());
                    self.refused_keys.extend(refused);
                }
            }
            Outcome::Failed(error) => {
                let reason = BulkFailureReason::RequestFailed {
                    kind: classify::kind(&error),
                    message: error.to_string(),
                };
                failures.extend(every(reason));
                self.progress.bytes_failed += bytes;
                self.failed_keys.extend(chunk.keys.iter().cloned());
                if fails_everything(&error) && self.stopped.is_none() {
                    self.stopped = Some(error.to_string());
                }
                self.errors.push(error);
            }
            Outcome::NotSent => {
                if !chunk.keys.is_empty() {
                    let message = self.stopped.clone().unwrap_or_default();
                    failures.extend(every(BulkFailureReason::NotSent { message }));
                    self.progress.bytes_failed += bytes;
                    self.failed_keys.extend(chunk.keys.iter().cloned());
                }
            }
        }
        self.progress.items_failed += failures.len() as u64;
        self.progress.chunk_items_done = self.progress.items_done - done_before;
        self.progress.chunk_items_failed = failures.len() as u64;
        self.progress.chunk_bytes = bytes;
        self.progress.failures = failures;
        tracing::debug!(
            done = self.progress.items_done,
            failed = self.progress.items_failed,
            requests = self.progress.requests,
            op = ctx.operation().as_str(),
            "bulk progress"
        );
        if let Some(f) = &mut self.on_progress {
            f(&self.progress);
        }
    }
}

/// Whether an error makes every further request of the same bulk call pointless.
pub(crate) fn fails_everything(e: &Error) -> bool {
    matches!(
        classify::kind(e),
        ErrorKind::Unauthorized | ErrorKind::NotFound
    )
}
