//! `edge-kv namespace create | list | rename | delete`, as text and as `--json`.

use crate::kit::Mock;

/// The `id<TAB>title` lines of `namespace list`.
fn listed(mock: &Mock) -> Vec<(String, String)> {
    let out = mock.cli(["namespace", "list"]).run().ok();
    out.text()
        .lines()
        .map(|l| {
            let (id, title) = l.split_once('\t').expect("id<TAB>title");
            (id.to_owned(), title.to_owned())
        })
        .collect()
}

#[test]
fn create_list_rename_delete_as_text() {
    let mock = Mock::start();
    let out = mock.cli(["namespace", "create", "my title/ü"]).run().ok();
    let text = out.text();
    let id = text
        .strip_prefix("Created namespace \"my title/ü\" with id ")
        .and_then(|s| s.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("{text:?}"))
        .to_owned();
    assert_eq!(id.len(), 32, "{id}");
    assert_eq!(
        listed(&mock),
        [
            (mock.ns().to_owned(), "cli default".to_owned()),
            (id.clone(), "my title/ü".to_owned())
        ]
    );

    let out = mock.cli(["namespace", "rename", &id, "renamed"]).run().ok();
    assert_eq!(
        out.text(),
        format!("Renamed namespace {id} to \"renamed\"\n")
    );
    assert!(listed(&mock).contains(&(id.clone(), "renamed".to_owned())));

    let out = mock.cli(["namespace", "delete", &id]).run().ok();
    assert_eq!(out.text(), format!("Deleted namespace {id}\n"));
    assert_eq!(listed(&mock).len(), 1);
}

#[test]
fn json_output_parses_back() {
    let mock = Mock::start();
    let created = mock
        .cli(["--json", "namespace", "create", "j"])
        .run()
        .ok()
        .json();
    assert_eq!(created["title"], "j");
    let id = created["id"].as_str().expect("an id").to_owned();

    let all = mock.cli(["namespace", "list", "--json"]).run().ok().json();
    let all = all.as_array().expect("an array");
    assert_eq!(all.len(), 2);
    assert!(
        all.iter()
            .any(|n| n["id"] == id.as_str() && n["title"] == "j")
    );

    let renamed = mock
        .cli(["namespace", "rename", &id, "k", "--json"])
        .run()
        .ok()
        .json();
    assert_eq!(renamed, serde_json::json!({"id": id, "title": "k"}));
    let deleted = mock
        .cli(["namespace", "delete", &id, "--json"])
        .run()
        .ok()
        .json();
    assert_eq!(deleted, serde_json::json!({"id": id, "deleted": true}));
}

#[test]
fn a_missing_namespace_exits_3_and_a_duplicate_title_exits_2_with_the_code() {
    let mock = Mock::start();
    let missing = "0123456789abcdef0123456789abcdef";
    for args in [
        vec!["namespace", "rename", missing, "x"],
        vec!["namespace", "delete", missing],
    ] {
        let out = mock.cli(&args).run().code(3);
        assert!(out.stdout.is_empty());
        assert!(out.stderr.starts_with("edge-kv: error: "), "{}", out.stderr);
        assert!(out.stderr.contains("404"), "{}", out.stderr);
    }
    // The service refuses the argument: a usage error, with the service's status and code.
    let out = mock
        .cli(["namespace", "create", "cli default"])
        .run()
        .code(2);
    assert!(out.stderr.contains("HTTP 400"), "{}", out.stderr);
    assert!(out.stderr.contains("[10014]"), "{}", out.stderr);
}
