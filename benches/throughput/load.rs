//! The load: a fixed number of operations kept `concurrency` at a time in flight (closed loop),
//! on the calling runtime, timed from first to last.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;

use crate::contenders::Contender;

/// The operation measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// A put of a 1 KiB value.
    Put,
    /// A get of a 1 KiB value.
    Get,
}

impl Op {
    /// Its name in reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
        }
    }
}

/// Runs `ops` operations, `concurrency` in flight, starting at key number `first`. Returns the
/// wall time, or the first error.
pub(crate) async fn run(
    contender: &Contender,
    op: Op,
    ops: usize,
    concurrency: usize,
    first: usize,
    value: &Bytes,
) -> Result<Duration, String> {
    let start = Instant::now();
    let mut results = futures_util::stream::iter(first..first + ops)
        .map(|i| async move {
            match op {
                Op::Put => contender.put(i, value).await,
                Op::Get => contender.get(i).await,
            }
        })
        .buffer_unordered(concurrency);
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(start.elapsed())
}
