//! Against kv-mock: namespace create, list, get, rename, delete.

use crate::kit::start;
use kv_client::Error;

#[tokio::test]
async fn namespace_lifecycle() {
    let s = start().await;
    let created = s.client.create_namespace("my-app").await.expect("create");
    assert!(
        kv_types::namespace::is_namespace_id(&created.id),
        "{}",
        created.id
    );
    assert_eq!(created.title, "my-app");

    let dup = s
        .client
        .create_namespace("my-app")
        .await
        .expect_err("duplicate");
    assert_eq!(
        dup.codes(),
        vec![kv_types::codes::DUPLICATE_NAMESPACE_TITLE]
    );
    assert_eq!(dup.status(), Some(400));
    // The title is the context's title, not a key.
    assert_eq!(dup.context().and_then(|c| c.title()), Some("my-app"));
    assert_eq!(dup.key(), None);
    assert!(dup.to_string().contains("(title \"my-app\")"), "{dup}");

    let all = s.client.list_namespaces().await.expect("list");
    assert!(all.iter().any(|n| n.id == created.id));
    assert!(all.iter().any(|n| n.id == s.mock.namespace_id()));

    s.client
        .rename_namespace(&created.id, "renamed")
        .await
        .expect("rename");
    let missing = "ffffffffffffffffffffffffffffffff";
    let err = s
        .client
        .rename_namespace(missing, "elsewhere")
        .await
        .expect_err("no such namespace");
    let ctx = err.context().expect("context");
    assert_eq!(
        (ctx.namespace(), ctx.title(), ctx.key()),
        (Some(missing), Some("elsewhere"), None)
    );
    assert_eq!(
        s.client
            .get_namespace(&created.id)
            .await
            .expect("get")
            .title,
        "renamed"
    );

    let kv = s.client.namespace(&created.id);
    kv.put("k", "v").await.expect("put in the new namespace");
    assert_eq!(s.kv.get("k").bytes().await.expect("other namespace"), None);

    s.client
        .delete_namespace(&created.id)
        .await
        .expect("delete");
    let err = s.client.get_namespace(&created.id).await.expect_err("gone");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(kv.get("k").bytes().await.is_err());
}

#[tokio::test]
async fn list_namespaces_follows_pages() {
    let s = start().await;
    for i in 0..230 {
        s.client
            .create_namespace(format!("ns-{i:03}"))
            .await
            .expect("create");
    }
    let all = s.client.list_namespaces().await.expect("list");
    assert_eq!(all.len(), 231);
    let pages = s
        .mock
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/namespaces"))
        .count();
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn retried_create_finds_the_namespace_it_made() {
    let s = start().await;
    // The first attempt is applied, but its answer is cut short; the retry then sees the title
    // taken, and the client returns the namespace the first attempt made.
    s.mock
        .inject(kv_mock::Fault::truncate_body().matching(kv_mock::FaultMatch::method("POST")));
    let made = s
        .client
        .create_namespace("once")
        .await
        .expect("created once");
    assert_eq!(made.title, "once");
    let all = s.client.list_namespaces().await.expect("list");
    assert_eq!(all.iter().filter(|n| n.title == "once").count(), 1);
}
