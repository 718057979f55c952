//! [`Replication`]: the global order of writes and the queue of deliveries between locations.
//!
//! One mutex guards the whole of it (versions issued, the random source, partitions, the queue),
//! and a write is versioned, applied at its location and queued under it, so the order of the
//! versions is the order in which the replicas see local writes. Deliveries are applied under it
//! too: once [`deliver_due`](Replication::deliver_due) returns, everything due is visible.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::replica::{ReplicaSet, Versioned};
use super::{Locations, PendingKind, PendingWrite, PropagationDelay, Version};
use crate::clock::Clock;
use crate::engine::storage::{StorageError, Write};

/// The locations of an engine and the writes travelling between them.
pub(crate) struct Replication {
    names: Vec<String>,
    seed: u64,
    clock: Clock,
    state: Mutex<State>,
}

/// What the mutex guards.
struct State {
    /// The last version issued.
    last: Version,
    rng: StdRng,
    delay: PropagationDelay,
    partitioned: Vec<bool>,
    /// Deliveries not yet due, or due and not yet taken, soonest first.
    queue: BinaryHeap<Reverse<Delivery>>,
    /// Deliveries that came due while a partition cut their way.
    held: Vec<Delivery>,
}

/// The writes of one request (a put, a delete, a bulk write), on their way to one location.
struct Delivery {
    due_ms: u64,
    /// The version of the first write: orders deliveries due at the same time.
    first: Version,
    from: usize,
    to: usize,
    /// The namespace; gone when it was deleted meanwhile.
    set: Weak<ReplicaSet>,
    writes: Arc<[Versioned]>,
}

impl Delivery {
    fn order(&self) -> (u64, Version, usize) {
        (self.due_ms, self.first, self.to)
    }
}

impl PartialEq for Delivery {
    fn eq(&self, other: &Self) -> bool {
        self.order() == other.order()
    }
}

impl Eq for Delivery {}

impl PartialOrd for Delivery {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Delivery {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order().cmp(&other.order())
    }
}

impl Replication {
    pub(crate) fn new(clock: Clock, locations: Locations) -> Replication {
        let Locations { names, delay, seed } = locations;
        let partitioned = vec![false; names.len()];
        Replication {
            names,
            seed,
            clock,
            state: Mutex::new(State {
                last: Version { at_ms: 0, seq: 0 },
                rng: StdRng::seed_from_u64(seed),
                delay,
                partitioned,
                queue: BinaryHeap::new(),
                held: Vec::new(),
            }),
        }
    }

    pub(crate) fn names(&self) -> &[String] {
        &self.names
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Delivers what is due now.
    pub(crate) fn deliver_due(&self) {
        let mut state = self.lock();
        state.deliver(self.clock.now_millis(), false);
    }

    /// Writes `batch` at location `at` of `set`: versions it, applies it there and queues it for
    /// every other location, after delivering what is due (so the new write is the newest
    /// everywhere it lands).
    pub(crate) fn write(
        &self,
        set: &Arc<ReplicaSet>,
        at: usize,
        batch: Vec<Write>,
    ) -> Result<(), StorageError> {
        let mut state = self.lock();
        let now_ms = self.clock.now_millis();
        state.deliver(now_ms, false);
        let at_ms = now_ms.max(state.last.at_ms);
        let writes: Arc<[Versioned]> = batch
            .into_iter()
            .map(|write| {
                state.last = Version {
                    at_ms,
                    seq: state.last.seq + 1,
                };
                Versioned {
                    version: state.last,
                    write,
                }
            })
            .collect();
        let Some(first) = writes.first().map(|w| w.version) else {
            return Ok(());
        };
        set.apply(at, &writes, now_ms / 1000)?;
        for to in (0..self.names.len()).filter(|&to| to != at) {
            let delay = state.draw_delay();
            state.queue.push(Reverse(Delivery {
                due_ms: at_ms.saturating_add(delay),
                first,
                from: at,
                to,
                set: Arc::downgrade(set),
                writes: Arc::clone(&writes),
            }));
        }
        Ok(())
    }

    /// Delivers everything pending now, except what a partition holds back.
    pub(crate) fn settle(&self) {
        let mut state = self.lock();
        state.deliver(self.clock.now_millis(), true);
    }

    /// Partitions location `at` (or heals it), then delivers what is due.
    pub(crate) fn set_partitioned(&self, at: usize, partitioned: bool) {
        let mut state = self.lock();
        if let Some(p) = state.partitioned.get_mut(at) {
            *p = partitioned;
        }
        if !partitioned {
            let held = std::mem::take(&mut state.held);
            state.queue.extend(held.into_iter().map(Reverse));
        }
        state.deliver(self.clock.now_millis(), false);
    }

    /// Which locations are partitioned, in order.
    pub(crate) fn partitioned(&self) -> Vec<bool> {
        self.lock().partitioned.clone()
    }

    /// Drops every delivery to or from namespace `set` and runs `then` (which clears or drops
    /// its replicas) with nothing delivered in between.
    pub(crate) fn forget(&self, set: &ReplicaSet, then: impl FnOnce()) {
        let mut state = self.lock();
        let other = |d: &Delivery| !std::ptr::eq(d.set.as_ptr(), set);
        state.queue.retain(|Reverse(d)| other(d));
        state.held.retain(other);
        then();
    }

    /// Every write on its way (after delivering what is due), soonest due first.
    pub(crate) fn pending(&self) -> Vec<PendingWrite> {
        let mut state = self.lock();
        state.deliver(self.clock.now_millis(), false);
        let mut deliveries: Vec<(&Delivery, bool)> = state
            .queue
            .iter()
            .map(|Reverse(d)| (d, false))
            .chain(state.held.iter().map(|d| (d, true)))
            .collect();
        deliveries.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = Vec::new();
        for (d, held) in deliveries {
            let Some(set) = d.set.upgrade() else { continue };
            for w in d.writes.iter() {
                let (key, kind) = match &w.write {
                    Write::Put { key, .. } => (key, PendingKind::Put),
                    Write::Delete { key } => (key, PendingKind::Delete),
                };
                out.push(PendingWrite {
                    namespace: set.id().to_owned(),
                    key: key.clone(),
                    kind,
                    from: self.names[d.from].clone(),
                    to: self.names[d.to].clone(),
                    due_ms: d.due_ms,
                    held,
                });
            }
        }
        out
    }
}

impl State {
    /// One delay, in milliseconds.
    fn draw_delay(&mut self) -> u64 {
        let range = self.delay.range_ms.clone();
        if range.start() == range.end() {
            *range.start()
        } else {
            self.rng.random_range(range)
        }
    }

    /// Delivers every delivery due at `now_ms` (every one, when `all`), in order, except those
    /// a partition cuts, which are held until healed.
    fn deliver(&mut self, now_ms: u64, all: bool) {
        while let Some(Reverse(next)) = self.queue.peek() {
            if !all && next.due_ms > now_ms {
                break;
            }
            let Some(Reverse(d)) = self.queue.pop() else {
                break;
            };
            if self.partitioned[d.from] || self.partitioned[d.to] {
                self.held.push(d);
                continue;
            }
            if let Some(set) = d.set.upgrade() {
                // A namespace deleted meanwhile has nowhere to put it.
                let _ = set.apply(d.to, &d.writes, now_ms / 1000);
            }
        }
    }
}
