//! The spec's path templates of the KV API, as the schema tests name them.

/// List (`GET`) and create (`POST`) namespaces.
pub(crate) const NAMESPACES: &str = "/accounts/{account_id}/storage/kv/namespaces";
/// Get, rename (`PUT`) and remove one namespace.
pub(crate) const NAMESPACE: &str = "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}";
/// Write, read and delete one value.
pub(crate) const VALUE: &str =
    "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/values/{key_name}";
/// Read one key's metadata.
pub(crate) const METADATA: &str =
    "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/metadata/{key_name}";
/// List keys.
pub(crate) const KEYS: &str = "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/keys";
/// Bulk write (`PUT`) and the deprecated bulk delete (`DELETE`).
pub(crate) const BULK: &str = "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk";
/// Bulk delete.
pub(crate) const BULK_DELETE: &str =
    "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/delete";
/// Bulk get.
pub(crate) const BULK_GET: &str =
    "/accounts/{account_id}/storage/kv/namespaces/{namespace_id}/bulk/get";
