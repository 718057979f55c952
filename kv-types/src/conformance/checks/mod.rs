//! The checks, one file per family of behaviour, and the few store calls they share.

pub(crate) mod expiry;
pub(crate) mod limits;
pub(crate) mod list;
pub(crate) mod values;
pub(crate) mod writes;

use crate::key::Key;
use crate::list::{KeyInfo, ListPage};
use crate::options::{ListOptions, PutOptions};
use crate::store::KvStore;
use crate::value::Value;

use super::report::{Context, Failure, ensure};

/// Most pages the suite follows before calling a list endless.
const MAX_PAGES: usize = 1000;

/// Writes `value` under `key`, failing the check on an error.
pub(crate) async fn put<S: KvStore>(
    store: &S,
    key: &Key,
    value: impl Into<Value>,
    options: PutOptions,
) -> Result<(), Failure> {
    store
        .put(key, value.into(), options)
        .await
        .ctx(format_args!("put {key:?}"))
}

/// Every key under `prefix`, following the cursor page by page at `limit` (the store's default
/// when `None`); also checks that each page but the last has a cursor and is not `complete`.
pub(crate) async fn list_all<S: KvStore>(
    store: &S,
    prefix: &str,
    limit: Option<u32>,
) -> Result<(Vec<KeyInfo>, usize), Failure> {
    let mut keys = Vec::new();
    let mut options = ListOptions::new().prefix(prefix);
    options.limit = limit;
    for pages in 1..=MAX_PAGES {
        let page: ListPage = store
            .list(options.clone())
            .await
            .ctx(format_args!("list {options:?}"))?;
        if let Some(limit) = limit {
            ensure!(
                page.keys.len() <= limit as usize,
                "a list page with limit {limit} held {} keys",
                page.keys.len()
            );
        }
        ensure!(
            page.complete == page.cursor.is_none(),
            "a list page says complete = {} with cursor {:?}: a page is complete exactly when it \
             has no cursor",
            page.complete,
            page.cursor
        );
        keys.extend(page.keys);
        match page.cursor {
            Some(cursor) => options = options.cursor(cursor),
            None => return Ok((keys, pages)),
        }
    }
    Err(Failure::new(format!(
        "list of prefix {prefix:?} did not end within {MAX_PAGES} pages"
    )))
}

/// The names of `keys`.
pub(crate) fn names(keys: &[KeyInfo]) -> Vec<String> {
    keys.iter().map(|k| k.name.clone()).collect()
}
