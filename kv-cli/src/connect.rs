//! From flags and environment to a [`Client`], and from `--namespace-id` / `--namespace TITLE`
//! to a [`KvNamespace`].
//!
//! The environment is read by kv-client's own rules ([`ClientBuilder::from_env_with`]: the
//! variables wrangler and the SDKs read); a flag given on the command line stands in for its
//! variable.

use kv_client::{
    Client, ClientBuilder, ENV_ACCOUNT_ID, ENV_API_BASE_URL, ENV_API_TOKEN, ENV_BASE_URL,
    ENV_EMAIL, KvNamespace,
};

use kv_types::Limits;

use crate::args::{Connection, NamespaceChoice};
use crate::failure::CliError;

/// The flag that stands in for an environment variable, if one does.
fn flag_of(var: &str) -> &'static str {
    match var {
        ENV_API_TOKEN => "--api-token",
        ENV_ACCOUNT_ID => "--account-id",
        _ => "the variable",
    }
}

/// The client these flags and the environment describe, knowing these `limits`.
pub(crate) fn client(conn: &Connection, limits: Limits) -> Result<Client, CliError> {
    client_with(conn, limits, |name| std::env::var(name).ok())
}

/// [`client`] with the environment looked up by `env` (for tests).
pub(crate) fn client_with(
    conn: &Connection,
    limits: Limits,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Client, CliError> {
    let lookup = |name: &str| {
        let flag = match name {
            ENV_API_TOKEN => conn.api_token.clone(),
            ENV_ACCOUNT_ID => conn.account_id.clone(),
            ENV_BASE_URL => conn.base_url.clone(),
            _ => None,
        };
        // A --base-url flag must win over either variable, so it hides CLOUDFLARE_API_BASE_URL.
        if name == ENV_API_BASE_URL && conn.base_url.is_some() {
            return None;
        }
        flag.or_else(|| env(name))
    };
    let builder = ClientBuilder::from_env_with(lookup).map_err(|e| match e {
        kv_client::Error::MissingEnv { var } if var != ENV_EMAIL => CliError::MissingCredential {
            var,
            flag: flag_of(var),
        },
        other => CliError::Client(other),
    })?;
    let builder = builder
        .user_agent(concat!("edge-kv/", env!("CARGO_PKG_VERSION")))
        .limits(limits);
    Ok(builder.build()?)
}

/// The namespace chosen by `--namespace-id`, or by `--namespace TITLE` looked up by listing.
pub(crate) async fn namespace(
    client: &Client,
    choice: &NamespaceChoice,
) -> Result<KvNamespace, CliError> {
    if let Some(id) = &choice.namespace_id {
        return Ok(client.namespace(id.as_str()));
    }
    let Some(title) = &choice.namespace else {
        return Err(CliError::Usage(
            "give --namespace-id ID or --namespace TITLE".into(),
        ));
    };
    let all = client.list_namespaces().await?;
    all.into_iter()
        .find(|n| &n.title == title)
        .map(|n| client.namespace(n.id))
        .ok_or_else(|| CliError::NotFound(format!("no namespace titled {title:?} in the account")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_missing_token_names_the_variable_and_the_flag() {
        let err = client_with(&Connection::default(), Limits::PRODUCTION, env(&[]))
            .expect_err("no token");
        assert_eq!(
            err.to_string(),
            "CLOUDFLARE_API_TOKEN is not set (or pass --api-token)"
        );
        let err = client_with(
            &Connection::default(),
            Limits::PRODUCTION,
            env(&[(ENV_API_TOKEN, "t")]),
        )
        .expect_err("no account");
        assert_eq!(
            err.to_string(),
            "CLOUDFLARE_ACCOUNT_ID is not set (or pass --account-id)"
        );
    }

    #[test]
    fn flags_win_over_the_environment() {
        let conn = Connection {
            api_token: Some("flag-token".into()),
            account_id: Some("flag-account".into()),
            base_url: Some("http://127.0.0.1:1/client/v4".into()),
        };
        let env = env(&[
            (ENV_ACCOUNT_ID, "env-account"),
            (ENV_API_BASE_URL, "http://127.0.0.1:2/client/v4"),
        ]);
        let client = client_with(&conn, Limits::PRODUCTION, env).expect("a client");
        assert_eq!(client.account_id(), "flag-account");
        assert_eq!(client.base_url().port(), Some(1));
    }

    #[test]
    fn wranglers_base_url_variable_is_read() {
        let env = env(&[
            (ENV_API_TOKEN, "t"),
            (ENV_ACCOUNT_ID, "a"),
            (ENV_API_BASE_URL, "http://127.0.0.1:3/client/v4"),
        ]);
        let client =
            client_with(&Connection::default(), Limits::PRODUCTION, env).expect("a client");
        assert_eq!(client.base_url().port(), Some(3));
    }
}
