//! Stored plans: validated once, applied later exactly, or refused when the state moved.

use allot_api::{ErrorCode, LedgerParams, LicenseSpec, Role, SetUserLicenses};

use crate::harness::{give, held, licenses, person, refused, spawn_app};

#[tokio::test]
async fn a_stored_plan_applies_after_an_unrelated_change() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5), ("TSTNU", 5)], &["a", "b"]).await;
    let client = t.client(&boss);
    let plan = client.plan("acme", &give(&["a"], &["ATTUNU"], false)).await.unwrap();
    let id = plan.id.unwrap();
    assert!(plan.expires_at.is_some());
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (5, 0), "validating changes nothing");

    // Unrelated: another user, another license.
    client.set_user_licenses("acme", "b", &licenses(&["TSTNU"])).await.unwrap();
    let applied = client.apply_plan("acme", &id).await.unwrap();
    assert_eq!((applied.applied, applied.id.as_deref()), (true, Some(id.as_str())));
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (5, 1));
}

#[tokio::test]
async fn a_stored_plan_is_refused_after_a_conflicting_change_and_changes_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a", "b"]).await;
    let client = t.client(&boss);
    let plan = client.plan("acme", &give(&["a"], &["ATTUNU"], false)).await.unwrap();
    let id = plan.id.unwrap();
    // The pool the plan draws from moves: its counts before and after are not what was shown.
    client.set_user_licenses("acme", "b", &licenses(&["ATTUNU"])).await.unwrap();
    let all = LedgerParams { limit: Some(1000), ..LedgerParams::default() };
    let ledger_before = client.ledger("acme", &all).await.unwrap();
    // The user it changes moves too.
    let external = SetUserLicenses { licenses: vec![LicenseSpec { external: true, ..held("ATTUNU") }] };
    client.set_user_licenses("acme", "a", &external).await.unwrap();
    let stale = client.apply_plan("acme", &id).await.unwrap_err();
    let problem = stale.problem().unwrap_or_else(|| panic!("{stale}"));
    assert_eq!((stale.status().unwrap().as_u16(), problem.code), (409, ErrorCode::PlanStale), "{problem:#?}");
    assert!(problem.detail.contains("no longer"), "{}", problem.detail);
    assert!(!problem.plan.as_ref().unwrap().applied, "the answer carries the fresh plan");
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (5, 1), "nothing changed");
    let ledger_after = client.ledger("acme", &all).await.unwrap();
    assert_eq!(ledger_after.entries.len(), ledger_before.entries.len() + 1);
}

#[tokio::test]
async fn stored_plans_expire_belong_to_their_organization_and_need_write_access() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a"]).await;
    let other = t.org_with(&admin, "other", &[("ATTUNU", 5)], &["z"]).await;
    let rita = person("rita", Role::Reader, "reader password 123");
    t.client(&boss).create_user("acme", &rita).await.unwrap();
    let reader = t.client(&t.login(Some("acme"), "rita", "reader password 123").await);
    let plan = reader.plan("acme", &give(&["a"], &["ATTUNU"], false)).await.unwrap();
    let id = plan.id.unwrap();
    assert_eq!(refused(reader.apply_plan("acme", &id).await), (403, ErrorCode::Forbidden));
    assert_eq!(refused(t.client(&other).apply_plan("other", &id).await), (404, ErrorCode::NotFound));
    let client = t.client(&boss);
    assert_eq!(refused(client.apply_plan("acme", "pl_nope").await), (404, ErrorCode::NotFound));
    t.advance(15 * 60 * 1000);
    assert_eq!(refused(client.apply_plan("acme", &id).await), (410, ErrorCode::PlanExpired));
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (5, 0));
}
