//! A [`KvMock`] with locations: each location serves the whole API (the same
//! [`router`](crate::router), with the location in its state) on a port of its own, and writes
//! propagate between them as the engine's [`locations`](crate::engine::locations) say. The
//! builder's location options, the [`MockLocation`]s and the mock's controls over propagation.

use std::net::SocketAddr;

use tokio::net::TcpListener;

use super::{KvMock, MockBuilder, bind_addr};
use crate::engine::{Engine, LocationStatus, Locations, NamespaceHandle, PropagationDelay};
use crate::error::{EngineError, MockError};
use crate::http::{BASE_PATH, ServedLocation};

/// The locations a builder was asked for.
#[derive(Debug, Clone, Default)]
pub(super) struct LocationPlan {
    names: Vec<String>,
    delay: Option<PropagationDelay>,
    seed: Option<u64>,
}

impl LocationPlan {
    /// The engine's locations, `None` when none was asked for. Locations keep their replicas in
    /// memory, so a persistent mock with locations is refused.
    pub(super) fn locations(&self, persist: bool) -> Result<Option<Locations>, MockError> {
        let Some(first) = self.names.first() else {
            return Ok(None);
        };
        if persist {
            return Err(MockError::Locations(EngineError::InvalidLocation {
                name: first.clone(),
                reason: "locations keep their replicas in memory: persistence (--persist) \
                         works only without locations",
            }));
        }
        let mut locations = Locations::new(self.names.iter().cloned());
        if let Some(delay) = &self.delay {
            locations = locations.delay(delay.clone());
        }
        if let Some(seed) = self.seed {
            locations = locations.seed(seed);
        }
        Ok(Some(locations))
    }
}

impl MockBuilder {
    /// Serves these locations, each on its own port, the first the default (the one
    /// [`KvMock::base_url`] names): a write made at one reaches the others after a
    /// [propagation delay](Self::propagation_delay). The other locations listen on the next
    /// ports after [`listen`](Self::listen)'s (or free ones when it is port 0). Without
    /// locations the mock is one strongly consistent location. Names are 1 to 32 characters of
    /// `a-z`, `0-9`, `-` or `_`, no two the same.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use kv_mock::{KvMock, PropagationDelay};
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = KvMock::builder()
    ///     .locations(["iad", "fra", "sin"])
    ///     .propagation_delay(PropagationDelay::fixed(Duration::from_secs(10)))
    ///     .propagation_seed(7)
    ///     .start()
    ///     .await?;
    /// println!("fra serves {}", mock.location("fra")?.base_url());
    /// mock.settle();
    /// # Ok(())
    /// # }
    /// ```
    pub fn locations<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.locations.names = names.into_iter().map(Into::into).collect();
        self
    }

    /// How long a write takes to reach each other location, on the mock's clock (default: drawn
    /// uniformly from 0 to 60 s per write and location).
    pub fn propagation_delay(mut self, delay: PropagationDelay) -> Self {
        self.locations.delay = Some(delay);
        self
    }

    /// The seed of the random propagation delays, so a run can be repeated (default: a random
    /// one, which [`KvMock::propagation_seed`] tells).
    pub fn propagation_seed(mut self, seed: u64) -> Self {
        self.locations.seed = Some(seed);
        self
    }
}

/// Binds a socket for every location after the first (which listens on `listen`): on the next
/// ports, or on free ones when `listen` is port 0.
pub(super) async fn bind_others(
    engine: &Engine,
    listen: SocketAddr,
) -> Result<Vec<(TcpListener, SocketAddr)>, MockError> {
    let mut out = Vec::new();
    for i in 1..engine.location_names().len() {
        let port = match listen.port() {
            0 => Some(0),
            p => u16::try_from(i).ok().and_then(|i| p.checked_add(i)),
        };
        let addr = SocketAddr::new(listen.ip(), port.unwrap_or(0));
        if port.is_none() {
            return Err(MockError::Bind {
                addr,
                source: std::io::Error::other("no port left after the first location's"),
            });
        }
        out.push(bind_addr(addr).await?);
    }
    Ok(out)
}

/// Each location of `engine` with where it is served: the first at `first`, the others at
/// `others`.
pub(super) fn served(
    engine: &Engine,
    first: SocketAddr,
    others: &[SocketAddr],
) -> Vec<MockLocation> {
    engine
        .location_names()
        .iter()
        .zip(std::iter::once(&first).chain(others))
        .map(|(name, addr)| MockLocation {
            name: name.clone(),
            addr: *addr,
            base_url: format!("http://{addr}{BASE_PATH}"),
        })
        .collect()
}

/// One location of a [`KvMock`]: its name and where it serves the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockLocation {
    name: String,
    addr: SocketAddr,
    base_url: String,
}

impl MockLocation {
    /// The location's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its base URL, `http://127.0.0.1:PORT/client/v4` (no trailing slash): a client pointed
    /// here reads and writes at this location.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub(super) fn served(&self) -> ServedLocation {
        ServedLocation {
            name: self.name.clone(),
            base_url: self.base_url.clone(),
        }
    }
}

impl KvMock {
    /// The locations served, the default first; empty without locations.
    pub fn locations(&self) -> &[MockLocation] {
        &self.locations
    }

    /// Location `name`, or [`EngineError::UnknownLocation`].
    pub fn location(&self, name: &str) -> Result<&MockLocation, EngineError> {
        self.locations
            .iter()
            .find(|l| l.name == name)
            .ok_or_else(|| EngineError::UnknownLocation {
                name: name.to_owned(),
            })
    }

    /// The default namespace as location `name` sees it, as a
    /// [`KvStore`](kv_types::KvStore): `None` for an unknown location or a deleted namespace.
    pub fn store_at(&self, name: &str) -> Option<NamespaceHandle> {
        self.engine().namespace_at(self.namespace_id(), name)
    }

    /// Delivers every pending write now (except what a partition holds back), so a test can
    /// assert the converged state.
    pub fn settle(&self) {
        self.engine().settle();
    }

    /// Cuts location `name` off: nothing propagates to or from it until [`heal`](Self::heal).
    pub fn partition(&self, name: &str) -> Result<(), EngineError> {
        self.engine().partition(name)
    }

    /// Ends the partition of location `name`: what it held back and is due is delivered.
    pub fn heal(&self, name: &str) -> Result<(), EngineError> {
        self.engine().heal(name)
    }

    /// Ends every partition.
    pub fn heal_all(&self) {
        self.engine().heal_all();
    }

    /// Each location with whether it is partitioned and the writes on their way to it.
    pub fn location_status(&self) -> Vec<LocationStatus> {
        self.engine().location_status()
    }

    /// The seed of the random propagation delays (`None` without locations).
    pub fn propagation_seed(&self) -> Option<u64> {
        self.engine().propagation_seed()
    }
}
