//! The web page at `/__mock/ui` in a real browser: headless Chromium (Debian's `chromium`)
//! driven over WebDriver by `chromedriver` (Debian's `chromium-driver`) with `fantoccini`.
//! `.ci/run` installs both before the tests, so in CI this always runs; elsewhere, without them,
//! it says so and passes. Screenshots at 1280x800 and at phone width are kept in
//! `target/tmp/ui/` (`CARGO_TARGET_TMPDIR`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use kv_mock::{Clock, KvMock};
use serde_json::{Value as Json, json};

const T0: u64 = 1_700_000_000;
/// A key with every character a path mangles: `/`, `%`, `?`, `#`, a space and non-ASCII.
const KEY: &str = "dir/a b%20?x#y é";
const HOSTILE: &str = "<script>alert(1)</script>";
/// How long a wait for the page lasts at most.
const WAIT: Duration = Duration::from_secs(15);
/// How long to keep asking chromedriver for a session. A loaded machine (CI runs this beside
/// every other test, on 2 cores) can make Chromium's first start fail ("DevToolsActivePort file
/// doesn't exist"); a later attempt starts it.
const SESSION_WAIT: Duration = Duration::from_secs(120);

/// Stops chromedriver (and so the browser) however the test ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs `script` in the page until it returns something truthy (or the wait ends); returns it.
async fn wait_for(c: &Client, what: &str, script: &str, args: Vec<Json>) -> Json {
    let start = Instant::now();
    loop {
        let v = c.execute(script, args.clone()).await.expect("script runs");
        let truthy = match &v {
            Json::Null | Json::Bool(false) => false,
            Json::String(s) => !s.is_empty(),
            _ => true,
        };
        if truthy {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn text_of(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .expect("element")
        .text()
        .await
        .expect("text")
}

async fn fill(c: &Client, css: &str, value: &str) {
    let e = c.find(Locator::Css(css)).await.expect("input");
    e.clear().await.expect("clear");
    e.send_keys(value).await.expect("type");
}

/// Clicks the element. A panel that re-renders on its 2 s poll can replace or cover the element
/// between the find and the click (once seen in a full `cargo test` run): find it again and
/// retry until [`WAIT`].
async fn click(c: &Client, css: &str) {
    let start = Instant::now();
    loop {
        let clicked = match c.find(Locator::Css(css)).await {
            Ok(e) => e.click().await,
            Err(e) => Err(e),
        };
        match clicked {
            Ok(()) => return,
            Err(e) if start.elapsed() < WAIT => {
                tracing::debug!(css, error = %e, "click not taken yet");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("could not click {css}: {e}"),
        }
    }
}

async fn screenshot(c: &Client, dir: &Path, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(name), png).expect("write the screenshot");
}

/// The key's row in the keys table, found by its `data-key` attribute (no CSS escaping).
const KEY_ROW: &str = "return [...document.querySelectorAll('#keys-table tbody tr')]\
    .find(r => r.getAttribute('data-key') === arguments[0])?.textContent ?? null;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_and_changes_the_mock_in_a_real_browser() {
    let (Some(chromium), Some(chromedriver)) = (
        find_program(&["chromium", "chromium-browser"]),
        find_program(&["chromedriver"]),
    ) else {
        // CI (.ci/run) installs both and sets this, so there the test can never skip.
        assert!(
            std::env::var_os("KV_MOCK_REQUIRE_BROWSER").is_none(),
            "KV_MOCK_REQUIRE_BROWSER is set but chromium or chromedriver is not on PATH"
        );
        eprintln!(
            "SKIPPED the browser test: chromium and chromedriver are not installed \
             (apt-get install -y chromium chromium-driver; .ci/run installs them)"
        );
        return;
    };
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui");
    let profile = artifacts.join(format!("profile-{}", std::process::id()));
    std::fs::create_dir_all(&profile).expect("artifact dir");

    let mock = KvMock::builder()
        .clock(Clock::frozen_at(T0))
        .rate_limit(false)
        .start()
        .await
        .expect("mock");
    let port = free_port();
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!(
                "--log-path={}",
                artifacts.join("chromedriver.log").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,800", format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let webdriver = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let c = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(c) => break c,
            Err(e) if started.elapsed() < SESSION_WAIT => {
                tracing::debug!(error = %e, "no WebDriver session yet");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!(
                "no WebDriver session within {SESSION_WAIT:?}: {e} (chromedriver's log: {})",
                artifacts.join("chromedriver.log").display()
            ),
        }
    };

    c.goto(&mock.ui_url()).await.expect("open the page");
    wait_for(
        &c,
        "the page to start",
        "return document.body.getAttribute('data-ready') === 'yes';",
        vec![],
    )
    .await;

    // Create a namespace: it is listed and selected.
    fill(&c, "#namespace-title", "ui test").await;
    click(&c, "#namespace-create button").await;
    wait_for(
        &c,
        "the new namespace, selected",
        "return document.querySelector('#namespace-list li.selected')?.textContent.includes('ui test');",
        vec![],
    )
    .await;
    assert_eq!(text_of(&c, "#keys-namespace").await, "in ui test");

    // A TTL under 60 is refused with the API's own message.
    fill(&c, "#put-key", KEY).await;
    fill(&c, "#put-value", HOSTILE).await;
    fill(&c, "#put-metadata", r#"{"owner":"<b>me</b>"}"#).await;
    fill(&c, "#put-ttl", "30").await;
    click(&c, "#put-form button[type=submit]").await;
    let error = wait_for(
        &c,
        "the API's error",
        "return document.getElementById('put-error').textContent;",
        vec![],
    )
    .await;
    assert!(
        error.as_str().is_some_and(
            |e| e.contains("HTTP 400") && e.contains("Expiration TTL must be at least 60")
        ),
        "{error}"
    );

    // Put with metadata and a TTL of 5 minutes: listed with its expiration, opened as text.
    fill(&c, "#put-ttl", "300").await;
    click(&c, "#put-form button[type=submit]").await;
    let row = wait_for(&c, "the key's row", KEY_ROW, vec![json!(KEY)]).await;
    let row = row.as_str().unwrap_or_default().to_owned();
    assert!(row.contains("2023-11-14T22:18:20Z"), "absolute: {row}");
    assert!(row.contains("in 5 min"), "relative: {row}");
    assert!(
        row.contains(r#"{"owner":"<b>me</b>"}"#),
        "metadata as text: {row}"
    );
    wait_for(
        &c,
        "the opened key",
        "return document.getElementById('viewer-key').textContent === arguments[0];",
        vec![json!(KEY)],
    )
    .await;
    assert_eq!(text_of(&c, "#viewer-value").await, HOSTILE);
    let info = text_of(&c, "#viewer-info").await;
    assert!(info.starts_with("text, 25 B (25 bytes)"), "{info}");
    assert!(
        text_of(&c, "#viewer-metadata")
            .await
            .contains("\"<b>me</b>\"")
    );
    let injected = c
        .execute(
            "return document.querySelectorAll('main script, main b').length;",
            vec![],
        )
        .await
        .expect("script runs");
    assert_eq!(
        injected,
        json!(0),
        "nothing from the data became an element"
    );
    assert!(
        c.get_alert_text().await.is_err(),
        "no alert was opened by the value"
    );
    // What the engine holds is what the page sent.
    let ns = mock
        .engine()
        .list_namespaces()
        .into_iter()
        .find(|n| n.title == "ui test")
        .expect("the namespace the page created");
    let entry = mock.engine().entry(&ns.id, KEY).expect("stored");
    assert_eq!(&entry.value[..], HOSTILE.as_bytes());
    assert_eq!(entry.expiration, Some(T0 + 300));

    // The request log shows the page's requests, newest first.
    let log = wait_for(
        &c,
        "the PUT in the log",
        "return [...document.querySelectorAll('#requests-table tbody tr')].map(r => r.textContent).join('\\n');",
        vec![],
    )
    .await;
    let log = log.as_str().unwrap_or_default();
    assert!(log.contains(&format!("PUT{KEY}200")), "{log}");
    assert!(log.contains(&format!("PUT{KEY}400")), "{log}");

    screenshot(&c, &artifacts, "desktop-1280x800.png").await;

    // Advance the clock past the TTL: the key is gone from the list and from the viewer.
    fill(&c, "#advance-amount", "6").await;
    c.find(Locator::Css("#advance-unit"))
        .await
        .expect("unit")
        .select_by_value("60")
        .await
        .expect("minutes");
    click(&c, "#advance-form button").await;
    wait_for(
        &c,
        "the key to be gone",
        "return ![...document.querySelectorAll('#keys-table tbody tr')]\
            .some(r => r.getAttribute('data-key') === arguments[0]);",
        vec![json!(KEY)],
    )
    .await;
    assert!(text_of(&c, "#viewer-info").await.starts_with("gone"));
    assert_eq!(text_of(&c, "#clock-now").await, "2023-11-14T22:19:20Z");
    assert_eq!(mock.clock().now_secs(), T0 + 360);

    // A binary value opens as a hex dump with its size.
    mock.engine()
        .seed(
            &ns.id,
            "blob",
            &[0u8, 1, 2, 0xff][..],
            kv_types::PutOptions::new(),
        )
        .expect("seed");
    click(&c, "#keys-filter button").await;
    wait_for(&c, "the seeded key", KEY_ROW, vec![json!("blob")]).await;
    click(&c, "#keys-table tbody tr[data-key=blob] button").await;
    wait_for(
        &c,
        "the hex dump",
        "return document.getElementById('viewer-info').textContent.startsWith('binary, 4 B');",
        vec![],
    )
    .await;
    assert!(
        text_of(&c, "#viewer-value")
            .await
            .starts_with("00000000  00 01 02 ff")
    );

    // A fault added from the page waits until cleared.
    fill(&c, "#fault-method", "GET").await;
    click(&c, "#fault-form button[type=submit]").await;
    wait_for(
        &c,
        "the fault in the list",
        "return document.getElementById('fault-list').textContent\
            .includes('status 503, 1 more time(s), on GET');",
        vec![],
    )
    .await;
    assert_eq!(mock.pending_faults().len(), 1);
    click(&c, "#faults-clear").await;
    wait_for(
        &c,
        "no fault",
        "return document.getElementById('fault-list').textContent === 'none';",
        vec![],
    )
    .await;
    assert!(mock.pending_faults().is_empty());

    // Snapshots: take one, change the data behind the page's back, restore it from the page.
    click(&c, "#snapshot-take").await;
    wait_for(
        &c,
        "the snapshot listed",
        "return document.querySelectorAll('#snapshot-list li[data-id]').length === 1;",
        vec![],
    )
    .await;
    assert_eq!(mock.engine().snapshots().len(), 1);
    let handle = mock.engine().namespace(&ns.id).expect("namespace");
    handle
        .delete_sync("blob")
        .expect("delete behind the page's back");
    click(&c, "#snapshot-list li[data-id] button").await;
    let started = Instant::now();
    while mock.engine().entry(&ns.id, "blob").is_none() {
        if started.elapsed() > WAIT {
            let shown = c
                .execute(
                    "return [document.getElementById('snapshot-error').textContent, \
                     document.getElementById('snapshot-list').innerText, \
                     document.getElementById('message').textContent];",
                    vec![],
                )
                .await
                .expect("script runs");
            panic!("the restore from the page did not happen: {shown}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Rename the namespace in place.
    let li = format!("#namespace-list li[data-id='{}']", ns.id);
    click(&c, &format!("{li} button:nth-of-type(2)")).await;
    fill(&c, &format!("{li} input"), "ui renamed").await;
    click(&c, &format!("{li} button[type=submit]")).await;
    wait_for(
        &c,
        "the renamed namespace",
        "return document.getElementById('keys-namespace').textContent === 'in ui renamed';",
        vec![],
    )
    .await;
    let renamed = mock.engine().get_namespace(&ns.id).expect("still there");
    assert_eq!(renamed.title, "ui renamed");

    // Locations: hidden without them (the mock above); with them (a mock of its own) the panel
    // lists the writes on their way, and Settle delivers them.
    let hidden = c
        .execute(
            "return document.getElementById('locations').hidden;",
            vec![],
        )
        .await
        .expect("script runs");
    assert_eq!(
        hidden,
        Json::Bool(true),
        "no locations panel without locations"
    );
    let located = KvMock::builder()
        .locations(["iad", "fra"])
        .propagation_delay(kv_mock::PropagationDelay::fixed(Duration::from_secs(30)))
        .clock(Clock::frozen_at(T0))
        .start()
        .await
        .expect("mock with locations");
    let iad = located.store().expect("the default namespace");
    iad.put_sync("travelling", "v".into(), kv_types::PutOptions::new())
        .expect("put at iad");
    c.goto(&located.ui_url()).await.expect("open the page");
    let pending_rows = "return document.getElementById('locations').hidden === false && \
        [...document.querySelectorAll('#pending-table tbody tr')].map(r => r.textContent).join('|');";
    let rows = wait_for(&c, "the pending write", pending_rows, vec![]).await;
    assert_eq!(rows, json!("travellingputiad → frain 30.0 s"));
    click(&c, "#locations-settle").await;
    wait_for(
        &c,
        "settled",
        "return document.querySelectorAll('#pending-table tbody tr').length === 0;",
        vec![],
    )
    .await;
    let at_fra = located.store_at("fra").expect("fra");
    assert!(at_fra.get_sync("travelling").expect("get").is_some());
    screenshot(&c, &artifacts, "locations-1280.png").await;

    // Phone width: still one readable column.
    c.set_window_size(390, 844).await.expect("narrow window");
    let width = c
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .expect("script runs");
    assert!(
        width.as_u64().is_some_and(|w| w <= 400),
        "no horizontal scroll at phone width: {width}"
    );
    screenshot(&c, &artifacts, "phone-390.png").await;

    // A mock with a token: the page's own files load, what it reads fails until the token is
    // typed, and then the page sends it to the control routes as well as to the API.
    let guarded = KvMock::builder()
        .api_token("ui-secret")
        .start()
        .await
        .expect("mock");
    c.goto(&guarded.ui_url()).await.expect("open the page");
    wait_for(
        &c,
        "the page to fail without the token",
        "return document.body.getAttribute('data-ready') === 'failed';",
        vec![],
    )
    .await;
    fill(&c, "#api-token", "ui-secret").await;
    c.execute(
        "document.getElementById('api-token').dispatchEvent(new Event('change'));",
        vec![],
    )
    .await
    .expect("script runs");
    wait_for(
        &c,
        "the control routes and the API read with the token",
        "return document.body.getAttribute('data-ready') === 'yes' && \
         document.getElementById('namespace-list').textContent.includes('kv-mock');",
        vec![],
    )
    .await;

    c.close().await.expect("close the session");
    let _ = std::fs::remove_dir_all(&profile);
}
