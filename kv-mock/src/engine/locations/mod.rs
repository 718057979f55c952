//! Locations: several replicas of every namespace, with writes propagating between them after a
//! delay on the mock's clock, so a suite can catch code that assumes fresh reads.
//!
//! An engine made with [`Engine::with_locations`] keeps one replica of each namespace per
//! location ([`replica`]); every handle reads and writes one of them. A write is applied at once
//! at its location and queued for each other one ([`propagation`]), due after a delay drawn from
//! a seeded random source (or fixed). Every write gets a [`Version`] on one global order (the
//! write's time on the mock's clock in milliseconds, never going back, then a sequence number),
//! and a replica applies a write only when it is newer than what it holds for that key (deletes
//! leave a tombstone version): last write wins, the same winner everywhere, and a replica never
//! goes back to an older write (monotonic reads).
//!
//! What is due is delivered on every access to a location view (and by
//! [`Engine::pending_writes`]), so moving the clock is enough; [`Engine::settle`] delivers
//! everything at once. A partitioned location neither sends nor receives until healed.
//! Namespace management (create, rename, delete, reset) is global and immediate, and the per-key
//! write limit is the namespace's, shared by every location.
//!
//! With no location configured none of this exists: the engine's single storage is used as is.

mod propagation;
mod replica;

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

use super::{Engine, EngineConfig, NamespaceHandle};
use crate::error::EngineError;

pub(crate) use propagation::Replication;
pub(crate) use replica::ReplicaSet;

/// A write's place in the one global order every location agrees on: its time on the mock's
/// clock (milliseconds, never going back), then the order in which the mock received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version {
    at_ms: u64,
    seq: u64,
}

/// How long a write takes to reach each other location, on the mock's clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropagationDelay {
    /// Shortest and longest delay, in milliseconds; drawn uniformly per write and location.
    range_ms: RangeInclusive<u64>,
}

impl PropagationDelay {
    /// The production bound: anywhere from 0 to 60 seconds.
    pub const PRODUCTION_MAX: Duration = Duration::from_secs(60);

    /// Always exactly `delay`.
    pub fn fixed(delay: Duration) -> PropagationDelay {
        PropagationDelay::between(delay, delay)
    }

    /// Drawn uniformly from `min` to `max` (swapped when given the other way round), in
    /// milliseconds.
    pub fn between(min: Duration, max: Duration) -> PropagationDelay {
        let (min, max) = (millis(min), millis(max));
        PropagationDelay {
            range_ms: min.min(max)..=min.max(max),
        }
    }

    /// The shortest delay.
    pub fn min(&self) -> Duration {
        Duration::from_millis(*self.range_ms.start())
    }

    /// The longest delay.
    pub fn max(&self) -> Duration {
        Duration::from_millis(*self.range_ms.end())
    }
}

impl Default for PropagationDelay {
    /// 0 to 60 seconds, as in production.
    fn default() -> Self {
        PropagationDelay::between(Duration::ZERO, PropagationDelay::PRODUCTION_MAX)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The locations of an engine and how writes travel between them.
///
/// ```
/// use std::time::Duration;
/// use kv_mock::{Engine, EngineConfig, Locations, PropagationDelay};
///
/// let locations = Locations::new(["iad", "fra"])
///     .delay(PropagationDelay::fixed(Duration::from_secs(10)))
///     .seed(7);
/// let engine = Engine::with_locations(EngineConfig::default(), locations).expect("valid names");
/// assert_eq!(engine.location_names(), ["iad", "fra"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    names: Vec<String>,
    delay: PropagationDelay,
    seed: u64,
}

impl Locations {
    /// These locations, the first the default; the delay is [`PropagationDelay::default`] and
    /// the seed a random one (see [`seed`](Self::seed)).
    pub fn new<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Locations {
        Locations {
            names: names.into_iter().map(Into::into).collect(),
            delay: PropagationDelay::default(),
            seed: rand::random(),
        }
    }

    /// How long writes take to reach the other locations.
    pub fn delay(mut self, delay: PropagationDelay) -> Locations {
        self.delay = delay;
        self
    }

    /// The seed of the random delays, so a failing run can be repeated.
    pub fn seed(mut self, seed: u64) -> Locations {
        self.seed = seed;
        self
    }

    /// The location names, the default first.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The seed of the random delays.
    pub fn seed_value(&self) -> u64 {
        self.seed
    }

    /// The delay.
    pub fn delay_value(&self) -> &PropagationDelay {
        &self.delay
    }

    /// Checks the names: at least one, each 1 to 32 characters of `a-z`, `0-9`, `-` or `_`, no
    /// two the same.
    fn check(&self) -> Result<(), EngineError> {
        if self.names.is_empty() {
            return Err(EngineError::InvalidLocation {
                name: String::new(),
                reason: "at least one location is needed",
            });
        }
        for (i, name) in self.names.iter().enumerate() {
            let valid = (1..=32).contains(&name.len())
                && name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                return Err(EngineError::InvalidLocation {
                    name: name.clone(),
                    reason: "a location name is 1 to 32 characters of a-z, 0-9, '-' or '_'",
                });
            }
            if self.names[..i].contains(name) {
                return Err(EngineError::InvalidLocation {
                    name: name.clone(),
                    reason: "location names must be unique",
                });
            }
        }
        Ok(())
    }
}

/// Whether a pending write stores or removes its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PendingKind {
    /// A put (or an item of a bulk write).
    Put,
    /// A delete (or an item of a bulk delete).
    Delete,
}

/// A write on its way to a location, from [`Engine::pending_writes`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PendingWrite {
    /// The namespace id.
    pub namespace: String,
    /// The key.
    pub key: String,
    /// Put or delete.
    pub kind: PendingKind,
    /// Where it was written.
    pub from: String,
    /// Where it is going.
    pub to: String,
    /// When it is due, in milliseconds since the epoch on the mock's clock.
    pub due_ms: u64,
    /// Whether a partition holds it back (it is delivered once healed).
    pub held: bool,
}

/// One location, from [`Engine::location_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LocationStatus {
    /// The location's name.
    pub name: String,
    /// Whether it is cut off by a partition.
    pub partitioned: bool,
    /// The writes on their way to it, soonest due first.
    pub pending: Vec<PendingWrite>,
}

impl Engine {
    /// An engine with several locations, keeping every replica in memory: each namespace exists
    /// at every location, and a write made at one reaches the others after a delay on the
    /// clock (see the [module](self)). An invalid or repeated location name is
    /// [`EngineError::InvalidLocation`].
    pub fn with_locations(
        config: EngineConfig,
        locations: Locations,
    ) -> Result<Engine, EngineError> {
        locations.check()?;
        let replication = Replication::new(config.clock.clone(), locations);
        Ok(Engine::build(
            config,
            Box::new(super::memory::MemoryStorage),
            Some(Arc::new(replication)),
        ))
    }

    /// The replication, when the engine has locations.
    fn replication(&self) -> Option<&Arc<Replication>> {
        self.shared.locations.as_ref()
    }

    /// The location names, the default first; empty for an engine without locations.
    pub fn location_names(&self) -> &[String] {
        self.replication().map_or(&[], |r| r.names())
    }

    /// The index of location `name`.
    fn location_index(&self, name: &str) -> Result<usize, EngineError> {
        self.location_names()
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| EngineError::UnknownLocation {
                name: name.to_owned(),
            })
    }

    /// The seed of the random propagation delays (`None` without locations).
    pub fn propagation_seed(&self) -> Option<u64> {
        self.replication().map(|r| r.seed())
    }

    /// A handle to namespace `id` as location `location` sees it, which implements
    /// [`KvStore`](kv_types::KvStore): it reads that location's replica and its writes start
    /// there. `None` when the namespace or the location does not exist.
    pub fn namespace_at(&self, id: &str, location: &str) -> Option<NamespaceHandle> {
        let at = self.location_index(location).ok()?;
        self.namespace_at_index(id, at)
    }

    /// [`namespace_at`](Self::namespace_at) by the location's index (0 is the default).
    pub(crate) fn namespace_at_index(&self, id: &str, at: usize) -> Option<NamespaceHandle> {
        let mut handle = self.namespace(id)?;
        (at == 0 || at < self.location_names().len()).then(|| {
            handle.location = at;
            handle
        })
    }

    /// Delivers every pending write now, except those a partition holds back.
    pub fn settle(&self) {
        if let Some(r) = self.replication() {
            r.settle();
        }
    }

    /// Cuts location `name` off: nothing propagates to or from it until [`heal`](Self::heal).
    pub fn partition(&self, name: &str) -> Result<(), EngineError> {
        let at = self.location_index(name)?;
        if let Some(r) = self.replication() {
            r.set_partitioned(at, true);
        }
        Ok(())
    }

    /// Ends the partition of location `name`: what was held back and is due is delivered.
    pub fn heal(&self, name: &str) -> Result<(), EngineError> {
        let at = self.location_index(name)?;
        if let Some(r) = self.replication() {
            r.set_partitioned(at, false);
        }
        Ok(())
    }

    /// Ends every partition.
    pub fn heal_all(&self) {
        if let Some(r) = self.replication() {
            for at in 0..r.names().len() {
                r.set_partitioned(at, false);
            }
        }
    }

    /// Every write still on its way, soonest due first (what is due is delivered first).
    pub fn pending_writes(&self) -> Vec<PendingWrite> {
        self.replication().map_or_else(Vec::new, |r| r.pending())
    }

    /// Each location with whether it is partitioned and the writes on their way to it; empty for
    /// an engine without locations.
    pub fn location_status(&self) -> Vec<LocationStatus> {
        let Some(r) = self.replication() else {
            return Vec::new();
        };
        let pending = r.pending();
        let partitioned = r.partitioned();
        r.names()
            .iter()
            .zip(partitioned)
            .map(|(name, partitioned)| LocationStatus {
                name: name.clone(),
                partitioned,
                pending: pending.iter().filter(|p| &p.to == name).cloned().collect(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
