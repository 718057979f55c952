//! Namespace administration on [`Client`]: create, list, get, rename, delete.

use http::Method;
use http::header::CONTENT_TYPE;
use kv_types::{Namespace, NamespaceTitle, codes};
use serde::de::IgnoredAny;
use tracing::Instrument;

use crate::client::Client;
use crate::endpoint::set_query;
use crate::error::{Context, Error, Operation};
use crate::response::{send_envelope, send_result};
use crate::retry::runner::{Step, run};
use crate::trace::op_span;

/// Namespaces per page when listing them all.
const PER_PAGE: u32 = 100;
/// Most pages read by [`Client::list_namespaces`] (a bound on the loop).
const MAX_PAGES: u32 = 10_000;

impl Client {
    /// Creates a namespace titled `title` (unique in the account).
    ///
    /// Creation is the one request that is not idempotent: if an attempt failed in a way that may
    /// have created it (a timeout, a 5xx) and a retry is refused because the title exists, the
    /// namespace with that title is looked up and returned.
    pub async fn create_namespace(&self, title: impl Into<String>) -> Result<Namespace, Error> {
        let title = title.into();
        let ctx = Context::new(Operation::CreateNamespace).with_key(title.as_str());
        let span = op_span(&ctx);
        async {
            let inner = self.inner();
            let url = inner.endpoints.namespaces();
            let body = serde_json::to_vec(&NamespaceTitle {
                title: title.clone(),
            })
            .map_err(|e| Error::decode(&ctx, 0, format!("cannot serialize: {e}")))?;
            let created = run(
                inner,
                &ctx,
                || true,
                |_| {
                    let request = inner
                        .request(Method::POST, url.clone())
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone());
                    send_result::<Namespace>(inner, &ctx, request)
                },
            )
            .await;
            match created {
                Err(e)
                    if e.codes().contains(&codes::DUPLICATE_NAMESPACE_TITLE)
                        && e.attempts().is_some_and(|a| a.count > 1) =>
                {
                    tracing::info!("title exists after a retried create; looking it up");
                    let all = self.list_namespaces().await?;
                    all.into_iter().find(|n| n.title == title).ok_or(e)
                }
                other => other,
            }
        }
        .instrument(span)
        .await
    }

    /// Lists every namespace of the account, following the pages.
    pub async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        let ctx = Context::new(Operation::ListNamespaces);
        let span = op_span(&ctx);
        async {
            let inner = self.inner();
            let mut all = Vec::new();
            for page in 1..=MAX_PAGES {
                let mut url = inner.endpoints.namespaces();
                set_query(
                    &mut url,
                    &[
                        ("page", page.to_string()),
                        ("per_page", PER_PAGE.to_string()),
                    ],
                );
                let env = run(
                    inner,
                    &ctx,
                    || true,
                    |_| {
                        let request = inner.request(Method::GET, url.clone());
                        send_envelope::<Vec<Namespace>>(inner, &ctx, request)
                    },
                )
                .await?;
                let got = env.result.unwrap_or_default();
                let count = got.len() as u64;
                all.extend(got);
                let total = env.result_info.and_then(|i| i.total_count);
                let done =
                    count < u64::from(PER_PAGE) || total.is_some_and(|t| all.len() as u64 >= t);
                if done {
                    break;
                }
            }
            Ok(all)
        }
        .instrument(span)
        .await
    }

    /// Reads one namespace; [`Error::NotFound`] when it does not exist.
    pub async fn get_namespace(&self, id: impl AsRef<str>) -> Result<Namespace, Error> {
        let ctx = Context::new(Operation::GetNamespace).with_namespace(id.as_ref());
        let span = op_span(&ctx);
        async {
            let inner = self.inner();
            let url = inner.endpoints.namespace(id.as_ref());
            run(
                inner,
                &ctx,
                || true,
                |_| {
                    let request = inner.request(Method::GET, url.clone());
                    send_result::<Namespace>(inner, &ctx, request)
                },
            )
            .await
        }
        .instrument(span)
        .await
    }

    /// Renames a namespace.
    pub async fn rename_namespace(
        &self,
        id: impl AsRef<str>,
        title: impl Into<String>,
    ) -> Result<(), Error> {
        let ctx = Context::new(Operation::RenameNamespace).with_namespace(id.as_ref());
        let span = op_span(&ctx);
        let title = title.into();
        async {
            let inner = self.inner();
            let url = inner.endpoints.namespace(id.as_ref());
            let body = serde_json::to_vec(&NamespaceTitle { title })
                .map_err(|e| Error::decode(&ctx, 0, format!("cannot serialize: {e}")))?;
            self.send_unit(&ctx, Method::PUT, url, Some(body)).await
        }
        .instrument(span)
        .await
    }

    /// Deletes a namespace and every key in it.
    pub async fn delete_namespace(&self, id: impl AsRef<str>) -> Result<(), Error> {
        let ctx = Context::new(Operation::DeleteNamespace).with_namespace(id.as_ref());
        let span = op_span(&ctx);
        async {
            let url = self.inner().endpoints.namespace(id.as_ref());
            self.send_unit(&ctx, Method::DELETE, url, None).await
        }
        .instrument(span)
        .await
    }

    async fn send_unit(
        &self,
        ctx: &Context,
        method: Method,
        url: reqwest::Url,
        body: Option<Vec<u8>>,
    ) -> Result<(), Error> {
        let inner = self.inner();
        run(
            inner,
            ctx,
            || true,
            |_| {
                let mut request = inner.request(method.clone(), url.clone());
                if let Some(body) = &body {
                    request = request
                        .header(CONTENT_TYPE, "application/json")
                        .body(body.clone());
                }
                async move {
                    match send_envelope::<IgnoredAny>(inner, ctx, request).await {
                        Step::Done(_) => Step::Done(()),
                        Step::Retry(f) => Step::Retry(f),
                        Step::Stop(e) => Step::Stop(e),
                    }
                }
            },
        )
        .await
    }
}
