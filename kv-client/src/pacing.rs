//! Per-key write pacing and coalescing ([`ClientBuilder::write_pacing`](crate::ClientBuilder::write_pacing)):
//! per key at most one write in flight and at most one a second (the service's limit, from
//! [`kv_types::limits::WRITES_PER_KEY_PER_SECOND`]), and writes that arrive while the key waits
//! merged so that only the latest is sent.
//!
//! Each key being written has a [`Slot`] in one table: the write waiting to go (with every call
//! merged into it) and nothing else. The first write of a key starts a driver task for it, which
//! sends the waiting write, hands its result to every call it carried, waits out the key's
//! window (one second after the write's answer, so two writes never arrive less than a second
//! apart), and then sends the next waiting write or, when none came, removes the slot. So the
//! table holds only keys written in the last second, a key holds at most two values (the one in
//! flight and the latest waiting), a superseded value is dropped as soon as a later one arrives
//! (a one-shot stream unread), and keys never wait for each other.
//!
//! Last write wins exactly: a call's value is replaced only by a later call's, a waiting write
//! is sent after the one in flight has been answered, and a call gets `Ok` only when the write
//! carrying its value or a later one was acknowledged. When that write fails, every call it
//! carried gets the error ([`Error::Merged`] when it carried more than one).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kv_types::limits::WRITES_PER_KEY_PER_SECOND;
use tokio::sync::oneshot;
use tracing::Instrument;

use crate::client::Client;
use crate::error::{Context, Error};
use crate::put::BoxFuture;

/// The time a key stays closed after a write is answered.
pub(crate) fn window() -> Duration {
    Duration::from_secs(1) / WRITES_PER_KEY_PER_SECOND.max(1)
}

/// A write ready to be sent: validated, owning its value.
pub(crate) type Send = Box<dyn FnOnce() -> BoxFuture<Result<(), Error>> + std::marker::Send>;

/// Which key: namespace id and key name.
type KeyId = (Arc<str>, String);

/// A call waiting for the write that carries it.
struct Waiter {
    ctx: Context,
    answer: oneshot::Sender<Result<(), Error>>,
}

/// The write waiting to go for one key, and the calls merged into it.
struct Waiting {
    send: Send,
    span: tracing::Span,
    waiters: Vec<Waiter>,
}

/// One key being written: what waits to go (nothing while the driver sends or waits out the
/// window with no newer write).
#[derive(Default)]
struct Slot {
    waiting: Option<Waiting>,
}

/// The pacing state of one client.
#[derive(Default)]
pub(crate) struct WritePacer {
    slots: Mutex<HashMap<KeyId, Slot>>,
}

impl std::fmt::Debug for WritePacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WritePacer")
            .field("keys", &self.lock().len())
            .finish()
    }
}

impl WritePacer {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<KeyId, Slot>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keys with a write in flight, waiting, or inside their window.
    pub(crate) fn busy_keys(&self) -> usize {
        self.lock().len()
    }
}

/// Sends `send` for `ctx`'s key through the client's pacer: at once when the key is free, else
/// after the write ahead of it and the key's window, merged with any later write of the key
/// (which then carries this call). The client must have pacing on.
pub(crate) async fn paced(client: &Client, ctx: &Context, send: Send) -> Result<(), Error> {
    let inner = client.inner();
    let Some(pacer) = inner.pacer.as_ref() else {
        return send().await;
    };
    let id: KeyId = (
        Arc::from(ctx.namespace().unwrap_or_default()),
        ctx.key().unwrap_or_default().to_owned(),
    );
    let (answer, answered) = oneshot::channel();
    let waiter = Waiter {
        ctx: ctx.clone(),
        answer,
    };
    let start = {
        let mut slots = pacer.lock();
        match slots.entry(id.clone()) {
            Entry::Occupied(mut slot) => {
                let slot = slot.get_mut();
                match slot.waiting.as_mut() {
                    Some(waiting) => {
                        // Superseded: the earlier value is dropped here, its callers ride along.
                        waiting.send = send;
                        waiting.span = tracing::Span::current();
                        waiting.waiters.push(waiter);
                        tracing::debug!(merged = waiting.waiters.len(), "write merged");
                    }
                    None => {
                        slot.waiting = Some(Waiting {
                            send,
                            span: tracing::Span::current(),
                            waiters: vec![waiter],
                        });
                    }
                }
                false
            }
            Entry::Vacant(slot) => {
                slot.insert(Slot {
                    waiting: Some(Waiting {
                        send,
                        span: tracing::Span::current(),
                        waiters: vec![waiter],
                    }),
                });
                true
            }
        }
    };
    if start {
        tokio::spawn(drive(client.clone(), id));
    }
    answered.await.unwrap_or_else(|_| {
        Err(Error::Config {
            reason: "write pacing: the task sending this key's writes stopped (the runtime is \
                     shutting down)"
                .into(),
        })
    })
}

/// The driver of one key: sends what waits, answers its callers, waits out the window, until
/// nothing waits.
async fn drive(client: Client, id: KeyId) {
    let inner = client.inner();
    let Some(pacer) = inner.pacer.as_ref() else {
        return;
    };
    loop {
        let next = {
            let mut slots = pacer.lock();
            let taken = slots.get_mut(&id).and_then(|slot| slot.waiting.take());
            if taken.is_none() {
                slots.remove(&id);
            }
            taken
        };
        let Some(Waiting {
            send,
            span,
            waiters,
        }) = next
        else {
            return;
        };
        let result = send().instrument(span).await;
        answer(waiters, result);
        inner.sleeper.sleep(window()).await;
    }
}

/// Hands the result of a write to every call it carried.
fn answer(mut waiters: Vec<Waiter>, result: Result<(), Error>) {
    if waiters.len() == 1
        && let Some(only) = waiters.pop()
    {
        let _ = only.answer.send(result);
        return;
    }
    match result {
        Ok(()) => {
            for w in waiters {
                let _ = w.answer.send(Ok(()));
            }
        }
        Err(error) => {
            let shared = Arc::new(error);
            for w in waiters {
                let mut merged = Error::Merged {
                    ctx: Box::new(w.ctx),
                    source: Arc::clone(&shared),
                };
                if let Some(attempts) = shared.attempts() {
                    merged.set_attempts(*attempts);
                }
                let _ = w.answer.send(Err(merged));
            }
        }
    }
}
