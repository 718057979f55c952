//! Cloudflare's OpenAPI description of the KV API, loaded from `spec/` and turned into JSON Schema
//! (draft 2020-12) validators for one operation's request parameters, request body or response.
//!
//! OpenAPI 3.0 schema objects are not quite JSON Schema. The one construct of the spec that
//! differs is `nullable: true`, which JSON Schema does not know: it is translated to
//! `anyOf: [{"type": "null"}, <the schema without nullable>]`, which is what OpenAPI 3.0 means by
//! it. `$ref` siblings (`{"$ref": ..., "type": "object", "nullable": true}`) are kept and applied
//! with the reference, as draft 2020-12 does. Unknown keywords (`example`, `x-*`) are annotations.
//! The documented differences between the spec and the contract are applied first, by
//! [`super::adjustments`]; nothing else is changed.

use std::fmt::Write as _;

use jsonschema::Validator;
use serde_json::{Map, Value, json};

/// Where the spec lives in the repository.
pub(crate) const SPEC_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/spec/cloudflare-kv-openapi.json"
);

/// The spec, translated to JSON Schema and adjusted to the contract.
pub(crate) struct Spec {
    doc: Value,
}

/// One operation of the spec: a method on a path template.
pub(crate) struct Operation<'a> {
    spec: &'a Spec,
    /// Upper-case HTTP method.
    pub(crate) method: String,
    /// The path template, e.g. `/accounts/{account_id}/storage/kv/namespaces`.
    pub(crate) template: String,
    raw: &'a Value,
}

/// One parameter of an operation.
pub(crate) struct Param {
    /// Its name.
    pub(crate) name: String,
    /// `path`, `query` or `header`.
    pub(crate) location: String,
    /// Whether it must be present.
    pub(crate) required: bool,
    /// Its schema (references unresolved; compile with [`Spec::validator`]).
    pub(crate) schema: Value,
}

/// A response the spec documents for a status.
pub(crate) struct ResponseSpec {
    /// The key of `responses` that matched (`200`, `4XX`, ...).
    pub(crate) status_key: String,
    /// The media type of its content (the spec documents exactly one per response).
    pub(crate) media_type: String,
    /// Its schema.
    pub(crate) schema: Value,
}

impl Spec {
    /// Reads, translates and adjusts the spec. Panics (a test failure) when the file is missing
    /// or malformed, or when an adjustment no longer finds what it adjusts.
    pub(crate) fn load() -> Spec {
        let mut doc = Spec::adjusted_openapi();
        translate_nullable(&mut doc);
        Spec { doc }
    }

    /// The spec as published with the adjustments applied, still OpenAPI 3.0 (not translated):
    /// what `kv-openapi-adjusted.json` holds.
    pub(crate) fn adjusted_openapi() -> Value {
        let text = std::fs::read_to_string(SPEC_PATH).expect("spec/cloudflare-kv-openapi.json");
        let mut doc: Value = serde_json::from_str(&text).expect("the spec is JSON");
        assert!(
            doc["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3.0")),
            "the translation to JSON Schema is for OpenAPI 3.0"
        );
        super::adjustments::apply(&mut doc);
        doc
    }

    /// The whole translated document.
    pub(crate) fn doc(&self) -> &Value {
        &self.doc
    }

    /// Every operation of the spec, in document order.
    pub(crate) fn operations(&self) -> Vec<Operation<'_>> {
        let mut out = Vec::new();
        let paths = self.doc["paths"].as_object().expect("paths");
        for (template, item) in paths {
            for (method, raw) in item.as_object().expect("path item") {
                if ["get", "put", "post", "delete", "patch", "head", "options"]
                    .contains(&method.as_str())
                {
                    out.push(Operation {
                        spec: self,
                        method: method.to_uppercase(),
                        template: template.clone(),
                        raw,
                    });
                }
            }
        }
        out
    }

    /// The operation `method template`; panics when the spec has none.
    pub(crate) fn operation(&self, method: &str, template: &str) -> Operation<'_> {
        self.operations()
            .into_iter()
            .find(|op| op.method == method && op.template == template)
            .unwrap_or_else(|| panic!("the spec has no operation {method} {template}"))
    }

    /// Compiles `schema` with the spec's components beside it, so `#/components/...` resolves.
    pub(crate) fn validator(&self, schema: &Value) -> Validator {
        let wrapped = json!({
            "$ref": "#/$defs/target",
            "$defs": { "target": schema },
            "components": self.doc["components"],
        });
        jsonschema::draft202012::new(&wrapped)
            .unwrap_or_else(|e| panic!("schema does not compile: {e}\n{schema:#}"))
    }

    /// Validates `instance` against `schema`; `Err` lists every error with its location.
    pub(crate) fn check(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        let validator = self.validator(schema);
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("at '{}': {e}", e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            let mut text = String::new();
            for e in errors {
                let _ = writeln!(text, "  - {e}");
            }
            Err(text)
        }
    }
}

impl Operation<'_> {
    /// The `operationId`.
    pub(crate) fn id(&self) -> &str {
        self.raw["operationId"].as_str().expect("operationId")
    }

    /// `METHOD template`, for messages.
    pub(crate) fn label(&self) -> String {
        format!("{} {}", self.method, self.template)
    }

    /// Whether the spec marks it deprecated.
    pub(crate) fn deprecated(&self) -> bool {
        self.raw["deprecated"].as_bool().unwrap_or(false)
    }

    /// Its parameters (path-item level ones included), references resolved one level.
    pub(crate) fn parameters(&self) -> Vec<Param> {
        let item = &self.spec.doc["paths"][&self.template];
        let mut out = Vec::new();
        for list in [&item["parameters"], &self.raw["parameters"]] {
            for p in list.as_array().into_iter().flatten() {
                let p = self.spec.resolve(p);
                out.push(Param {
                    name: p["name"].as_str().expect("parameter name").to_owned(),
                    location: p["in"].as_str().expect("parameter in").to_owned(),
                    required: p["required"].as_bool().unwrap_or(false),
                    schema: p["schema"].clone(),
                });
            }
        }
        out
    }

    /// The request body's content map (media type -> media type object), if it takes a body.
    pub(crate) fn request_content(&self) -> Option<&Map<String, Value>> {
        self.raw["requestBody"]["content"].as_object()
    }

    /// Whether the request body is required.
    pub(crate) fn request_body_required(&self) -> bool {
        self.raw["requestBody"]["required"]
            .as_bool()
            .unwrap_or(false)
    }

    /// The security requirements: each a list of scheme names that must all be satisfied.
    pub(crate) fn security(&self) -> Vec<Vec<String>> {
        self.raw["security"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|req| {
                req.as_object()
                    .expect("security requirement")
                    .keys()
                    .cloned()
                    .collect()
            })
            .collect()
    }

    /// The response documented for `status`: the exact code, else its class (`4XX`), else
    /// `default`. `None` when the spec documents none.
    pub(crate) fn response(&self, status: u16) -> Option<ResponseSpec> {
        let responses = self.raw["responses"].as_object()?;
        let class = format!("{}XX", status / 100);
        let (key, response) = [status.to_string(), class, "default".to_owned()]
            .into_iter()
            .find_map(|k| responses.get(&k).map(|r| (k, r)))?;
        let content = response["content"].as_object()?;
        assert_eq!(
            content.len(),
            1,
            "{} {key}: one media type expected",
            self.label()
        );
        let (media_type, media) = content.iter().next()?;
        Some(ResponseSpec {
            status_key: key,
            media_type: media_type.clone(),
            schema: media["schema"].clone(),
        })
    }
}

impl Spec {
    /// Follows a local `$ref` (one that points into this document).
    pub(crate) fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(pointer) => {
                let pointer = pointer.strip_prefix('#').expect("local reference");
                self.doc
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling reference {pointer}"))
            }
            None => value,
        }
    }
}

/// Rewrites every schema object with `nullable: true` into `anyOf: [null, itself]`.
fn translate_nullable(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                translate_nullable(child);
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                let inner = Value::Object(std::mem::take(map));
                map.insert("anyOf".to_owned(), json!([{ "type": "null" }, inner]));
            } else if map.get("nullable") == Some(&Value::Bool(false)) {
                map.remove("nullable");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(translate_nullable),
        _ => {}
    }
}
