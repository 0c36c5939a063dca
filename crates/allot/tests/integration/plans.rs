//! Stored plans: validated once, applied later exactly, or refused when the state moved.

use allot_api::{ErrorCode, LedgerParams, LicenseSpec, PlanChange, PlanRequest, Role, SetUserLicenses};

use crate::harness::{give, group, held, licenses, person, refused, rule, spawn_app};

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

fn create(user: &str, name: &str) -> PlanChange {
    PlanChange::CreateUser { user: user.to_owned(), name: Some(name.to_owned()), email: None, role: None }
}

fn join(group: &str, user: &str) -> PlanChange {
    PlanChange::AddMember { group: group.to_owned(), user: user.to_owned() }
}

#[tokio::test]
async fn one_plan_creates_users_gives_them_groups_and_licenses_and_updates_them_all_or_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 2), ("TSTNU", 5)], &[]).await;
    let client = t.client(&boss);
    client.create_group("acme", &group("testers")).await.unwrap();
    client.set_group_rule("acme", "testers", &rule(&["TSTNU"])).await.unwrap();
    let changes = vec![
        create("ana", "Ana"),
        create("ben", "Ben"),
        join("testers", "ana"),
        join("testers", "ben"),
        PlanChange::SetUserLicenses { users: vec!["ana".into(), "ben".into()], licenses: vec![held("ATTUNU")] },
        PlanChange::UpdateUser {
            user: "ben".into(),
            name: None,
            email: Some("ben@example.com".into()),
            role: Some(Role::Reader),
        },
    ];
    let validated =
        client.plan("acme", &PlanRequest { apply: false, changes: changes.clone(), after: None }).await.unwrap();
    assert!(validated.possible, "{:?}", validated.violations);
    let attended = validated.pools.iter().find(|p| p.license == "ATTUNU").unwrap();
    assert_eq!((attended.allocated_before, attended.allocated_after), (0, 2));
    assert_eq!(refused(client.user("acme", "ana").await), (404, ErrorCode::NotFound), "validating creates no one");

    let applied = client.plan("acme", &PlanRequest { apply: true, changes, after: None }).await.unwrap();
    assert!(applied.applied);
    let ben = client.user("acme", "ben").await.unwrap();
    assert_eq!((ben.name.as_str(), ben.email.as_deref(), ben.role), ("Ben", Some("ben@example.com"), Role::Reader));
    assert_eq!(ben.groups, ["testers"]);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (2, 2));
    assert_eq!(t.org_pool(&boss, "acme", "TSTNU").await, (5, 2), "both inherit the group's license");

    // A third user would need a third unit: the whole plan is refused, the user not created.
    let over = vec![create("cy", "Cy"), give(&["cy"], &["ATTUNU"], true).changes.remove(0)];
    let (status, code) = refused(client.plan("acme", &PlanRequest { apply: true, changes: over, after: None }).await);
    assert_eq!((status, code), (409, ErrorCode::LicenseLimitExceeded));
    assert_eq!(refused(client.user("acme", "cy").await), (404, ErrorCode::NotFound));
    // A user neither held nor created earlier in the batch is not found.
    let stray = vec![join("testers", "dee"), create("dee", "Dee")];
    assert_eq!(refused(client.plan("acme", &PlanRequest { apply: false, changes: stray, after: None }).await).0, 404);
}

#[tokio::test]
async fn deleting_users_in_a_plan_returns_their_units_and_ends_their_tokens() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5)], &["a"]).await;
    let client = t.client(&boss);
    client.create_user("acme", &person("rita", Role::Reader, "reader password 123")).await.unwrap();
    client.set_user_licenses("acme", "rita", &licenses(&["ATTUNU"])).await.unwrap();
    client.set_user_licenses("acme", "a", &licenses(&["ATTUNU"])).await.unwrap();
    let rita = t.client(&t.login(Some("acme"), "rita", "reader password 123").await);
    rita.orgs().await.expect("rita may read before");
    let delete = |user: &str| PlanChange::DeleteUser { user: user.to_owned() };
    let applied =
        client.plan("acme", &PlanRequest { apply: true, changes: vec![delete("rita"), delete("a")], after: None });
    assert!(applied.await.unwrap().applied);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (5, 0));
    assert_eq!(refused(rita.orgs().await).0, 401, "the deleted user's token is revoked");
    assert_eq!(refused(client.user("acme", "a").await), (404, ErrorCode::NotFound));
}

#[tokio::test]
async fn a_change_validated_in_parts_is_judged_whole_and_its_last_plan_applies_all_of_it() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 3)], &["old"]).await;
    let client = t.client(&boss);
    let part = |changes: Vec<PlanChange>, after: Option<String>| PlanRequest { apply: false, changes, after };
    let first = client.plan("acme", &part(vec![create("ana", "Ana"), create("ben", "Ben")], None)).await.unwrap();
    // The second part names users the first creates, and each part alone fits the pool.
    let gives = give(&["ana", "ben", "old"], &["ATTUNU"], false).changes;
    let second = client.plan("acme", &part(gives.clone(), first.id.clone())).await.unwrap();
    assert!(second.possible, "{:?}", second.violations);
    let users: Vec<&str> = second.holdings.iter().map(|h| h.user.as_str()).collect();
    assert_eq!(users, ["ana", "ben", "old"], "the holdings shown are this part's");
    assert!(second.changes.iter().all(|c| !matches!(c, allot_core::Change::UserCreated { .. })));
    let pool = &second.pools[0];
    assert_eq!((pool.allocated_before, pool.allocated_after), (0, 3), "the pools are the whole's");

    // A third part over the pool is refused for the whole, though it alone would fit.
    let third = vec![create("cy", "Cy"), give(&["cy"], &["ATTUNU"], false).changes.remove(0)];
    let over = client.plan("acme", &part(third, second.id.clone())).await.unwrap();
    assert_eq!(over.violations.iter().map(|v| v.code).collect::<Vec<_>>(), [ErrorCode::LicenseLimitExceeded]);
    assert_eq!(over.violations[0].available, Some(3));
    let applying = PlanRequest { apply: true, changes: vec![], after: second.id.clone() };
    assert_eq!(refused(client.plan("acme", &applying).await), (422, ErrorCode::InvalidBody));
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (3, 0), "validating the parts changed nothing");

    let applied = client.apply_plan("acme", &second.id.unwrap()).await.unwrap();
    assert!(applied.applied);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (3, 3));
    assert_eq!(client.user("acme", "ana").await.unwrap().name, "Ana");
    assert_eq!(refused(client.plan("acme", &part(vec![], Some("pl_nope".into()))).await).0, 404);
}
