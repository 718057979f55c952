//! kv-mock and kv-client checked against Cloudflare's OpenAPI description of the KV API
//! (`spec/cloudflare-kv-openapi.json`): every answer of the mock (`responses`) and every request
//! of the client (`requests`), with the documented adjustments of `adjustments`.

mod adjustments;
mod capture_proxy;
mod multipart;
mod openapi;
mod path_template;
mod percent;
mod request_check;
mod requests;
mod response_check;
mod responses;
mod routes;
