//! One organization never sees another's data: its ids answer 404, as if absent.

use reqwest::Method;
use serde_json::json;

use crate::harness::spawn_app;

#[tokio::test]
async fn an_org_admin_of_a_gets_404_on_every_id_of_b() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let a = t.org_with(&admin, "org-a", &[("ATTUNU", 2), ("UNATT", 2)], &["alice"]).await;
    let _b = t.org_with(&admin, "org-b", &[("ATTUNU", 2), ("UNATT", 2)], &["bob"]).await;
    t.post(&admin, "/api/v1/orgs/org-b/groups", json!({"id": "gb"})).await.expect(201);
    t.post(&admin, "/api/v1/orgs/org-b/tenants", json!({"id": "tb"})).await.expect(201);
    let client =
        t.post(&admin, "/api/v1/orgs/org-b/clients", json!({"name": "b", "scopes": ["allot:read"]})).await.expect(201);
    let client_id = client["client_id"].as_str().unwrap();

    let licenses = json!({"licenses": [{"license": "ATTUNU"}]});
    let pools = json!({"pools": [{"license": "UNATT", "quantity": 1}]});
    let requests: Vec<(Method, String, Option<serde_json::Value>)> = vec![
        (Method::GET, "/api/v1/orgs/org-b".into(), None),
        (Method::PATCH, "/api/v1/orgs/org-b".into(), Some(json!({"name": "mine"}))),
        (Method::DELETE, "/api/v1/orgs/org-b".into(), None),
        (Method::GET, "/api/v1/orgs/org-b/users".into(), None),
        (Method::POST, "/api/v1/orgs/org-b/users".into(), Some(json!({"id": "mole"}))),
        (Method::GET, "/api/v1/orgs/org-b/users/bob".into(), None),
        (Method::PATCH, "/api/v1/orgs/org-b/users/bob".into(), Some(json!({"name": "x"}))),
        (Method::DELETE, "/api/v1/orgs/org-b/users/bob".into(), None),
        (
            Method::PUT,
            "/api/v1/orgs/org-b/users/bob/password".into(),
            Some(json!({"password": "a long enough password"})),
        ),
        (Method::GET, "/api/v1/orgs/org-b/users/bob/licenses".into(), None),
        (Method::PUT, "/api/v1/orgs/org-b/users/bob/licenses".into(), Some(licenses)),
        (Method::GET, "/api/v1/orgs/org-b/users/bob/licenses/ATTUNU".into(), None),
        (Method::GET, "/api/v1/orgs/org-b/groups".into(), None),
        (Method::POST, "/api/v1/orgs/org-b/groups".into(), Some(json!({"id": "g2"}))),
        (Method::GET, "/api/v1/orgs/org-b/groups/gb".into(), None),
        (Method::DELETE, "/api/v1/orgs/org-b/groups/gb".into(), None),
        (Method::GET, "/api/v1/orgs/org-b/groups/gb/members".into(), None),
        (Method::POST, "/api/v1/orgs/org-b/groups/gb/members".into(), Some(json!({"user": "bob"}))),
        (Method::DELETE, "/api/v1/orgs/org-b/groups/gb/members/bob".into(), None),
        (Method::GET, "/api/v1/orgs/org-b/groups/gb/licenses".into(), None),
        (Method::PUT, "/api/v1/orgs/org-b/groups/gb/licenses".into(), Some(json!({"licenses": []}))),
        (Method::GET, "/api/v1/orgs/org-b/tenants".into(), None),
        (Method::POST, "/api/v1/orgs/org-b/tenants".into(), Some(json!({"id": "t2"}))),
        (Method::GET, "/api/v1/orgs/org-b/tenants/tb".into(), None),
        (Method::DELETE, "/api/v1/orgs/org-b/tenants/tb".into(), None),
        (Method::GET, "/api/v1/orgs/org-b/tenants/tb/services/orchestrator/pools".into(), None),
        (Method::PUT, "/api/v1/orgs/org-b/tenants/tb/services/orchestrator/pools".into(), Some(pools)),
        (Method::GET, "/api/v1/orgs/org-b/pools".into(), None),
        (Method::POST, "/api/v1/orgs/org-b/plans".into(), Some(json!({"changes": []}))),
        (Method::GET, "/api/v1/orgs/org-b/ledger".into(), None),
        (Method::GET, "/api/v1/orgs/org-b/clients".into(), None),
        (Method::POST, "/api/v1/orgs/org-b/clients".into(), Some(json!({"name": "x", "scopes": ["allot:read"]}))),
        (Method::DELETE, format!("/api/v1/orgs/org-b/clients/{client_id}"), None),
        // The same organization under another spelling is still organization B.
        (Method::GET, "/api/v1/orgs/ORG_B/users/bob".into(), None),
    ];
    for (method, path, body) in requests {
        let answer = t.send(method.clone(), &path, Some(&a), body).await;
        assert_eq!(answer.status, 404, "{method} {path}: {:#}", answer.body);
        assert_eq!(answer.code(), "not_found", "{method} {path}");
    }
    // A's list of organizations shows only A; B's data is intact.
    let orgs = t.get(&a, "/api/v1/orgs").await.expect(200);
    assert_eq!(orgs["organizations"].as_array().unwrap().len(), 1);
    assert_eq!(t.get(&admin, "/api/v1/orgs/org-b/users/bob").await.expect(200)["name"], "bob");
    // A's own client cannot reach B either.
    let mine =
        t.post(&a, "/api/v1/orgs/org-a/clients", json!({"name": "a", "scopes": ["allot:write"]})).await.expect(201);
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", mine["client_id"].as_str().unwrap()),
        ("client_secret", mine["client_secret"].as_str().unwrap()),
    ];
    let token = t.token_form(&form).await.expect(200)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(t.get(&token, "/api/v1/orgs/org-b/users").await.status, 404);
    assert_eq!(t.get(&token, "/api/v1/orgs/org-a/users").await.status, 200);
}
