//! Where Cloudflare's spec is wrong or stricter than the contract (`spec/CONTRACT.md`, which
//! wins), the schema is adjusted here, one named adjustment at a time, and nowhere else. They are
//! written in OpenAPI 3.0 terms and applied to the spec as published, so the adjusted document is
//! still an OpenAPI 3.0 description (`kv-openapi-adjusted.json` beside this file, which
//! schemathesis reads). Each
//! adjustment first checks that the spec still says what it corrects, so a fixed spec fails the
//! test instead of being silently overridden. `spec/CONTRACT.md` ("Differences from Cloudflare's
//! OpenAPI") has a section for each id, with its reason.

use serde_json::{Value, json};

/// One documented difference between the spec and the contract.
pub(crate) struct Adjustment {
    /// A short stable name, also used in `kv-mock/README.md`.
    pub(crate) id: &'static str,
    /// What the spec says, what the contract says, and what the test validates instead.
    pub(crate) reason: &'static str,
    /// Applies it to the translated spec; panics when the spec no longer has the defect.
    apply: fn(&mut Value),
}

/// The path item of the bulk endpoint, as a JSON pointer.
const BULK: &str = "/paths/~1accounts~1{account_id}~1storage~1kv~1namespaces~1{namespace_id}~1bulk";
/// The path item of the value endpoint, as a JSON pointer.
const VALUE: &str =
    "/paths/~1accounts~1{account_id}~1storage~1kv~1namespaces~1{namespace_id}~1values~1{key_name}";
/// The path item of the bulk delete endpoint, as a JSON pointer.
const BULK_DELETE: &str =
    "/paths/~1accounts~1{account_id}~1storage~1kv~1namespaces~1{namespace_id}~1bulk~1delete";

/// Every adjustment, applied in this order.
pub(crate) const ALL: &[Adjustment] = &[
    Adjustment {
        id: "bulk-failure-envelope",
        reason: "The 4XX responses of bulk write (PUT /bulk), bulk delete (POST /bulk/delete) and \
                 the deprecated DELETE /bulk reuse the success schema: `success` must be `true` and \
                 `result` is a bulk result. The contract: every failure is `success: false`, at \
                 least one error, `result: null`. Validated against the spec's own common failure \
                 schema instead, as for every other operation.",
        apply: bulk_failure_envelope,
    },
    Adjustment {
        id: "failure-errors-min-items",
        reason: "The common failure schema puts `minLength: 1` (a string keyword, a no-op on an \
                 array) on `errors`. The contract: a failure has at least one error. Validated as \
                 `minItems: 1`, which is stricter than the spec as written.",
        apply: failure_errors_min_items,
    },
    Adjustment {
        id: "bulk-get-null-and-array-values",
        reason: "In a bulk get without metadata, each value must be a string, number, boolean or \
                 object. The contract (and the spec's own with-metadata variant, which is \
                 nullable): a key that does not exist, or has expired, is `null`; with \
                 `type: \"json\"` any JSON value comes back as parsed, arrays and `null` included. \
                 Validated with `null` and `array` added to the allowed types.",
        apply: bulk_get_null_and_array_values,
    },
    Adjustment {
        id: "deprecated-bulk-delete-body",
        reason: "The deprecated bulk delete (DELETE /bulk) describes its body in words (\"an \
                 array of up to 10,000 keys\") but declares no request body, so a client \
                 following the schema sends none. The contract: the same JSON array of key \
                 names as POST /bulk/delete (wrangler sends it). Declared with the bulk delete \
                 body schema.",
        apply: deprecated_bulk_delete_body,
    },
    Adjustment {
        id: "multipart-metadata-text-part",
        reason: "For a multipart value write the spec's encoding says the `metadata` part is \
                 `application/json`. The contract: `metadata` is a part holding JSON text, and \
                 real clients send it as a plain text part (the `cloudflare` Rust crate and \
                 kv-client: no Content-Type, i.e. text/plain) or as application/json (the \
                 Python SDK). Validated with `text/plain` also allowed; the part must still \
                 parse as JSON and match the metadata schema.",
        apply: multipart_metadata_text_part,
    },
];

/// Applies every adjustment of [`ALL`] to `doc`.
pub(crate) fn apply(doc: &mut Value) {
    for adjustment in ALL {
        (adjustment.apply)(doc);
    }
}

/// The value at `pointer`, which must exist.
fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("adjustment target {pointer} is gone from the spec"))
}

fn bulk_failure_envelope(doc: &mut Value) {
    for operation in [
        format!("{BULK}/put"),
        format!("{BULK}/delete"),
        format!("{BULK_DELETE}/post"),
    ] {
        let schema = at(
            doc,
            &format!("{operation}/responses/4XX/content/application~1json/schema"),
        );
        assert_eq!(
            schema["properties"]["success"]["enum"],
            json!([true]),
            "{operation}: the spec's 4XX schema no longer demands success: true; drop \
             the bulk-failure-envelope adjustment"
        );
        *schema = json!({ "$ref": "#/components/schemas/workers-kv_api-response-common-failure" });
    }
}

fn failure_errors_min_items(doc: &mut Value) {
    let errors = at(
        doc,
        "/components/schemas/workers-kv_api-response-common-failure/properties/errors",
    );
    let map = errors.as_object_mut().expect("errors is a schema object");
    assert_eq!(
        map.remove("minLength"),
        Some(json!(1)),
        "the failure schema no longer has minLength on errors; drop failure-errors-min-items"
    );
    assert!(
        !map.contains_key("minItems"),
        "the spec now has minItems; drop failure-errors-min-items"
    );
    map.insert("minItems".to_owned(), json!(1));
}

fn bulk_get_null_and_array_values(doc: &mut Value) {
    let any_of = at(
        doc,
        "/components/schemas/workers-kv_bulk-get-result/properties/values/additionalProperties/anyOf",
    );
    let list = any_of.as_array_mut().expect("anyOf is an array");
    assert!(
        list.iter()
            .all(|s| s["type"] != "array" && s.get("nullable").is_none()),
        "the spec now allows null or arrays in bulk get values; drop bulk-get-null-and-array-values"
    );
    // OpenAPI 3.0 has no `null` type: "an array, or null" is its spelling of both additions.
    list.push(json!({ "type": "array", "items": {}, "nullable": true }));
}

fn deprecated_bulk_delete_body(doc: &mut Value) {
    let operation = at(doc, &format!("{BULK}/delete"))
        .as_object_mut()
        .expect("an operation object");
    assert!(
        !operation.contains_key("requestBody"),
        "DELETE /bulk now declares a body; drop deprecated-bulk-delete-body"
    );
    operation.insert(
        "requestBody".to_owned(),
        json!({
            "required": true,
            "content": {
                "application/json": {
                    "schema": { "$ref": "#/components/schemas/workers-kv_bulk_delete" }
                }
            }
        }),
    );
}

fn multipart_metadata_text_part(doc: &mut Value) {
    let content_type = at(
        doc,
        &format!(
            "{VALUE}/put/requestBody/content/multipart~1form-data/encoding/metadata/contentType"
        ),
    );
    assert_eq!(
        content_type,
        &json!("application/json"),
        "the spec's metadata part encoding changed; revisit multipart-metadata-text-part"
    );
    *content_type = json!("application/json, text/plain");
}
