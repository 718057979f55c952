//! The progress bar: drawn on a terminal (the binary run under a pseudo-terminal with
//! `script`, from util-linux), ending with the summary; piped, no control character at all.

use std::process::Command;

use serde_json::json;

use crate::kit::{self, Mock};

/// A put file of `n` items with 1 KiB values: several chunks, so the bar has time to draw.
fn put_file(dir: &tempfile::TempDir, n: usize) -> String {
    let items: Vec<_> = (0..n)
        .map(|i| json!({"key": format!("bar/{i:05}"), "value": "x".repeat(1024)}))
        .collect();
    kit::file(dir, "put.json", serde_json::Value::Array(items).to_string())
}

/// `s` quoted for `sh -c`.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What a terminal would show last: the text after the last carriage return or erase, with
/// escape sequences removed.
fn last_screen_line(raw: &str) -> String {
    let mut plain = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters final-byte.
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        plain.push(c);
    }
    plain
        .split(['\r', '\n'])
        .map(str::trim_end)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn on_a_terminal_a_bar_is_drawn_and_ends_with_the_summary() {
    let mock = Mock::start();
    let dir = kit::dir();
    let file = put_file(&dir, 3000);
    let args: Vec<String> = mock.bulk_args("put", &[&file]);
    let line = std::iter::once(env!("CARGO_BIN_EXE_edge-kv").to_owned())
        .chain(args)
        .map(|a| quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let m = mock.mock();
    let output = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env("CLOUDFLARE_API_TOKEN", kit::TOKEN)
        .env("CLOUDFLARE_ACCOUNT_ID", m.account_id())
        .env("CLOUDFLARE_API_BASE_URL", m.base_url())
        .env("TERM", "xterm")
        .env_remove("RUST_LOG")
        .output()
        .expect("`script` (util-linux) runs");
    let raw = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{raw}");
    // The bar: redrawn in place (carriage returns and erase-line sequences), with its parts.
    assert!(raw.contains("\x1b[2K"), "no erase-line sequence: {raw:?}");
    assert!(raw.contains('\r'), "no carriage return: {raw:?}");
    assert!(raw.contains("MiB/"), "no bytes of the total: {raw:?}");
    assert!(raw.contains(" left, "), "no time left: {raw:?}");
    assert!(raw.contains(" keys, "), "no keys done: {raw:?}");
    assert!(raw.contains("[===="), "no bar: {raw:?}");
    // It ends with the summary, the bar cleared.
    let last = last_screen_line(&raw);
    assert!(
        kit::is_summary(&last, "put", 3000, 0),
        "{last:?} in {raw:?}"
    );
    assert_eq!(mock.count(), 3000);
}

#[test]
fn piped_no_control_character_is_written() {
    let mock = Mock::start();
    let dir = kit::dir();
    let mut text = put_file(&dir, 2500);
    text = std::fs::read_to_string(&text).expect("written");
    text.insert_str(1, r#"{"key": "", "value": "bad"},"#);
    let file = kit::file(&dir, "with-bad.json", &text);
    let out = mock.cli(mock.bulk_args("put", &[&file])).run().code(4);
    assert!(
        !out.stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{:?}",
        out.stderr
    );
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stderr);
    assert!(
        lines[0].starts_with("edge-kv: item 0 (byte 1, key \"\"): "),
        "{}",
        lines[0]
    );
    assert!(kit::is_summary(lines[1], "put", 2500, 1), "{}", lines[1]);
    assert_eq!(lines[2], "edge-kv: error: 1 of 2501 items failed");
}
