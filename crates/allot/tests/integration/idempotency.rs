//! Idempotency-Key: retries replay the first answer, and change nothing again.

use std::sync::Arc;

use allot_api::{ErrorCode, LedgerParams};
use serde_json::{Value, json};

use crate::harness::{TestApp, give, group, licenses, pools, refused, spawn_app};

async fn ledger_len(t: &TestApp, token: &str) -> usize {
    let all = LedgerParams { limit: Some(1000), ..LedgerParams::default() };
    t.client(token).ledger("acme", &all).await.unwrap().entries.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_parallel_requests_with_one_key_make_one_change_and_get_identical_answers() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a"]).await;
    let before = ledger_len(&t, &boss).await;
    let grant = || t.client(&boss).plan("acme", &give(&["a"], &["ATTUNU"], true));
    // All 50 wait at the barrier, then send at once.
    let start = Arc::new(tokio::sync::Barrier::new(50));
    let requests: Vec<_> = (0..50)
        .map(|_| {
            let (call, start) = (grant().idempotency_key("\"grant-a-1\""), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                call.answer().await.unwrap()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for request in requests {
        let answer = request.await.unwrap();
        answers.push((serde_json::to_value(&answer.body).unwrap(), answer.replayed));
    }
    assert!(answers.iter().all(|(body, _)| *body == answers[0].0), "identical answers");
    assert_eq!(answers.iter().filter(|(_, replayed)| !replayed).count(), 1, "one ran, the others were replayed");
    assert_eq!(ledger_len(&t, &boss).await, before + 1, "exactly one change");
    // A bare key is the same key as a quoted one.
    let again = grant().idempotency_key("grant-a-1").answer().await.unwrap();
    assert!(again.replayed && serde_json::to_value(&again.body).unwrap() == answers[0].0);
}

#[tokio::test]
async fn a_key_reused_with_another_body_gets_422_and_failed_requests_keep_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a", "b"]).await;
    let client = t.client(&boss);
    let set = |user: &str, codes: &[&str], key: &str| {
        client.set_user_licenses("acme", user, &licenses(codes)).idempotency_key(key)
    };
    set("a", &["ATTUNU"], "k1").await.unwrap();
    assert_eq!(refused(set("a", &[], "k1").await), (422, ErrorCode::IdempotencyKeyReused));
    assert_eq!(refused(set("b", &[], "k1").await).0, 422, "another path is another request");

    // Refused (the pool is full): nothing is kept, so the corrected retry goes through.
    assert_eq!(refused(set("b", &["ATTUNU"], "k2").await), (409, ErrorCode::LicenseLimitExceeded));
    t.client(&admin).set_org_pools("acme", &pools(&[("ATTUNU", 2)])).await.unwrap();
    assert!(!set("b", &["ATTUNU"], "k2").answer().await.unwrap().replayed);

    // After the keys' lifetime, a key is new again.
    t.advance(24 * 3600 * 1000 + 1);
    let boss = t.login(Some("acme"), "acme-admin", "org admin password 1").await;
    let fresh = t.client(&boss).set_user_licenses("acme", "a", &licenses(&[])).idempotency_key("k1").answer().await;
    assert!(!fresh.unwrap().replayed);
}

#[tokio::test]
async fn keys_belong_to_their_caller() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let one = t.org_with(&admin, "one", &[("ATTUNU", 1)], &["a"]).await;
    let two = t.org_with(&admin, "two", &[("ATTUNU", 1)], &["a"]).await;
    let first = t.client(&one).create_group("one", &group("g")).idempotency_key("same-key").await.unwrap();
    let second = t.client(&two).create_group("two", &group("g")).idempotency_key("same-key").answer().await.unwrap();
    assert!(!second.replayed, "another organization's key is not this one: {second:?}");
    assert_eq!(first.id, second.body.id);
    // A malformed key, on the wire.
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
    let nothing = t.client(&admin).org("acme").await;
    assert_eq!(refused(nothing), (404, ErrorCode::NotFound), "the refused request created nothing");
}
