//! `edge-kv bulk put | get | delete FILE`: wrangler's formats, odd keys, bad items (index,
//! reason, `--failed FILE`, re-run), broken files (byte offset, nothing sent), stdin.

use serde_json::{Value, json};

use crate::kit::{self, Mock, ODD_KEYS};

/// A put file of every odd key, text and base64 values, metadata and a TTL.
fn odd_put_file() -> Value {
    let items: Vec<Value> = ODD_KEYS
        .iter()
        .enumerate()
        .map(|(i, k)| match i % 3 {
            0 => json!({"key": k, "value": format!("v{i}")}),
            1 => json!({"key": k, "value": "aGk=", "base64": true, "metadata": {"i": i}}),
            _ => json!({"key": k, "value": format!("v{i}"), "expiration_ttl": 600}),
        })
        .collect();
    Value::Array(items)
}

fn expected_value(i: usize) -> Vec<u8> {
    if i % 3 == 1 {
        b"hi".to_vec()
    } else {
        format!("v{i}").into_bytes()
    }
}

#[test]
fn put_get_delete_with_odd_keys() {
    let mock = Mock::start();
    let dir = kit::dir();
    let put = kit::file(&dir, "put.json", odd_put_file().to_string());
    let n = ODD_KEYS.len() as u64;
    let out = mock
        .cli(mock.bulk_args("put", &[&put]))
        .run()
        .code(0)
        .only_summary("put", n, 0);
    assert!(out.stdout.is_empty(), "{:?}", out.text());
    for (i, key) in ODD_KEYS.iter().enumerate() {
        assert_eq!(mock.stored(key), Some(expected_value(i)), "{key}");
    }
    let got = mock
        .cli(mock.key_args("get", &[ODD_KEYS[1], "--metadata"]))
        .run()
        .ok()
        .json();
    assert_eq!(got["metadata"], json!({"i": 1}));

    // bulk get: strings and {"name"} objects (as `key list --json` prints them), one missing.
    let mut keys: Vec<Value> = ODD_KEYS.iter().map(|k| json!(k)).collect();
    keys[0] = json!({"name": ODD_KEYS[0], "metadata": null});
    keys.push(json!("missing"));
    let get = kit::file(&dir, "get.json", Value::Array(keys).to_string());
    let out = mock
        .cli(mock.bulk_args("get", &[&get]))
        .run()
        .code(0)
        .only_summary("get", n + 1, 0);
    let mut want = serde_json::Map::new();
    for (i, key) in ODD_KEYS.iter().enumerate() {
        let v = String::from_utf8(expected_value(i)).expect("text");
        want.insert((*key).to_owned(), json!(v));
    }
    want.insert("missing".to_owned(), Value::Null);
    assert_eq!(out.json(), Value::Object(want));

    let del = kit::file(&dir, "del.json", json!(ODD_KEYS).to_string());
    let out = mock
        .cli(mock.bulk_args("delete", &[&del, "--json"]))
        .run()
        .ok();
    assert_eq!(
        out.json(),
        json!({"operation": "delete", "done": ODD_KEYS.len(), "failed": 0})
    );
    assert_eq!(mock.count(), 0);
}

#[test]
fn dash_reads_stdin() {
    let mock = Mock::start();
    let out = mock
        .cli(mock.bulk_args("put", &["-", "--json"]))
        .stdin(odd_put_file().to_string())
        .run()
        .ok();
    assert_eq!(
        out.json(),
        json!({"operation": "put", "done": ODD_KEYS.len(), "failed": 0})
    );
    let out = mock
        .cli(mock.bulk_args("get", &["-"]))
        .stdin(json!([ODD_KEYS[4]]).to_string())
        .run()
        .code(0)
        .only_summary("get", 1, 0);
    assert_eq!(out.json(), json!({ODD_KEYS[4]: "hi"}));
    mock.cli(mock.bulk_args("delete", &["-"]))
        .stdin(json!(ODD_KEYS).to_string())
        .run()
        .code(0)
        .only_summary("delete", ODD_KEYS.len() as u64, 0);
    assert_eq!(mock.count(), 0);
}

#[test]
fn bad_items_are_reported_written_to_failed_and_rerun_once_fixed() {
    let mock = Mock::start();
    let dir = kit::dir();
    let items = [
        r#"{"key": "good/0", "value": "zero"}"#,
        r#"{"key": "bad ttl", "value": "one", "expiration_ttl": 5}"#,
        r#"{"key": "good/2", "value": "two"}"#,
        r#"{"key": "no value"}"#,
        r#"{"key": "good/4", "value": "AAEC", "base64": true}"#,
        r#"{"key": "bad/b64", "value": "***", "base64": true}"#,
    ];
    let text = format!("[\n  {}\n]\n", items.join(",\n  "));
    let offset = |i: usize| text.find(items[i]).expect("in the file");
    let input = kit::file(&dir, "in.json", &text);
    let failed = dir.path().join("failed.json");
    let failed_arg = failed.to_str().expect("UTF-8").to_owned();
    let out = mock
        .cli(mock.bulk_args("put", &[&input, "--failed", &failed_arg]))
        .run()
        .code(4);
    let mut lines: Vec<&str> = out.stderr.lines().collect();
    assert!(kit::is_summary(lines[3], "put", 3, 3), "{}", lines[3]);
    lines[3] = "(summary)";
    assert_eq!(
        lines,
        [
            format!("edge-kv: item 1 (byte {}, key \"bad ttl\"): Invalid expiration_ttl of 5. Expiration TTL must be at least 60.", offset(1)).as_str(),
            &format!("edge-kv: item 3 (byte {}): expected an object {{\"key\": string, \"value\": string, ...}}: missing field `value` at line 1 column 19", offset(3)),
            &format!("edge-kv: item 5 (byte {}, key \"bad/b64\"): `base64` is true but the value is not base64: Invalid symbol 42, offset 0.", offset(5)),
            "(summary)",
            "edge-kv: error: 3 of 6 items failed",
        ]
    );
    assert_eq!(mock.stored("good/0").as_deref(), Some(&b"zero"[..]));
    assert_eq!(mock.stored("good/2").as_deref(), Some(&b"two"[..]));
    assert_eq!(mock.stored("good/4").as_deref(), Some(&[0u8, 1, 2][..]));
    assert_eq!(mock.count(), 3);

    // --failed holds exactly the bad items, as they were written, in a JSON array.
    let written = std::fs::read_to_string(&failed).expect("the failed file");
    let parsed: Vec<Value> = serde_json::from_str(&written).expect("a JSON array");
    let want: Vec<Value> = [1, 3, 5]
        .iter()
        .map(|&i| serde_json::from_str(items[i]).expect("JSON"))
        .collect();
    assert_eq!(parsed, want);
    for i in [1, 3, 5] {
        assert!(written.contains(items[i]), "byte for byte: {written}");
    }

    // Fixed by hand, the failed file goes through.
    let fixed: Vec<Value> = parsed
        .into_iter()
        .map(|mut v| {
            v["expiration_ttl"] = json!(600);
            v["value"] = json!("Zml4ZWQ=");
            v["base64"] = json!(true);
            v
        })
        .collect();
    std::fs::write(&failed, Value::Array(fixed).to_string()).expect("rewritten");
    let again = dir.path().join("again.json");
    let again_arg = again.to_str().expect("UTF-8").to_owned();
    let out = mock
        .cli(mock.bulk_args("put", &[&failed_arg, "--failed", &again_arg]))
        .run()
        .code(0);
    out.only_summary("put", 3, 0);
    for key in ["bad ttl", "no value", "bad/b64"] {
        assert_eq!(mock.stored(key).as_deref(), Some(&b"fixed"[..]), "{key}");
    }
    assert_eq!(std::fs::read_to_string(&again).expect("written"), "[]\n");
}

#[test]
fn bad_keys_in_get_and_delete_files_are_items_too() {
    let mock = Mock::start();
    mock.cli(mock.key_args("put", &["k", "v"])).run().ok();
    let dir = kit::dir();
    let text = format!(r#"["k", 7, "{}"]"#, "x".repeat(513));
    let file = kit::file(&dir, "keys.json", &text);
    let out = mock.cli(mock.bulk_args("get", &[&file])).run().code(4);
    assert_eq!(out.json(), json!({"k": "v"}));
    assert!(
        out.stderr
            .contains("edge-kv: item 1 (byte 6): expected a key"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("edge-kv: item 2 (byte 9, key \"xxx"),
        "{}",
        out.stderr
    );
    let out = mock.cli(mock.bulk_args("delete", &[&file])).run().code(4);
    let summary = out.stderr.lines().nth(2).expect("a summary");
    assert!(kit::is_summary(summary, "delete", 1, 2), "{}", out.stderr);
    assert_eq!(mock.stored("k"), None);
}

#[test]
fn a_broken_file_stops_at_its_byte_offset_and_sends_nothing_from_the_first_batch() {
    let mock = Mock::start();
    let dir = kit::dir();
    // Broken inside an item, and between items.
    for (text, offset) in [
        // Where the parser stops: at the `}` after `tru`.
        (
            r#"[{"key": "a", "value": "1"}, {"key": "b", "value": tru}]"#,
            54,
        ),
        (
            r#"[{"key": "a", "value": "1"} {"key": "b", "value": "2"}]"#,
            28,
        ),
        (r#"{"key": "a", "value": "1"}"#, 0),
    ] {
        let file = kit::file(&dir, "broken.json", text);
        let out = mock.cli(mock.bulk_args("put", &[&file])).run().code(5);
        assert!(out.stdout.is_empty());
        assert!(
            out.stderr.starts_with(&format!(
                "edge-kv: error: not a JSON array of items at byte {offset}: "
            )),
            "{text}: {}",
            out.stderr
        );
        // stdin too.
        let out = mock
            .cli(mock.bulk_args("put", &["-"]))
            .stdin(text)
            .run()
            .code(5);
        assert!(
            out.stderr.contains(&format!("at byte {offset}: ")),
            "{}",
            out.stderr
        );
    }
    assert!(mock.requests().is_empty(), "sent: {:?}", mock.requests());
    assert_eq!(mock.count(), 0);
}

/// A put file of `n` small items followed by a break; gives it and the break's offset.
fn broken_after(n: usize) -> (String, usize) {
    let mut text = String::from("[");
    for i in 0..n {
        text.push_str(&format!(r#"{{"key": "k{i:05}", "value": "v"}},"#));
    }
    let offset = text.len();
    text.push_str("oops]");
    (text, offset)
}

#[test]
fn a_break_within_the_first_chunk_sends_nothing_after_it_sends_what_came_before() {
    let mock = Mock::start();
    let dir = kit::dir();
    // The first chunk: --chunk-items.
    let (text, offset) = broken_after(999);
    let file = kit::file(&dir, "early.json", &text);
    let out = mock
        .cli(mock.bulk_args("put", &[&file, "--chunk-items", "1000"]))
        .run()
        .code(5);
    assert!(
        out.stderr.starts_with(&format!(
            "edge-kv: error: not a JSON array of items at byte {offset}: "
        )),
        "{}",
        out.stderr
    );
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    assert!(
        mock.requests().is_empty(),
        "sent: {:?}",
        mock.requests().len()
    );

    let (text, offset) = broken_after(1_500);
    let file = kit::file(&dir, "late.json", &text);
    let out = mock
        .cli(mock.bulk_args("put", &[&file, "--chunk-items", "1000"]))
        .run()
        .code(5);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(kit::is_summary(lines[0], "put", 1_500, 0), "{}", lines[0]);
    assert!(
        lines[1].contains(&format!("at byte {offset}: ")),
        "{}",
        lines[1]
    );
    assert_eq!(mock.count(), 1_500);
    // Two requests: the chunk of 1,000, then the 500 before the break.
    let bulk: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/bulk"))
        .collect();
    assert_eq!(bulk.len(), 2, "{bulk:?}");
}

#[test]
fn items_the_service_refuses_go_to_failed_with_their_input_index_from_a_file_or_stdin() {
    let mock = Mock::start();
    let dir = kit::dir();
    // A bad item first, so the service's failures must be mapped back past it.
    let text =
        r#"[{"key": "", "value": "0"}, {"key": "a", "value": "1"}, {"key": "b", "value": "2"}]"#;
    let file = kit::file(&dir, "in.json", text);
    let failed = dir.path().join("failed.json");
    let failed_arg = failed.to_str().expect("UTF-8").to_owned();
    for from_stdin in [false, true] {
        mock.mock().inject(
            kv_mock::Fault::status(403)
                .times(1)
                .matching(kv_mock::FaultMatch::method("PUT").with_path("/bulk")),
        );
        let run = if from_stdin {
            mock.cli(mock.bulk_args("put", &["-", "--failed", &failed_arg]))
                .stdin(text)
        } else {
            mock.cli(mock.bulk_args("put", &[&file, "--failed", &failed_arg]))
        };
        let out = run.run().code(4);
        let lines: Vec<&str> = out.stderr.lines().collect();
        assert_eq!(lines.len(), 5, "{}", out.stderr);
        assert!(
            lines[0].starts_with("edge-kv: item 0 (byte 1, key \"\"): "),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("edge-kv: item 1 (key \"a\"): "),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("403"), "{}", lines[1]);
        assert!(
            lines[2].starts_with("edge-kv: item 2 (key \"b\"): "),
            "{}",
            lines[2]
        );
        assert!(kit::is_summary(lines[3], "put", 0, 3), "{}", lines[3]);
        let written = std::fs::read_to_string(&failed).expect("written");
        assert_eq!(
            written,
            "[\n{\"key\": \"\", \"value\": \"0\"},\n{\"key\": \"a\", \"value\": \"1\"},\n{\"key\": \"b\", \"value\": \"2\"}\n]\n",
            "stdin: {from_stdin}"
        );
    }
    assert_eq!(mock.count(), 0);
    // Re-run the failed file as is: the fault is spent, the two good ones go.
    let out = mock
        .cli(mock.bulk_args("put", &[&failed_arg]))
        .run()
        .code(4);
    assert!(
        kit::is_summary(out.stderr.lines().nth(1).expect("a summary"), "put", 2, 1),
        "{}",
        out.stderr
    );
    assert_eq!(mock.count(), 2);
}
