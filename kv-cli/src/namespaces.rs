//! `edge-kv namespace create | list | rename | delete`.

use kv_client::Client;
use serde_json::json;

use crate::args::NamespaceCommand;
use crate::failure::CliError;
use crate::output;

/// Runs one namespace command.
pub(crate) async fn run(
    client: &Client,
    command: NamespaceCommand,
    json: bool,
) -> Result<(), CliError> {
    match command {
        NamespaceCommand::Create { title } => {
            let ns = client.create_namespace(title).await?;
            if json {
                output::json(&ns)
            } else {
                output::line(&format!(
                    "Created namespace {:?} with id {}",
                    ns.title, ns.id
                ))
            }
        }
        NamespaceCommand::List => {
            let all = client.list_namespaces().await?;
            if json {
                return output::json(&all);
            }
            for ns in &all {
                output::line(&format!("{}\t{}", ns.id, ns.title))?;
            }
            Ok(())
        }
        NamespaceCommand::Rename { id, title } => {
            client.rename_namespace(&id, title.as_str()).await?;
            if json {
                output::json(&json!({"id": id, "title": title}))
            } else {
                output::line(&format!("Renamed namespace {id} to {title:?}"))
            }
        }
        NamespaceCommand::Delete { id } => {
            client.delete_namespace(&id).await?;
            if json {
                output::json(&json!({"id": id, "deleted": true}))
            } else {
                output::line(&format!("Deleted namespace {id}"))
            }
        }
    }
}
