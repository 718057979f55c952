//! Lists: byte order, literal prefixes, paging with a cursor.

use crate::conformance::harness::Harness;
use crate::conformance::report::{CheckResult, Context, Outcome, ensure, ensure_eq};
use crate::options::{ListOptions, PutOptions};
use crate::store::KvStore;

use super::{list_all, names, put};

/// Keys are listed in the byte order of their UTF-8 names (`B` < `a` < `aa` < `b` < `z` < `é`),
/// each once; a prefix is literal and case-sensitive (`_` and `%` are no wildcards) and matches
/// the key equal to it too.
pub async fn list_order_and_prefix<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("list_order_and_prefix");
    let store = h.store();
    let names_written = [
        "b", "a", "aa", "z", "é", "B", "a/1", "a/2", "a_1", "a%1", "ab", "a/", "日",
    ];
    for name in names_written {
        put(store, &s.key(name)?, name, PutOptions::new()).await?;
    }
    let (listed, _) = list_all(store, &s.prefix, None).await?;
    let mut expected: Vec<String> = names_written.iter().map(|n| s.name(n)).collect();
    expected.sort_by(|x, y| x.as_bytes().cmp(y.as_bytes()));
    ensure_eq!(names(&listed), expected, "list in byte order of the names");
    for (prefix, want) in [
        ("a/", vec!["a/", "a/1", "a/2"]),
        ("a_", vec!["a_1"]),
        ("a%", vec!["a%1"]),
        ("A", vec![]),
        ("B", vec!["B"]),
        ("aa", vec!["aa"]),
        ("é", vec!["é"]),
    ] {
        let (got, _) = list_all(store, &s.name(prefix), None).await?;
        let want: Vec<String> = want.iter().map(|n| s.name(n)).collect();
        ensure_eq!(names(&got), want, "list with prefix {:?}", s.name(prefix));
    }
    let (none, pages) = list_all(store, &s.name("nothing-here/"), None).await?;
    ensure!(
        none.is_empty() && pages == 1,
        "a prefix nothing matches gave {} keys in {pages} pages; expected one empty, complete page",
        none.len()
    );
    Ok(Outcome::Passed)
}

/// Paging: with `limit` at the smallest allowed, 25 keys come in pages of at most that many,
/// every page but the last with a cursor, each key exactly once and in order; without `limit`
/// they come in one page. A key written after a cursor was issued that sorts after it shows up
/// on a later page.
pub async fn list_paging<S: KvStore>(h: &Harness<S>) -> CheckResult {
    let s = h.scope("list_paging");
    let store = h.store();
    let limit = h.limits.min_list_limit.max(1);
    let total = (limit as usize) * 2 + 5;
    let mut expected = Vec::new();
    for i in 0..total {
        let key = s.key(&format!("p/{i:03}"))?;
        put(store, &key, "v", PutOptions::new()).await?;
        expected.push(key.to_string());
    }
    put(
        store,
        &s.key("p")?,
        "outside the prefix p/",
        PutOptions::new(),
    )
    .await?;
    let prefix = s.name("p/");
    let (listed, pages) = list_all(store, &prefix, Some(limit)).await?;
    ensure_eq!(
        names(&listed),
        expected,
        "keys over every page at limit {limit}"
    );
    ensure!(
        pages >= total.div_ceil(limit as usize),
        "{total} keys came in {pages} pages of at most {limit}"
    );
    if h.limits.max_list_limit as usize >= total {
        let page = store
            .list(ListOptions::new().prefix(&prefix))
            .await
            .ctx("list without a limit")?;
        ensure!(
            page.complete && page.cursor.is_none() && names(&page.keys) == expected,
            "a list without limit of {total} keys gave {} keys, complete = {}, cursor {:?}",
            page.keys.len(),
            page.complete,
            page.cursor
        );
    }

    let first = store
        .list(ListOptions::new().prefix(&prefix).limit(limit))
        .await
        .ctx("first page")?;
    let cursor = first.cursor.clone().ok_or_else(|| {
        crate::conformance::Failure::new("the first of several pages has no cursor")
    })?;
    let late = s.key("p/zzz-late")?;
    put(store, &late, "written after the cursor", PutOptions::new()).await?;
    let mut rest = Vec::new();
    let mut options = ListOptions::new()
        .prefix(&prefix)
        .limit(limit)
        .cursor(cursor);
    loop {
        let page = store.list(options.clone()).await.ctx("a later page")?;
        rest.extend(names(&page.keys));
        match page.cursor {
            Some(c) if rest.len() <= total + 1 => options = options.cursor(c),
            Some(_) => break,
            None => break,
        }
    }
    let mut want: Vec<String> = expected[names(&first.keys).len()..].to_vec();
    want.push(late.to_string());
    ensure_eq!(
        rest,
        want,
        "the pages after a cursor, with a key written after it that sorts last"
    );
    Ok(Outcome::Passed)
}
