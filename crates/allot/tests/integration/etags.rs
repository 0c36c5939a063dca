//! ETag and If-Match: a write against a stale tag answers 412 and changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::harness::{TestApp, spawn_app};

/// A PUT with `If-Match`; answers the status, the new ETag and the body.
async fn put_if(
    t: &TestApp,
    token: &str,
    path: &str,
    tag: &str,
    body: serde_json::Value,
) -> (u16, String, serde_json::Value) {
    let response = t
        .http
        .request(Method::PUT, t.url(path))
        .bearer_auth(token)
        .header("if-match", tag)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let etag = response.headers().get("etag").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, etag, response.json().await.unwrap())
}

async fn etag(t: &TestApp, token: &str, path: &str) -> String {
    let answer = t.get(token, path).await;
    assert_eq!(answer.status, 200);
    answer.headers["etag"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_stale_if_match_gets_412_and_changes_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5), ("UNATT", 5)], &["a", "b"]).await;
    t.post(&boss, "/api/v1/orgs/acme/groups", json!({"id": "g"})).await.expect(201);
    t.post(&boss, "/api/v1/orgs/acme/tenants", json!({"id": "t"})).await.expect(201);
    let cases = [
        ("/api/v1/orgs/acme/users/a/licenses", json!({"licenses": [{"license": "ATTUNU"}]}), json!({"licenses": []})),
        ("/api/v1/orgs/acme/groups/g/licenses", json!({"licenses": ["ATTUNU"]}), json!({"licenses": []})),
        (
            "/api/v1/orgs/acme/tenants/t/services/orchestrator/pools",
            json!({"pools": [{"license": "UNATT", "quantity": 2}]}),
            json!({"pools": [{"license": "UNATT", "quantity": 1}]}),
        ),
    ];
    for (path, first, second) in cases {
        let tag = etag(&t, &boss, path).await;
        let (status, new_tag, _) = put_if(&t, &boss, path, &tag, first).await;
        assert_eq!(status, 200, "{path}: a current tag applies");
        assert_ne!(new_tag, tag, "{path}: the write moves the tag");
        assert_eq!(etag(&t, &boss, path).await, new_tag, "{path}: GET answers the same tag");
        let before = t.get(&boss, path).await.body;
        let (status, _, body) = put_if(&t, &boss, path, &tag, second.clone()).await;
        assert_eq!((status, body["code"].clone()), (412, json!("precondition_failed")), "{path}");
        let mut after = t.get(&boss, path).await.body;
        after["revision"] = before["revision"].clone();
        assert_eq!(after, before, "{path}: a refused write changes nothing");
        let (status, _, _) = put_if(&t, &boss, path, "*", second).await;
        assert_eq!(status, 200, "{path}: * matches any current state");
    }
    // The organization's pools, by the host admin.
    let tag = etag(&t, &admin, "/api/v1/orgs/acme/pools").await;
    t.put(&boss, "/api/v1/orgs/acme/users/b/licenses", json!({"licenses": [{"license": "ATTUNU"}]})).await.expect(200);
    let (status, _, _) =
        put_if(&t, &admin, "/api/v1/orgs/acme/pools", &tag, json!({"pools": [{"license": "ATTUNU", "quantity": 9}]}))
            .await;
    assert_eq!(status, 412, "an allocation in between moves the pools' tag");
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await.0, 5);
}
