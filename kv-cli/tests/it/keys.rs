//! `edge-kv key put | get | list | delete` with every odd key, as text and as `--json`.

use serde_json::json;

use crate::kit::{self, Mock, ODD_KEYS};

#[test]
fn odd_keys_round_trip_through_every_key_command() {
    let mock = Mock::start();
    let ns = mock.ns().to_owned();
    for key in ODD_KEYS {
        let value = format!("value of {key}");
        let out = mock.cli(mock.key_args("put", &[key, &value])).run().ok();
        assert_eq!(out.text(), format!("Wrote key {key:?} in namespace {ns}\n"));
        assert_eq!(mock.stored(key).as_deref(), Some(value.as_bytes()), "{key}");

        let out = mock.cli(mock.key_args("get", &[key])).run().ok();
        assert_eq!(out.stdout, value.as_bytes(), "raw bytes, no newline: {key}");
        let out = mock.cli(mock.key_args("get", &[key, "--text"])).run().ok();
        assert_eq!(out.text(), format!("{value}\n"));
        let out = mock.cli(mock.key_args("get", &[key, "--json"])).run().ok();
        assert_eq!(
            out.json(),
            json!({"key": key, "value": value, "base64": false})
        );

        let out = mock
            .cli(mock.key_args("list", &["--prefix", key]))
            .run()
            .ok();
        assert_eq!(out.text(), format!("{key}\t-\t-\n"));
        let out = mock
            .cli(mock.key_args("list", &["--prefix", key, "--json"]))
            .run()
            .ok();
        assert_eq!(out.json(), json!([{"name": key}]));
    }
    // Every key is there once, in byte order.
    let out = mock
        .cli(mock.key_args("list", &["--all", "--json"]))
        .run()
        .ok();
    let names: Vec<String> = out
        .text()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            v["name"].as_str().expect("a name").to_owned()
        })
        .collect();
    let mut want: Vec<String> = ODD_KEYS.iter().map(|k| (*k).to_owned()).collect();
    want.sort();
    assert_eq!(names, want);

    for key in ODD_KEYS {
        let out = mock.cli(mock.key_args("delete", &[key])).run().ok();
        assert_eq!(
            out.text(),
            format!("Deleted key {key:?} in namespace {ns}\n")
        );
        assert_eq!(mock.stored(key), None, "{key}");
        let out = mock.cli(mock.key_args("get", &[key])).run().code(3);
        assert!(out.stdout.is_empty());
        assert_eq!(
            out.stderr,
            format!("edge-kv: error: key {key:?} not found in namespace {ns}\n")
        );
    }
    let out = mock
        .cli(mock.key_args("delete", &["gone", "--json"]))
        .run()
        .ok();
    assert_eq!(
        out.json(),
        json!({"key": "gone", "namespace_id": ns, "deleted": true})
    );
}

#[test]
fn put_with_metadata_ttl_and_a_binary_file() {
    let mock = Mock::start();
    let dir = kit::dir();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let path = kit::file(&dir, "blob.bin", &bytes);
    let key = "bin/ä b?#%";
    let out = mock
        .cli(mock.key_args(
            "put",
            &[
                key,
                "--path",
                &path,
                "--metadata",
                r#"{"by":"cli","n":2}"#,
                "--ttl",
                "3600",
                "--json",
            ],
        ))
        .run()
        .ok();
    assert_eq!(
        out.json(),
        json!({"key": key, "namespace_id": mock.ns(), "written": true})
    );
    assert_eq!(mock.stored(key).as_deref(), Some(&bytes[..]));

    let out = mock.cli(mock.key_args("get", &[key])).run().ok();
    assert_eq!(out.stdout, bytes, "byte for byte");
    let out = mock
        .cli(mock.key_args("get", &[key, "--text"]))
        .run()
        .code(2);
    assert!(out.stderr.contains("is not UTF-8"), "{}", out.stderr);

    let got = mock
        .cli(mock.key_args("get", &[key, "--metadata"]))
        .run()
        .ok()
        .json();
    assert_eq!(got["key"], key);
    assert_eq!(got["base64"], true);
    assert_eq!(got["metadata"], json!({"by": "cli", "n": 2}));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let expiration = got["expiration"].as_u64().expect("an expiration");
    assert!(
        expiration > now + 3500 && expiration <= now + 3601,
        "{expiration}"
    );
    let value = got["value"].as_str().expect("base64 text");
    use base64::Engine;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value)
        .expect("base64");
    assert_eq!(decoded, bytes);

    let out = mock
        .cli(mock.key_args("list", &["--prefix", "bin/"]))
        .run()
        .ok();
    assert_eq!(
        out.text(),
        format!("{key}\t{expiration}\t{{\"by\":\"cli\",\"n\":2}}\n")
    );
}

#[test]
fn rules_broken_before_sending_exit_2_and_name_the_rule() {
    let mock = Mock::start();
    let out = mock
        .cli(mock.key_args("put", &["k", "v", "--ttl", "5"]))
        .run()
        .code(2);
    assert!(out.stderr.contains("60"), "{}", out.stderr);
    let out = mock
        .cli(mock.key_args("put", &["k", "v", "--metadata", "{not json"]))
        .run()
        .code(2);
    assert!(out.stderr.contains("--metadata"), "{}", out.stderr);
    let long = "k".repeat(513);
    let out = mock.cli(mock.key_args("put", &[&long, "v"])).run().code(2);
    assert!(out.stderr.contains("512"), "{}", out.stderr);
    assert!(mock.requests().is_empty(), "nothing was sent");
    // clap's own usage errors also exit 2.
    let out = mock.cli(["key", "get", "k"]).run().code(2);
    assert!(out.stderr.contains("--namespace-id"), "{}", out.stderr);
}

#[test]
fn list_pages_with_cursor_and_all() {
    let mock = Mock::start();
    for i in 0..15 {
        mock.cli(mock.key_args("put", &[&format!("p/{i:02}"), "v"]))
            .run()
            .ok();
    }
    let out = mock
        .cli(mock.key_args("list", &["--limit", "10"]))
        .run()
        .code(0);
    assert_eq!(out.text().lines().count(), 10);
    let cursor = out
        .stderr
        .strip_prefix("more keys follow: --cursor ")
        .and_then(|s| s.strip_suffix(" or --all\n"))
        .unwrap_or_else(|| panic!("{}", out.stderr))
        .to_owned();
    let out = mock
        .cli(mock.key_args("list", &["--limit", "10", "--cursor", &cursor, "--json"]))
        .run()
        .ok();
    let rest: Vec<String> = out
        .json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|k| k["name"].as_str().expect("a name").to_owned())
        .collect();
    assert_eq!(rest, (10..15).map(|i| format!("p/{i}")).collect::<Vec<_>>());
    let out = mock
        .cli(mock.key_args("list", &["--limit", "10", "--all"]))
        .run()
        .ok();
    assert_eq!(out.text().lines().count(), 15);
}

#[test]
fn namespace_by_title() {
    let mock = Mock::start();
    let out = mock
        .cli([
            "key",
            "put",
            "--namespace",
            "cli default",
            "t/k",
            "by title",
        ])
        .run()
        .ok();
    assert!(out.text().contains(mock.ns()), "{}", out.text());
    assert_eq!(mock.stored("t/k").as_deref(), Some(&b"by title"[..]));
    let out = mock
        .cli(["key", "get", "--namespace", "no such title", "t/k"])
        .run()
        .code(3);
    assert_eq!(
        out.stderr,
        "edge-kv: error: no namespace titled \"no such title\" in the account\n"
    );
}
