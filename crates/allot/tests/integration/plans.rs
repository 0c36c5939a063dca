//! Stored plans: validated once, applied later exactly, or refused when the state moved.

use serde_json::json;

use crate::harness::spawn_app;

fn give(user: &str, license: &str) -> serde_json::Value {
    json!({"changes": [{"op": "set_user_licenses", "users": [user], "licenses": [{"license": license}]}]})
}

#[tokio::test]
async fn a_stored_plan_applies_after_an_unrelated_change() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5), ("TSTNU", 5)], &["a", "b"]).await;
    let plan = t.post(&boss, "/api/v1/orgs/acme/plans", give("a", "ATTUNU")).await.expect(200);
    let id = plan["id"].as_str().unwrap();
    assert!(plan["expires_at"].is_string());
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (5, 0), "validating changes nothing");

    // Unrelated: another user, another license.
    t.put(&boss, "/api/v1/orgs/acme/users/b/licenses", json!({"licenses": [{"license": "TSTNU"}]})).await.expect(200);
    let applied = t.post(&boss, &format!("/api/v1/orgs/acme/plans/{id}/apply"), json!({})).await.expect(200);
    assert_eq!((applied["applied"].clone(), applied["id"].clone()), (json!(true), json!(id)));
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (5, 1));
}

#[tokio::test]
async fn a_stored_plan_is_refused_after_a_conflicting_change_and_changes_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a", "b"]).await;
    let plan = t.post(&boss, "/api/v1/orgs/acme/plans", give("a", "ATTUNU")).await.expect(200);
    let id = plan["id"].as_str().unwrap();
    // The pool the plan draws from moves: its counts before and after are not what was shown.
    t.put(&boss, "/api/v1/orgs/acme/users/b/licenses", json!({"licenses": [{"license": "ATTUNU"}]})).await.expect(200);
    let ledger_before = t.get(&boss, "/api/v1/orgs/acme/ledger?limit=1000").await.expect(200);
    // The user it changes moves too.
    t.put(&boss, "/api/v1/orgs/acme/users/a/licenses", json!({"licenses": [{"license": "ATTUNU", "external": true}]}))
        .await
        .expect(200);
    let stale = t.post(&boss, &format!("/api/v1/orgs/acme/plans/{id}/apply"), json!({})).await;
    assert_eq!((stale.status.as_u16(), stale.code()), (409, "plan_stale"), "{:#}", stale.body);
    assert!(stale.body["detail"].as_str().unwrap().contains("no longer"), "{}", stale.body["detail"]);
    assert_eq!(stale.body["plan"]["applied"], false, "the answer carries the fresh plan");
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (5, 1), "nothing changed");
    let ledger_after = t.get(&boss, "/api/v1/orgs/acme/ledger?limit=1000").await.expect(200);
    assert_eq!(
        ledger_after["entries"].as_array().unwrap().len(),
        ledger_before["entries"].as_array().unwrap().len() + 1
    );
}

#[tokio::test]
async fn stored_plans_expire_belong_to_their_organization_and_need_write_access() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a"]).await;
    let other = t.org_with(&admin, "other", &[("ATTUNU", 5)], &["z"]).await;
    t.post(
        &boss,
        "/api/v1/orgs/acme/users",
        json!({"id": "rita", "role": "reader", "password": "reader password 123"}),
    )
    .await
    .expect(201);
    let reader = t.login(Some("acme"), "rita", "reader password 123").await;
    let plan = t.post(&reader, "/api/v1/orgs/acme/plans", give("a", "ATTUNU")).await.expect(200);
    let id = plan["id"].as_str().unwrap();
    assert_eq!(t.post(&reader, &format!("/api/v1/orgs/acme/plans/{id}/apply"), json!({})).await.status, 403);
    assert_eq!(t.post(&other, &format!("/api/v1/orgs/other/plans/{id}/apply"), json!({})).await.status, 404);
    assert_eq!(t.post(&boss, "/api/v1/orgs/acme/plans/pl_nope/apply", json!({})).await.status, 404);
    t.advance(15 * 60 * 1000);
    let expired = t.post(&boss, &format!("/api/v1/orgs/acme/plans/{id}/apply"), json!({})).await;
    assert_eq!((expired.status.as_u16(), expired.code()), (410, "plan_expired"));
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (5, 0));
}
