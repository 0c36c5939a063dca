//! Bad input gets a 4xx problem+json that names the problem, and changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::spawn_app;

#[tokio::test]
async fn malformed_json_unknown_fields_and_wrong_types_are_named() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let raw = t
        .http
        .post(t.url("/api/v1/orgs"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"id\": \"x\" \"name\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(raw.headers()["content-type"], "application/problem+json");
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["code"], "malformed_json");

    let unknown = t.post(&admin, "/api/v1/orgs", json!({"id": "x", "colour": "red"})).await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (400, "invalid_body"));
    assert!(unknown.body["detail"].as_str().unwrap().contains("unknown field `colour`"), "{}", unknown.body);

    let wrong = t.put(&admin, "/api/v1/host/pools", json!({"pools": [{"license": "UNATT", "quantity": "ten"}]})).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body["detail"].as_str().unwrap().starts_with("pools[0].quantity"), "{}", wrong.body);

    let negative = t.put(&admin, "/api/v1/host/pools", json!({"pools": [{"license": "UNATT", "quantity": -1}]})).await;
    assert_eq!(negative.status, 400);
    let no_type = t.http.post(t.url("/api/v1/orgs")).bearer_auth(&admin).body("{}").send().await.unwrap();
    assert_eq!(no_type.status(), 415);
    assert!(
        t.get(&admin, "/api/v1/orgs").await.expect(200)["organizations"].as_array().unwrap().is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn bodies_over_one_mib_and_requests_over_10000_items_are_refused() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a"]).await;
    let huge = json!({"id": "x", "name": "n".repeat(1024 * 1024 + 1)});
    let answer = t.post(&admin, "/api/v1/orgs", huge).await;
    assert_eq!((answer.status.as_u16(), answer.code()), (413, "body_too_large"));

    let users: Vec<String> = (0..10_001).map(|i| format!("u{i}")).collect();
    let batch = json!({"changes": [{"op": "set_user_licenses", "users": users, "licenses": [{"license": "ATTUNU"}, {"license": "TSTNU"}]}]});
    let answer = t.post(&boss, "/api/v1/orgs/acme/plans", batch).await;
    assert_eq!((answer.status.as_u16(), answer.code()), (413, "too_many_items"));
    assert!(answer.body["detail"].as_str().unwrap().contains("10001"), "{}", answer.body);
}

#[tokio::test]
async fn page_limits_over_1000_and_bad_queries_are_refused() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a"]).await;
    for path in ["/api/v1/orgs/acme/users?limit=1001", "/api/v1/orgs/acme/ledger?limit=5000"] {
        let answer = t.get(&boss, path).await;
        assert_eq!((answer.status.as_u16(), answer.code()), (400, "invalid_query"), "{path}");
        assert!(answer.body["detail"].as_str().unwrap().contains("1000"));
    }
    let answer = t.get(&boss, "/api/v1/orgs/acme/ledger?limit=ten").await;
    assert_eq!((answer.status.as_u16(), answer.code()), (400, "invalid_query"));
    let answer = t.get(&boss, "/api/v1/orgs/acme/ledger?colour=red").await;
    assert_eq!(answer.status, 400);
    let answer = t.get(&boss, "/api/v1/orgs/acme/ledger?after=banana").await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_problems() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let answer = t.get(&admin, "/api/v1/nothing-here").await;
    assert_eq!((answer.status.as_u16(), answer.code()), (404, "not_found"));
    assert_eq!(answer.content_type(), "application/problem+json");
    let answer = t.send(Method::PATCH, "/api/v1/products", Some(&admin), Some(json!({}))).await;
    assert_eq!((answer.status.as_u16(), answer.code()), (405, "method_not_allowed"));
}

#[tokio::test]
async fn violations_carry_stable_codes_and_statuses() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1), ("UNATT", 1)], &["a"]).await;
    let cases = [
        (json!([{"license": "NOPE"}]), 422, "unknown_license"),
        (json!([{"license": "UNATT"}]), 409, "wrong_license_kind"),
        (json!([{"license": "ACNU"}]), 409, "not_purchased"),
        (
            json!([{"license": "ATTUNU", "valid_from": "2030-01-02T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"}]),
            422,
            "invalid_dates",
        ),
        (json!([{"license": "ATTUNU", "valid_until": "tomorrow"}]), 400, "invalid_body"),
        (json!([{"license": "bad code!"}]), 400, "invalid_body"),
    ];
    for (licenses, status, code) in cases {
        let answer = t.put(&boss, "/api/v1/orgs/acme/users/a/licenses", json!({ "licenses": licenses })).await;
        assert_eq!((answer.status.as_u16(), answer.code()), (status, code), "{licenses}: {:#}", answer.body);
    }
    let answer = t.put(&boss, "/api/v1/orgs/acme/users/ghost/licenses", json!({"licenses": []})).await;
    assert_eq!((answer.status.as_u16(), answer.code()), (404, "not_found"));
    let lowered = t.put(&admin, "/api/v1/host/pools", json!({"pools": [{"license": "ATTUNU", "quantity": 0}]})).await;
    assert_eq!((lowered.status.as_u16(), lowered.code()), (409, "quantity_in_use"));
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 0));
}

#[tokio::test]
async fn a_path_with_invalid_utf8_answers_problem_json() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    for path in ["/api/v1/orgs/%ff/users", "/api/v1/orgs/%ff", "/api/v1/orgs/%ff/users/%fe/licenses/ATTUNU"] {
        let answer = t.get(&admin, path).await;
        assert_eq!(answer.status, 404, "{path}: {:#}", answer.body);
        assert_eq!(answer.content_type(), "application/problem+json", "{path}");
        assert_eq!(answer.code(), "not_found", "{path}");
    }
}
