//! The log of the requests a mock received: method, path, key and status.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// The most records kept; older ones are dropped first.
const MAX_RECORDS: usize = 100_000;

/// One request the mock received (control endpoints under `/__mock/` are not logged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// The method, e.g. `PUT`.
    pub method: String,
    /// The raw path, without the query.
    pub path: String,
    /// The decoded key, for value and metadata routes.
    pub key: Option<String>,
    /// The status answered; `0` when the connection was reset with no response.
    pub status: u16,
}

/// The records, oldest first, at most [`MAX_RECORDS`].
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    records: Mutex<VecDeque<RequestRecord>>,
}

impl RequestLog {
    /// Appends a record, dropping the oldest beyond the cap.
    pub(crate) fn record(&self, record: RequestRecord) {
        let mut records = self.lock();
        if records.len() >= MAX_RECORDS {
            records.pop_front();
        }
        records.push_back(record);
    }

    /// Every record, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<RequestRecord> {
        self.lock().iter().cloned().collect()
    }

    /// Forgets every record.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<RequestRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_is_bounded() {
        let log = RequestLog::default();
        for i in 0..(MAX_RECORDS + 5) {
            log.record(RequestRecord {
                method: "GET".into(),
                path: format!("/{i}"),
                key: None,
                status: 200,
            });
        }
        let all = log.snapshot();
        assert_eq!(all.len(), MAX_RECORDS);
        assert_eq!(all[0].path, "/5");
        log.clear();
        assert!(log.snapshot().is_empty());
    }
}
