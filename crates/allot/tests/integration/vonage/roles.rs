//! Role licenses: each role a contracted license, Agent with its maximum overage, one role
//! per user; eligibility (Analytics is refused to Agents); archiving frees what a user holds.

use reqwest::Method;
use serde_json::json;

use super::{V4, call, center, create_user, get_user, new_user, patch_user};
use crate::harness::spawn_app;

#[tokio::test]
async fn the_last_agent_license_goes_to_exactly_one_of_50_simultaneous_creates() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:agent", 3)]).await;
    for n in 0..2 {
        create_user(&t, &c.write, "", &new_user(&format!("first{n}"), "Agent")).await.expect(201);
    }
    let creates = (0..50).map(|n| {
        let (t, token) = (&t, c.write.clone());
        async move { create_user(t, &token, "", &new_user(&format!("racer{n}"), "Agent")).await }
    });
    let answers = futures_util::future::join_all(creates).await;
    let created = answers.iter().filter(|a| a.status == 201).count();
    let refused = answers.iter().filter(|a| a.status == 409).count();
    assert_eq!((created, refused), (1, 49), "{:?}", answers.iter().map(|a| (a.status, &a.body)).collect::<Vec<_>>());
    let refusal = answers.iter().find(|a| a.status == 409).unwrap();
    assert!(refusal.body["message"].as_str().unwrap().starts_with("Agent license limit exceeded"), "{}", refusal.body);
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:agent").await, (3, 3));
    let listed = call(&t, Method::GET, "/useradmin/users?include=All", Some(&c.read), Some(V4), None).await.expect(200);
    assert_eq!(listed["meta"]["totalCount"], 3, "a refused create creates no user");
}

#[tokio::test]
async fn with_allow_overages_creates_stop_exactly_at_the_maximum_overage() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:agent", 2), ("vccrole:agentoverage", 3)]).await;
    for n in 0..2 {
        create_user(&t, &c.write, "", &new_user(&format!("contracted{n}"), "Agent")).await.expect(201);
    }
    let plain = create_user(&t, &c.write, "", &new_user("plain", "Agent")).await.expect(409);
    assert!(plain["message"].as_str().unwrap().contains("allowOverages=true"), "{plain}");
    let creates = (0..10).map(|n| {
        let (t, token) = (&t, c.write.clone());
        async move { create_user(t, &token, "?allowOverages=true", &new_user(&format!("over{n}"), "Agent")).await }
    });
    let answers = futures_util::future::join_all(creates).await;
    let created: Vec<_> = answers.iter().filter(|a| a.status == 201).collect();
    assert_eq!(created.len(), 3, "{:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert!(
        created.iter().all(|a| a.body["userAccountConfiguration"]["role"] == "Agent"),
        "an overage Agent is an Agent"
    );
    let refusal = answers.iter().find(|a| a.status == 409).unwrap();
    assert_eq!(refusal.body["message"], "Maximum overage of Agent licenses reached");
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:agent").await, (2, 2));
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:agentoverage").await, (3, 3));
}

#[tokio::test]
async fn a_supervisor_acting_as_agent_draws_a_supervisor_license_and_no_agent_license() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:agent", 1), ("vccrole:supervisor", 2)]).await;
    create_user(&t, &c.write, "", &new_user("the-agent", "Agent")).await.expect(201);
    let mut acting = new_user("acting", "Supervisor");
    acting["userAccountConfiguration"]["actAsAgent"] = json!(true);
    acting["userAccountConfiguration"]["agentConfiguration"] = json!({"agentDisplayId": "77"});
    let created = create_user(&t, &c.write, "", &acting).await.expect(201);
    assert_eq!(created["userAccountConfiguration"]["actAsAgent"], true);
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:agent").await, (1, 1), "no Agent license drawn, none needed");
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:supervisor").await, (2, 1));
    // Turning it on later draws nothing either.
    let id = created["userId"].as_str().unwrap();
    let plain = create_user(&t, &c.write, "", &new_user("plain", "Supervisor")).await.expect(201);
    let plain_id = plain["userId"].as_str().unwrap();
    patch_user(&t, &c.write, plain_id, "", &json!({"userAccountConfiguration": {"actAsAgent": true}}))
        .await
        .expect(200);
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:agent").await, (1, 1));
    assert_eq!(get_user(&t, &c.read, id).await.expect(200)["userAccountConfiguration"]["role"], "Supervisor");
}

#[tokio::test]
async fn analytics_is_refused_to_an_agent_in_validate_rows_and_by_patch_and_an_analytics_holder_cannot_become_an_agent()
{
    let t = spawn_app().await;
    let contracted = [("vccrole:agent", 5), ("vccrole:wallboard", 5), ("analytics:creator", 5)];
    let c = center(&t, &contracted).await;
    let agent = create_user(&t, &c.write, "", &new_user("agent", "Agent")).await.expect(201);
    let agent = agent["userId"].as_str().unwrap();
    let path = format!("/useradmin/users/{agent}/licenses");
    let body = r#"{"licenseTypes": {"analytics": "creator"}}"#;
    let rows =
        call(&t, Method::POST, &format!("{path}/validate"), Some(&c.write), Some(V4), Some(body)).await.expect(200);
    assert_eq!(
        rows["changeValidations"][1],
        json!({"licenseName": "Analytics", "licenseCapability": "Creator", "operationType": "Add",
               "currentCount": 0, "countAfterAssignment": 1, "isAssignmentPossible": false,
               "validationErrors": ["License not available for the user's role"]})
    );
    let refused = call(&t, Method::PATCH, &path, Some(&c.write), Some(V4), Some(body)).await.expect(409);
    assert_eq!(refused["message"], "License not available for the user's role");
    assert_eq!(t.org_pool(&c.admin, "vcc", "analytics:creator").await, (5, 0), "nothing changed");
    // Wallboard users may hold Analytics (compat/vonage.md's decision).
    let wallboard = create_user(&t, &c.write, "", &new_user("wallboard", "Wallboard")).await.expect(201);
    let wallboard = wallboard["userId"].as_str().unwrap();
    let path = format!("/useradmin/users/{wallboard}/licenses");
    call(&t, Method::PATCH, &path, Some(&c.write), Some(V4), Some(body)).await.expect(200);
    let to_agent = json!({"userAccountConfiguration": {"role": "Agent"}});
    let refused = patch_user(&t, &c.write, wallboard, "", &to_agent).await.expect(409);
    assert!(refused["message"].as_str().unwrap().starts_with("License not available for the user's role"), "{refused}");
    assert_eq!(get_user(&t, &c.read, wallboard).await.expect(200)["userAccountConfiguration"]["role"], "Wallboard");
    // The native API refuses it with the same stable code.
    let native = t
        .client(&c.admin)
        .set_user_licenses("vcc", agent, &crate::harness::licenses(&["vccrole:agent", "analytics:creator"]))
        .await
        .unwrap_err();
    assert_eq!(native.code(), Some(allot_api::ErrorCode::NotEligible));
}

#[tokio::test]
async fn archiving_frees_the_role_license_and_the_product_licenses_and_restoring_draws_the_role_again() {
    let t = spawn_app().await;
    let c =
        center(&t, &[("vccrole:supervisor", 1), ("analytics:creator", 1), ("krispnoisecancellation:enabled", 1)]).await;
    let created = create_user(&t, &c.write, "", &new_user("sup", "Supervisor")).await.expect(201);
    let id = created["userId"].as_str().unwrap();
    let path = format!("/useradmin/users/{id}/licenses");
    let both = r#"{"licenseTypes": {"analytics": "creator", "krispnoisecancellation": "enabled"}}"#;
    call(&t, Method::PATCH, &path, Some(&c.write), Some(V4), Some(both)).await.expect(200);
    patch_user(&t, &c.write, id, "", &json!({"active": false})).await.expect(200);
    for license in ["vccrole:supervisor", "analytics:creator", "krispnoisecancellation:enabled"] {
        assert_eq!(t.org_pool(&c.admin, "vcc", license).await, (1, 0), "{license} is free again");
    }
    let held = call(&t, Method::GET, &path, Some(&c.read), Some(V4), None).await.expect(200);
    assert_eq!(held, json!({"licenseTypes": {"analytics": "none", "krispnoisecancellation": "none"}}));
    // The freed Supervisor license is another's now: restoring waits for one.
    let other = create_user(&t, &c.write, "", &new_user("other", "Supervisor")).await.expect(201);
    let refused = patch_user(&t, &c.write, id, "", &json!({"active": true})).await.expect(409);
    assert_eq!(refused["message"], "Supervisor license limit exceeded");
    assert_eq!(get_user(&t, &c.read, id).await.expect(200)["active"], false);
    patch_user(&t, &c.write, other["userId"].as_str().unwrap(), "", &json!({"active": false})).await.expect(200);
    let restored = patch_user(&t, &c.write, id, "", &json!({"active": true})).await.expect(200);
    assert_eq!(
        (restored["active"].clone(), restored["userAccountConfiguration"]["chargeable"].clone()),
        (json!(true), json!(true))
    );
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:supervisor").await, (1, 1));
}

#[tokio::test]
async fn a_role_change_that_fails_changes_nothing() {
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:agent", 1), ("vccrole:supervisor", 1)]).await;
    create_user(&t, &c.write, "", &new_user("agent", "Agent")).await.expect(201);
    let sup = create_user(&t, &c.write, "", &new_user("sup", "Supervisor")).await.expect(201);
    let id = sup["userId"].as_str().unwrap();
    let before = get_user(&t, &c.read, id).await;
    let revision = before.headers["allot-revision"].clone();
    let change = json!({"name": "Renamed", "userAccountConfiguration": {"role": "Agent", "actAsAgent": true}});
    let refused = patch_user(&t, &c.write, id, "", &change).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let after = get_user(&t, &c.read, id).await;
    assert_eq!(after.body, before.body, "neither the name nor the role changed");
    assert_eq!(after.headers["allot-revision"], revision, "nothing was written");
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:supervisor").await, (1, 1));
    assert_eq!(t.org_pool(&c.admin, "vcc", "vccrole:agent").await, (1, 1));
}

#[tokio::test]
async fn a_product_the_host_adds_may_be_refused_to_a_role_and_the_native_api_refuses_it_as_not_eligible() {
    use allot_api::{CapabilityView, ErrorCode, ProductKind, ProductView};
    let t = spawn_app().await;
    let c = center(&t, &[("vccrole:agent", 2)]).await;
    let host = t.client(&c.admin);
    let level = |code: &str, overflow: Option<&str>| CapabilityView {
        code: code.into(),
        name: code.into(),
        overflow: overflow.map(Into::into),
    };
    let mut coaching = ProductView {
        code: "coaching".into(),
        name: "Coaching".into(),
        kind: ProductKind::User,
        service_type: None,
        capabilities: vec![level("basic", Some("basic"))],
        not_for: vec!["vccrole:agent".into()],
    };
    let refused = host.create_product(&coaching).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::InvalidBody), "an overflow must be another level");
    assert_eq!(refused.status().map(|s| s.as_u16()), Some(422), "well-formed, so not a 400");
    coaching.capabilities = vec![level("basic", None)];
    host.create_product(&coaching).await.unwrap();
    host.set_host_pools(&crate::harness::pools(&[("coaching:basic", 5)])).await.unwrap();
    host.set_org_pools("vcc", &crate::harness::pools(&[("coaching:basic", 5)])).await.unwrap();
    let agent = create_user(&t, &c.write, "", &new_user("agent", "Agent")).await.expect(201);
    let agent = agent["userId"].as_str().unwrap();
    let both = crate::harness::licenses(&["vccrole:agent", "coaching:basic"]);
    let refused = host.set_user_licenses("vcc", agent, &both).await.unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::NotEligible));
    assert_eq!(t.org_pool(&c.admin, "vcc", "coaching:basic").await, (5, 0));
}
