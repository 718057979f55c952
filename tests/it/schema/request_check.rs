//! Checks one captured request against the spec: which operation it is (method and path
//! template), its path and query parameters (declared, required ones present, values valid
//! against their schemas), its credentials (one of the operation's security requirements), its
//! `Accept` header (if any) and its body (content type one the operation takes; a JSON body or
//! the fields of a multipart form valid against the schema; no body where none is taken).

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::capture_proxy::Captured;
use super::multipart;
use super::openapi::{Operation, Spec};
use super::path_template::match_path;

/// The operation `request` is, after the base URL's path `prefix`; `Err` lists every way the
/// request departs from the spec.
pub(crate) fn check(spec: &Spec, prefix: &str, request: &Captured) -> Result<String, String> {
    let label = format!("{} {}", request.method, request.uri);
    let url = reqwest::Url::parse(&format!("http://capture{}", request.uri))
        .map_err(|e| format!("{label}: unparsable target: {e}"))?;
    let raw_path = request.uri.split('?').next().unwrap_or("");
    let path = raw_path
        .strip_prefix(prefix)
        .ok_or_else(|| format!("{label}: path does not start with the base path {prefix}"))?;

    let mut matches: Vec<(Operation<'_>, BTreeMap<String, String>)> = spec
        .operations()
        .into_iter()
        .filter(|op| op.method == request.method)
        .filter_map(|op| match_path(&op.template, path).map(|params| (op, params)))
        .collect();
    let (op, path_params) = match matches.len() {
        1 => matches.remove(0),
        0 => {
            return Err(format!(
                "{label}: no operation of the spec has this method and path"
            ));
        }
        _ => return Err(format!("{label}: several operations match")),
    };

    let mut problems = Vec::new();
    let params = op.parameters();

    for p in params.iter().filter(|p| p.location == "path") {
        match path_params.get(&p.name) {
            Some(value) => {
                if let Err(e) = spec.check(&p.schema, &Value::String(value.clone())) {
                    problems.push(format!("path parameter {} = {value:?}:\n{e}", p.name));
                }
            }
            None => problems.push(format!("path parameter {} missing", p.name)),
        }
    }

    let mut seen = BTreeMap::new();
    for (name, value) in url.query_pairs() {
        if seen.insert(name.to_string(), ()).is_some() {
            problems.push(format!("query parameter {name} given twice"));
        }
        let Some(p) = params
            .iter()
            .find(|p| p.location == "query" && p.name == name)
        else {
            problems.push(format!(
                "query parameter {name} is not declared by the spec"
            ));
            continue;
        };
        match coerce(spec, &p.schema, &value) {
            Ok(instance) => {
                if let Err(e) = spec.check(&p.schema, &instance) {
                    problems.push(format!("query parameter {name} = {value:?}:\n{e}"));
                }
            }
            Err(e) => problems.push(format!("query parameter {name} = {value:?}: {e}")),
        }
    }
    for p in params
        .iter()
        .filter(|p| p.required && p.location == "query")
    {
        if !seen.contains_key(&p.name) {
            problems.push(format!("required query parameter {} missing", p.name));
        }
    }

    if !authenticated(spec, &op, request) {
        problems.push("no security requirement of the operation is satisfied".to_owned());
    }
    if let Some(accept) = header(request, "accept") {
        let documented = op.response(200).map(|r| r.media_type).unwrap_or_default();
        let accepted = accept.split(',').any(|m| {
            let m = m.split(';').next().unwrap_or("").trim();
            m == "*/*" || m.eq_ignore_ascii_case(&documented)
        });
        if !accepted {
            problems.push(format!(
                "Accept {accept:?} excludes the documented {documented} answer"
            ));
        }
    }

    check_body(spec, &op, request, &mut problems);

    if problems.is_empty() {
        Ok(op.id().to_owned())
    } else {
        Err(format!(
            "{label} ({}, {}):\n  - {}",
            op.label(),
            op.id(),
            problems.join("\n  - ")
        ))
    }
}

/// The value of header `name`, when present and text.
fn header<'a>(request: &'a Captured, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// A query value as the JSON its schema's type describes.
fn coerce(spec: &Spec, schema: &Value, text: &str) -> Result<Value, String> {
    match spec.resolve(schema)["type"].as_str() {
        Some("number") | Some("integer") => {
            if let Ok(n) = text.parse::<u64>() {
                Ok(Value::Number(n.into()))
            } else if let Ok(n) = text.parse::<i64>() {
                Ok(Value::Number(n.into()))
            } else {
                let f: f64 = text.parse().map_err(|_| "not a number".to_owned())?;
                Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| "not a finite number".to_owned())
            }
        }
        Some("boolean") => match text {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("not a boolean".to_owned()),
        },
        _ => Ok(Value::String(text.to_owned())),
    }
}

/// Whether the request satisfies one of the operation's security requirements.
fn authenticated(spec: &Spec, op: &Operation<'_>, request: &Captured) -> bool {
    let schemes = &spec.doc()["components"]["securitySchemes"];
    op.security().iter().any(|requirement| {
        requirement.iter().all(|name| {
            let scheme = &schemes[name];
            match (scheme["type"].as_str(), scheme["in"].as_str()) {
                (Some("http"), _) if scheme["scheme"] == "bearer" => {
                    header(request, "authorization")
                        .and_then(|v| v.strip_prefix("Bearer "))
                        .is_some_and(|token| !token.trim().is_empty())
                }
                (Some("apiKey"), Some("header")) => scheme["name"]
                    .as_str()
                    .and_then(|h| header(request, h))
                    .is_some_and(|v| !v.is_empty()),
                _ => false,
            }
        })
    })
}

fn check_body(spec: &Spec, op: &Operation<'_>, request: &Captured, problems: &mut Vec<String>) {
    let content_type = header(request, "content-type").unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let Some(content) = op.request_content() else {
        if !request.body.is_empty() {
            problems.push(format!(
                "a {}-byte body on an operation that takes none",
                request.body.len()
            ));
        }
        return;
    };
    if media_type.is_empty() {
        if op.request_body_required() {
            problems.push("no Content-Type on an operation that requires a body".to_owned());
        }
        return;
    }
    let Some(media) = content.get(&media_type) else {
        let allowed: Vec<&String> = content.keys().collect();
        problems.push(format!(
            "Content-Type {media_type} is not one of the spec's {allowed:?}"
        ));
        return;
    };
    match media_type.as_str() {
        "application/json" => match serde_json::from_slice::<Value>(&request.body) {
            Ok(body) => {
                if let Err(e) = spec.check(&media["schema"], &body) {
                    problems.push(format!(
                        "JSON body does not match the schema:\n{e}body: {body}"
                    ));
                }
            }
            Err(e) => problems.push(format!("body is not JSON: {e}")),
        },
        "multipart/form-data" => check_form(spec, media, content_type, request, problems),
        // A raw value: any bytes (the schema is a string or binary string).
        _ => {}
    }
}

/// A multipart body: each field's part content type as the spec's `encoding` says (default:
/// `text/plain` for a text field, `application/octet-stream` for a file), and the fields, as
/// JSON (text fields whose encoding is JSON are parsed), valid against the schema.
fn check_form(
    spec: &Spec,
    media: &Value,
    content_type: &str,
    request: &Captured,
    problems: &mut Vec<String>,
) {
    let Some(boundary) = multipart::boundary(content_type) else {
        problems.push("multipart Content-Type without a boundary".to_owned());
        return;
    };
    let parts = match multipart::parse(&request.body, &boundary) {
        Ok(parts) => parts,
        Err(e) => {
            problems.push(format!("malformed multipart body: {e}"));
            return;
        }
    };
    let schema = spec.resolve(&media["schema"]);
    let mut fields = Map::new();
    for part in &parts {
        if fields.contains_key(&part.name) {
            problems.push(format!("part {} sent twice", part.name));
        }
        let declared = &schema["properties"][&part.name];
        if declared.is_null() {
            problems.push(format!("part {} is not a field of the schema", part.name));
            continue;
        }
        let sent = part
            .content_type
            .clone()
            .unwrap_or_else(|| "text/plain".to_owned());
        let sent_media = sent
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let encoding = media["encoding"][&part.name]["contentType"].as_str();
        if let Some(encoding) = encoding {
            let allowed: Vec<&str> = encoding.split(',').map(str::trim).collect();
            if !allowed.contains(&sent_media.as_str()) {
                problems.push(format!(
                    "part {} is {sent_media}, the encoding says {encoding}",
                    part.name
                ));
            }
        }
        let value = if encoding.is_some_and(|e| e.contains("application/json")) {
            match serde_json::from_slice::<Value>(&part.data) {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("part {} is not JSON: {e}", part.name));
                    continue;
                }
            }
        } else {
            Value::String(String::from_utf8_lossy(&part.data).into_owned())
        };
        fields.insert(part.name.clone(), value);
    }
    if let Err(e) = spec.check(&media["schema"], &Value::Object(fields)) {
        problems.push(format!("multipart fields do not match the schema:\n{e}"));
    }
}
