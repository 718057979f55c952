//! Namespace administration on [`Client`]: create, list, get, rename, delete.

use http::Method;
use kv_types::{Namespace, NamespaceTitle, codes};

use crate::client::Client;
use crate::endpoint::set_query;
use crate::error::{Context, Error, Operation};
use crate::execute::execute;
use crate::reading::{Ack, EnvelopeOf, ResultOf};
use crate::request::Request;
use crate::trace::{in_span, op_span};

/// Namespaces per page when listing them all.
const PER_PAGE: u32 = 100;
/// Most pages read by [`Client::list_namespaces`] (a bound on the loop).
const MAX_PAGES: u32 = 10_000;

/// The JSON body `{"title": ...}` of a create or rename.
fn title_body(ctx: &Context, title: &str) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(&NamespaceTitle {
        title: title.to_owned(),
    })
    .map_err(|e| Error::encode(ctx, "the namespace title", e))
}

impl Client {
    /// Creates a namespace titled `title` (unique in the account).
    ///
    /// Creation is the one request that is not idempotent: if an attempt failed in a way that may
    /// have created it (a timeout, a 5xx) and a retry is refused because the title exists, the
    /// namespace with that title is looked up and returned.
    pub async fn create_namespace(&self, title: impl Into<String>) -> Result<Namespace, Error> {
        let title = title.into();
        let ctx = Context::new(Operation::CreateNamespace).with_title(title.as_str());
        in_span(op_span(&ctx), async {
            let inner = self.inner();
            let body = title_body(&ctx, &title)?;
            let request = Request::json(Method::POST, inner.endpoints.namespaces(), body);
            let created = execute(inner, &ctx, &request, &ResultOf::<Namespace>::new()).await;
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
        })
        .await
    }

    /// Lists every namespace of the account, following the pages.
    pub async fn list_namespaces(&self) -> Result<Vec<Namespace>, Error> {
        let ctx = Context::new(Operation::ListNamespaces);
        in_span(op_span(&ctx), async {
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
                let request = Request::new(Method::GET, url);
                let reading = EnvelopeOf::<Vec<Namespace>>::new();
                let env = execute(inner, &ctx, &request, &reading).await?;
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
        })
        .await
    }

    /// Reads one namespace; [`Error::NotFound`] when it does not exist.
    pub async fn get_namespace(&self, id: impl AsRef<str>) -> Result<Namespace, Error> {
        let ctx = Context::new(Operation::GetNamespace).with_namespace(id.as_ref());
        in_span(op_span(&ctx), async {
            let inner = self.inner();
            let request = Request::new(Method::GET, inner.endpoints.namespace(id.as_ref()));
            execute(inner, &ctx, &request, &ResultOf::<Namespace>::new()).await
        })
        .await
    }

    /// Renames a namespace.
    pub async fn rename_namespace(
        &self,
        id: impl AsRef<str>,
        title: impl Into<String>,
    ) -> Result<(), Error> {
        let title = title.into();
        let ctx = Context::new(Operation::RenameNamespace)
            .with_namespace(id.as_ref())
            .with_title(title.as_str());
        in_span(op_span(&ctx), async {
            let inner = self.inner();
            let body = title_body(&ctx, &title)?;
            let request = Request::json(Method::PUT, inner.endpoints.namespace(id.as_ref()), body);
            execute(inner, &ctx, &request, &Ack).await
        })
        .await
    }

    /// Deletes a namespace and every key in it.
    pub async fn delete_namespace(&self, id: impl AsRef<str>) -> Result<(), Error> {
        let ctx = Context::new(Operation::DeleteNamespace).with_namespace(id.as_ref());
        in_span(op_span(&ctx), async {
            let inner = self.inner();
            let request = Request::new(Method::DELETE, inner.endpoints.namespace(id.as_ref()));
            execute(inner, &ctx, &request, &Ack).await
        })
        .await
    }
}
