//! [`ListRequest`]: one page of keys, or a stream of every key that follows the cursor.

use std::future::IntoFuture;

use futures_util::{Stream, TryStreamExt, stream};
use http::Method;
use kv_types::{KeyInfo, ListOptions, ListPage};

use crate::endpoint::set_query;
use crate::error::{Context, Error, Operation};
use crate::execute::execute;
use crate::namespace::KvNamespace;
use crate::put::BoxFuture;
use crate::reading::EnvelopeOf;
use crate::request::Request;
use crate::trace::{in_span, op_span};

/// A list of keys, made by [`KvNamespace::list`]: keys sorted by the bytes of their names,
/// filtered by a literal prefix. Await it for one page, or call
/// [`into_stream`](Self::into_stream) for every key.
///
/// ```no_run
/// # async fn demo(kv: kv_client::KvNamespace) -> Result<(), kv_client::Error> {
/// use futures_util::TryStreamExt;
///
/// let page = kv.list().prefix("user/").limit(100).await?;
/// if let Some(cursor) = page.cursor {
///     let next = kv.list().prefix("user/").limit(100).cursor(cursor).await?;
/// #   let _ = next;
/// }
/// let all: Vec<_> = kv.list().prefix("user/").into_stream().try_collect().await?;
/// # let _ = all; Ok(()) }
/// ```
#[must_use = "a list does nothing until awaited or streamed"]
#[derive(Debug, Clone)]
pub struct ListRequest {
    ns: KvNamespace,
    options: ListOptions,
}

impl ListRequest {
    pub(crate) fn new(ns: KvNamespace) -> ListRequest {
        ListRequest {
            ns,
            options: ListOptions::new(),
        }
    }

    /// Only keys that start with `prefix` (literal, case-sensitive).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.options.prefix = Some(prefix.into());
        self
    }

    /// Keys per page, 10 to 1000 (the service's default is 1000).
    pub fn limit(mut self, limit: u32) -> Self {
        self.options.limit = Some(limit);
        self
    }

    /// Starts after the page that returned this cursor (an empty cursor is the first page).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.options = self.options.cursor(cursor);
        self
    }

    /// Replaces all options at once.
    pub fn options(mut self, options: ListOptions) -> Self {
        self.options = options;
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<ListPage, Error> {
        let ctx = self.ns.ctx(Operation::List);
        in_span(op_span(&ctx), self.ns.list_page(&ctx, &self.options)).await
    }

    /// Every page, following the cursor until the last one. Stops with an error if the service
    /// returns the same cursor twice.
    pub fn into_pages(self) -> impl Stream<Item = Result<ListPage, Error>> + Send + 'static {
        let ListRequest { ns, options } = self;
        let first = Some(options.cursor.clone());
        stream::try_unfold((ns, options, first), |(ns, options, next)| async move {
            let Some(cursor) = next else {
                return Ok(None);
            };
            let ctx = ns.ctx(Operation::List);
            let asked = ListOptions {
                cursor: cursor.clone(),
                ..options.clone()
            };
            let page = in_span(op_span(&ctx), ns.list_page(&ctx, &asked)).await?;
            let next = match &page.cursor {
                None => None,
                Some(c) if Some(c) == cursor.as_ref() => {
                    return Err(Error::decode(
                        &ctx,
                        200,
                        format!("the service returned the cursor {c:?} it was given"),
                    ));
                }
                Some(c) => Some(Some(c.clone())),
            };
            Ok(Some((page, (ns, options, next))))
        })
    }

    /// Every key, page after page.
    pub fn into_stream(self) -> impl Stream<Item = Result<KeyInfo, Error>> + Send + 'static {
        self.into_pages()
            .map_ok(|page| stream::iter(page.keys.into_iter().map(Ok)))
            .try_flatten()
    }
}

impl IntoFuture for ListRequest {
    type Output = Result<ListPage, Error>;
    type IntoFuture = BoxFuture<Result<ListPage, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        crate::put::boxed(|| self.send())
    }
}

impl KvNamespace {
    /// One list request, with retries.
    pub(crate) async fn list_page(
        &self,
        ctx: &Context,
        options: &ListOptions,
    ) -> Result<ListPage, Error> {
        let inner = self.inner();
        options
            .check(&inner.limits)
            .map_err(|e| Error::validation(ctx, e))?;
        let mut url = inner.endpoints.keys(self.id());
        let mut query = Vec::new();
        if let Some(prefix) = options.prefix.as_ref().filter(|p| !p.is_empty()) {
            query.push(("prefix", prefix.clone()));
        }
        if let Some(limit) = options.limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = options.cursor.as_ref().filter(|c| !c.is_empty()) {
            query.push(("cursor", cursor.clone()));
        }
        set_query(&mut url, &query);
        let request = Request::new(Method::GET, url);
        let env = execute(inner, ctx, &request, &EnvelopeOf::<Vec<KeyInfo>>::new()).await?;
        let cursor = env.result_info.and_then(|i| i.cursor);
        Ok(ListPage::from_wire(env.result.unwrap_or_default(), cursor))
    }
}
