//! Idempotency-Key: retries replay the first answer, and change nothing again.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app};

async fn send(t: &TestApp, token: &str, method: Method, path: &str, key: &str, body: Value) -> (u16, Value, bool) {
    let response = t
        .http
        .request(method, t.url(path))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let replayed = response.headers().contains_key("idempotent-replayed");
    (status, response.json().await.unwrap_or(Value::Null), replayed)
}

async fn ledger_len(t: &TestApp, token: &str) -> usize {
    t.get(token, "/api/v1/orgs/acme/ledger?limit=1000").await.expect(200)["entries"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_requests_with_one_key_make_one_change_and_get_identical_answers() {
    let t = Arc::new(spawn_app().await);
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a"]).await;
    let before = ledger_len(&t, &boss).await;
    // All 50 wait at the barrier, then send at once.
    let start = Arc::new(tokio::sync::Barrier::new(50));
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let (t, boss, start) = (t.clone(), boss.clone(), start.clone());
            tokio::spawn(async move {
                let body = json!({"changes": [{"op": "set_user_licenses", "users": ["a"], "licenses": [{"license": "ATTUNU"}]}], "apply": true});
                start.wait().await;
                send(&t, &boss, Method::POST, "/api/v1/orgs/acme/plans", "\"grant-a-1\"", body).await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.unwrap());
    }
    assert!(answers.iter().all(|(status, body, _)| *status == 200 && *body == answers[0].1), "identical answers");
    assert_eq!(answers.iter().filter(|(_, _, replayed)| !replayed).count(), 1, "one ran, the others were replayed");
    assert_eq!(ledger_len(&t, &boss).await, before + 1, "exactly one change");
    // A bare key is the same key as a quoted one.
    let body = json!({"changes": [{"op": "set_user_licenses", "users": ["a"], "licenses": [{"license": "ATTUNU"}]}], "apply": true});
    let (_, again, replayed) = send(&t, &boss, Method::POST, "/api/v1/orgs/acme/plans", "grant-a-1", body).await;
    assert!(replayed && again == answers[0].1);
}

#[tokio::test]
async fn a_key_reused_with_another_body_gets_422_and_failed_requests_keep_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a", "b"]).await;
    let path = "/api/v1/orgs/acme/users/a/licenses";
    let (status, _, _) = send(&t, &boss, Method::PUT, path, "k1", json!({"licenses": [{"license": "ATTUNU"}]})).await;
    assert_eq!(status, 200);
    let (status, body, _) = send(&t, &boss, Method::PUT, path, "k1", json!({"licenses": []})).await;
    assert_eq!((status, body["code"].clone()), (422, json!("idempotency_key_reused")));
    let (status, _, _) =
        send(&t, &boss, Method::PUT, "/api/v1/orgs/acme/users/b/licenses", "k1", json!({"licenses": []})).await;
    assert_eq!(status, 422, "another path is another request");

    // Refused (the pool is full): nothing is kept, so the corrected retry goes through.
    let (status, _, _) = send(
        &t,
        &boss,
        Method::PUT,
        "/api/v1/orgs/acme/users/b/licenses",
        "k2",
        json!({"licenses": [{"license": "ATTUNU"}]}),
    )
    .await;
    assert_eq!(status, 409);
    t.put(&admin, "/api/v1/orgs/acme/pools", json!({"pools": [{"license": "ATTUNU", "quantity": 2}]}))
        .await
        .expect(200);
    let (status, _, replayed) = send(
        &t,
        &boss,
        Method::PUT,
        "/api/v1/orgs/acme/users/b/licenses",
        "k2",
        json!({"licenses": [{"license": "ATTUNU"}]}),
    )
    .await;
    assert_eq!((status, replayed), (200, false));

    // After the keys' lifetime, a key is new again.
    t.advance(24 * 3600 * 1000 + 1);
    let boss = t.login(Some("acme"), "acme-admin", "org admin password 1").await;
    let (status, _, replayed) = send(&t, &boss, Method::PUT, path, "k1", json!({"licenses": []})).await;
    assert_eq!((status, replayed), (200, false));
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let one = t.org_with(&admin, "one", &[("ATTUNU", 1)], &["a"]).await;
    let two = t.org_with(&admin, "two", &[("ATTUNU", 1)], &["a"]).await;
    let (status, first, _) =
        send(&t, &one, Method::POST, "/api/v1/orgs/one/groups", "same-key", json!({"id": "g"})).await;
    assert_eq!(status, 201);
    let (status, second, replayed) =
        send(&t, &two, Method::POST, "/api/v1/orgs/two/groups", "same-key", json!({"id": "g"})).await;
    assert_eq!((status, replayed), (201, false), "another organization's key is not this one: {second}");
    assert_eq!(first["id"], second["id"]);
    let malformed = t
        .http
        .post(t.url("/api/v1/orgs/one/groups"))
        .bearer_auth(&one)
        .header("idempotency-key", "")
        .json(&json!({"id": "h"}))
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
}

#[tokio::test]
async fn a_replay_carries_the_etag_and_any_bearer_spelling_counts() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 2)], &["a"]).await;
    let path = "/api/v1/orgs/acme/users/a/licenses";
    let put = |auth: String| {
        t.http
            .put(t.url(path))
            .header("authorization", auth)
            .header("idempotency-key", "etag-key")
            .json(&json!({"licenses": [{"license": "ATTUNU"}]}))
            .send()
    };
    let first = put(format!("Bearer {boss}")).await.unwrap();
    let tag = first.headers()["etag"].clone();
    let again = put(format!("bearer {boss}")).await.unwrap();
    assert_eq!(again.headers()["idempotent-replayed"], "true", "a lower-case scheme is the same caller");
    assert_eq!(again.headers()["etag"], tag, "the replay carries the ETag");
    let weak = t
        .http
        .put(t.url(path))
        .bearer_auth(&boss)
        .header("if-match", format!("W/{}", tag.to_str().unwrap()))
        .json(&json!({"licenses": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(weak.status(), 412, "If-Match compares strongly");
}

#[tokio::test]
async fn a_malformed_key_is_judged_after_authentication_and_routing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let send = |path: &str, token: Option<&str>| {
        let mut request = t.http.post(t.url(path)).header("idempotency-key", "").json(&json!({"id": "acme"}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let unauthenticated = send("/api/v1/orgs", None).await.unwrap();
    assert_eq!(unauthenticated.status(), 401, "no token: 401 before the key is looked at");
    let unrouted = send("/api/v1/nothing-here", Some(&admin)).await.unwrap();
    assert_eq!(unrouted.status(), 404, "no route: 404 before the key is looked at");
    let unsupported = send("/api/v1/orgs/acme", Some(&admin)).await.unwrap();
    assert_eq!(unsupported.status(), 405, "a path that does not take the method: 405 before the key is looked at");
    let judged = send("/api/v1/orgs", Some(&admin)).await.unwrap();
    assert_eq!(judged.status(), 400);
    let body: Value = judged.json().await.unwrap();
    assert_eq!(body["code"], "invalid_header", "{body:#}");
    assert_eq!(t.get(&admin, "/api/v1/orgs/acme").await.status, 404, "the refused request created nothing");
}
