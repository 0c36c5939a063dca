//! Every endpoint's success answer, and its shape where a client depends on it.

use allot_api::{
    CreateGroup, CreateOrg, CreateTenant, CreateUser, ErrorCode, LedgerParams, MemberView, PageQuery, ProductKind,
    ProductView, Role, UpdateOrg, UpdateUser, UserQuery, Via,
};
use serde_json::json;

use crate::harness::{group, licenses, member, pools, refused, rule, spawn_app};

fn org(id: &str) -> CreateOrg {
    CreateOrg { id: id.to_owned(), name: None }
}

#[tokio::test]
async fn organizations_can_be_created_read_renamed_listed_and_deleted() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let host = t.client(&admin);
    // The answer's shape on the wire: raw.
    let created = t.post(&admin, "/api/v1/orgs", json!({"id": "song-one", "name": "Song One"})).await.expect(201);
    insta::assert_json_snapshot!(created, @r#"
    {
      "groups": 0,
      "id": "song-one",
      "name": "Song One",
      "tenants": 0,
      "users": 0
    }
    "#);
    assert_eq!(host.org("SONG_ONE").await.unwrap().id, "song-one", "ids match loosely");
    assert_eq!(refused(host.create_org(&org("Song_One")).await), (409, ErrorCode::AlreadyExists));
    host.update_org("song-one", &UpdateOrg { name: "Song 1".into() }).await.unwrap();
    host.create_org(&org("b-side")).await.unwrap();
    let list = host.orgs().await.unwrap();
    let names: Vec<_> = list.organizations.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["b-side", "Song 1"]);

    host.create_user("b-side", &member("x")).await.unwrap();
    assert_eq!(refused(host.delete_org("b-side").await), (409, ErrorCode::OrganizationNotEmpty));
    host.delete_user("b-side", "x").await.unwrap();
    host.delete_org("b-side").await.unwrap();
    assert_eq!(refused(host.org("b-side").await), (404, ErrorCode::NotFound));
}

#[tokio::test]
async fn users_are_listed_by_search_license_and_group_with_their_licenses_when_asked() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5), ("TSTNU", 5)], &["ana", "ben", "cy"]).await;
    let client = t.client(&boss);
    client.set_user_licenses("acme", "ana", &licenses(&["ATTUNU"])).await.unwrap();
    client.create_group("acme", &group("qa")).await.unwrap();
    client.set_group_rule("acme", "qa", &rule(&["TSTNU"])).await.unwrap();
    client.add_member("acme", "qa", "ben").await.unwrap();
    client
        .update_user("acme", "cy", &UpdateUser { name: Some("Cyrus Ben".into()), ..UpdateUser::default() })
        .await
        .unwrap();
    let ids = |query: UserQuery| {
        let client = client.clone();
        async move {
            let page = client.users_where("acme", &query).await.unwrap();
            page.users.into_iter().map(|u| (u.id, u.licenses.map(|held| held.len()))).collect::<Vec<_>>()
        }
    };
    let asked = |search: &str, license: &str, group: &str| UserQuery {
        search: Some(search.to_owned()).filter(|s| !s.is_empty()),
        license: Some(license.to_owned()).filter(|s| !s.is_empty()),
        group: Some(group.to_owned()).filter(|s| !s.is_empty()),
        ..UserQuery::default()
    };
    assert_eq!(ids(asked("BEN", "", "")).await, [("ben".to_owned(), None), ("cy".to_owned(), None)], "name or id");
    assert_eq!(ids(asked("", "ATTUNU", "")).await, [("ana".to_owned(), None)]);
    assert_eq!(ids(asked("", "TSTNU", "qa")).await, [("ben".to_owned(), None)], "inherited counts");
    let with = UserQuery { licenses: true, ..asked("", "", "qa") };
    let page = client.users_where("acme", &with).await.unwrap();
    let held = page.users[0].licenses.as_ref().unwrap();
    assert_eq!((held[0].license.as_str(), held[0].source, held[0].group.as_deref()), ("TSTNU", Via::Group, Some("qa")));
    assert_eq!(refused(client.users_where("acme", &asked("", "NOPE", "")).await), (404, ErrorCode::UnknownLicense));
    assert_eq!(refused(client.users_where("acme", &asked("", "", "nope")).await).0, 404);
}

#[tokio::test]
async fn users_are_paged_in_id_order() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["c", "a", "b", "d"]).await;
    let client = t.client(&boss);
    let page = |after: Option<String>| client.users("acme", &PageQuery { limit: Some(2), after });
    let first = page(None).await.unwrap();
    let ids: Vec<_> = first.users.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, ["a", "acme-admin"]);
    let second = page(first.next).await.unwrap();
    let third = page(second.next).await.unwrap();
    assert_eq!(third.users.len(), 1);
    assert!(third.next.is_none());

    // The answer's shape on the wire: raw.
    let user = t.get(&boss, "/api/v1/orgs/acme/users/acme-admin").await.expect(200);
    insta::assert_json_snapshot!(user, @r#"
    {
      "groups": [],
      "id": "acme-admin",
      "name": "acme-admin",
      "role": "admin"
    }
    "#);
    let change = UpdateUser { name: Some("Ann".into()), email: Some("ann@example.com".into()), role: None };
    let updated = client.update_user("acme", "a", &change).await.unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.email.as_deref(), updated.role),
        ("Ann", Some("ann@example.com"), Role::Member)
    );
    assert_eq!(refused(client.create_user("acme", &member("a")).await), (409, ErrorCode::AlreadyExists));
    let bad = CreateUser { id: "a/b".into(), ..CreateUser::default() };
    assert_eq!(refused(client.create_user("acme", &bad).await), (400, ErrorCode::InvalidId));
}

#[tokio::test]
async fn deleting_a_user_returns_their_units() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a"]).await;
    let client = t.client(&boss);
    client.set_user_licenses("acme", "a", &licenses(&["ATTUNU"])).await.unwrap();
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 1));
    client.delete_user("acme", "a").await.unwrap();
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 0));
    assert_eq!(refused(client.user("acme", "a").await), (404, ErrorCode::NotFound));
}

#[tokio::test]
async fn groups_members_and_rules() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5), ("RPADEVNU", 5)], &["a", "b"]).await;
    let client = t.client(&boss);
    client.create_group("acme", &CreateGroup { id: "devs".into(), name: Some("Developers".into()) }).await.unwrap();
    client.add_member("acme", "devs", "b").await.unwrap();
    let members = client.add_member("acme", "devs", "a").await.unwrap();
    let expected = [MemberView { user: "b".into(), position: 1 }, MemberView { user: "a".into(), position: 2 }];
    assert_eq!(members.members, expected);
    assert_eq!(client.members("acme", "devs").await.unwrap().members, expected);
    client.set_group_rule("acme", "devs", &rule(&["ATTUNU", "rpadevnu"])).await.unwrap();
    let devs = client.group_rule("acme", "devs").await.unwrap();
    assert_eq!(devs.licenses, ["ATTUNU", "RPADEVNU"], "codes are answered in the catalogue's spelling");
    let group = client.group("acme", "devs").await.unwrap();
    assert_eq!((group.members, group.name.as_str()), (2, "Developers"));
    assert_eq!(client.groups("acme").await.unwrap().groups.len(), 1);
    assert_eq!(t.org_pool(&boss, "acme", "RPADEVNU").await, (5, 2));
    let unit = client.set_group_rule("acme", "devs", &rule(&["UNATT"])).await;
    assert_eq!(refused(unit), (409, ErrorCode::WrongLicenseKind));
    let missing = client.remove_member("acme", "devs", "acme-admin").await;
    assert_eq!(refused(missing), (404, ErrorCode::NotAMember));
    client.delete_group("acme", "devs").await.unwrap();
    assert_eq!(t.org_pool(&boss, "acme", "RPADEVNU").await, (5, 0), "members lose what they inherited");
}

#[tokio::test]
async fn tenants_get_units_per_service_from_the_organization() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("UNATT", 5), ("AIG", 2), ("ATTUNU", 1)], &[]).await;
    let client = t.client(&boss);
    client.create_tenant("acme", &CreateTenant { id: "prod".into(), name: Some("Production".into()) }).await.unwrap();
    let orchestrator =
        |quantities: &[(&str, i64)]| client.set_service_pools("acme", "prod", "orchestrator", &pools(quantities));
    let granted = orchestrator(&[("UNATT", 4)]).await.unwrap();
    assert_eq!(granted.pools[0].quantity, 4);
    assert_eq!(client.service_pools("acme", "prod", "orchestrator").await.unwrap().pools[0].quantity, 4);
    client.set_service_pools("acme", "prod", "aicenter", &pools(&[("AIG", 2)])).await.unwrap();
    assert_eq!(t.org_pool(&boss, "acme", "UNATT").await, (5, 4));
    assert_eq!(refused(orchestrator(&[("UNATT", 6)]).await), (409, ErrorCode::LicenseLimitExceeded));
    assert_eq!(refused(orchestrator(&[("AIG", 1)]).await), (409, ErrorCode::WrongService));
    assert_eq!(refused(orchestrator(&[("ATTUNU", 1)]).await), (409, ErrorCode::WrongLicenseKind));
    // The answer's shape on the wire: raw.
    let tenant = t.get(&boss, "/api/v1/orgs/acme/tenants/prod").await.expect(200);
    insta::assert_json_snapshot!(tenant, @r#"
    {
      "id": "prod",
      "name": "Production",
      "services": [
        {
          "pools": [
            {
              "allocated": 0,
              "available": 2,
              "license": "AIG",
              "quantity": 2
            }
          ],
          "service": "aicenter"
        },
        {
          "pools": [
            {
              "allocated": 0,
              "available": 4,
              "license": "UNATT",
              "quantity": 4
            }
          ],
          "service": "orchestrator"
        }
      ]
    }
    "#);
    assert_eq!(client.tenants("acme").await.unwrap().tenants.len(), 1);
    let lower = t.client(&admin).set_org_pools("acme", &pools(&[("UNATT", 3)])).await;
    assert_eq!(refused(lower), (409, ErrorCode::QuantityInUse));
    client.delete_tenant("acme", "prod").await.unwrap();
    assert_eq!(refused(client.tenant("acme", "prod").await), (404, ErrorCode::NotFound));
    assert_eq!(t.org_pool(&boss, "acme", "UNATT").await, (5, 0));
}

#[tokio::test]
async fn host_pools_and_the_catalogue() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let host = t.client(&admin);
    let products = host.products().await.unwrap();
    let codes: Vec<_> = products.products.iter().map(|p| p.code.as_str()).collect();
    for code in ["RPADEVNU", "ATTUNU", "TSTNU", "UNATT", "TIE", "analytics", "krispnoisecancellation"] {
        assert!(codes.contains(&code), "{code} is in the default catalogue");
    }
    let robot = ProductView {
        code: "RU".into(),
        name: "Robot Units".into(),
        kind: ProductKind::Unit,
        service_type: Some("tenant".into()),
        capabilities: vec![],
        not_for: vec![],
    };
    host.create_product(&robot).await.unwrap();
    assert_eq!(refused(host.create_product(&robot).await).1, ErrorCode::AlreadyExists);
    let mut until = pools(&[("RU", 7)]);
    until.pools[0].valid_until = Some("2030-01-01T00:00:00Z".into());
    let answer = host.set_host_pools(&until).await.unwrap();
    let row = &answer.pools[0];
    assert_eq!((row.license.as_str(), row.quantity, row.allocated, row.available), ("RU", 7, 0, 7));
    assert_eq!((row.valid_from.as_deref(), row.valid_until.as_deref()), (None, Some("2030-01-01T00:00:00Z")));
    assert_eq!(host.host_pools().await.unwrap().pools.len(), 1);
    host.create_org(&org("acme")).await.unwrap();
    let over = host.set_org_pools("acme", &pools(&[("RU", 8)])).await;
    assert_eq!(refused(over), (409, ErrorCode::LicenseLimitExceeded));
    let none = host.set_org_pools("acme", &pools(&[("DSU", 1)])).await;
    assert_eq!(refused(none), (409, ErrorCode::NotPurchased));
}

#[tokio::test]
async fn the_ledger_pages_and_filters_by_user_license_and_revision() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 3), ("TSTNU", 3)], &["a", "b"]).await;
    let client = t.client(&boss);
    client.set_user_licenses("acme", "a", &licenses(&["ATTUNU", "TSTNU"])).await.unwrap();
    client.set_user_licenses("acme", "b", &licenses(&["attunu"])).await.unwrap();
    client.set_user_licenses("acme", "a", &licenses(&[])).await.unwrap();

    let filter = LedgerParams { user: Some("a".into()), license: Some("attunu".into()), ..LedgerParams::default() };
    let by_user = client.ledger("acme", &filter).await.unwrap();
    let deltas: Vec<_> = by_user.entries.iter().map(|e| e.change.kind()).collect();
    assert_eq!(deltas, ["holding_set", "holding_set"]);
    let first = &by_user.entries[0];
    assert_eq!(first.actor, "user:acme/acme-admin");
    assert!(!first.request_id.is_empty());
    assert_eq!(first.at, "2027-01-15T08:00:00Z");
    insta::assert_json_snapshot!(serde_json::to_value(&first.change).unwrap(), @r#"
    {
      "after": {
        "external": false,
        "source": {
          "kind": "direct"
        }
      },
      "before": null,
      "org": "acme",
      "product": "ATTUNU",
      "type": "holding_set",
      "user": "a"
    }
    "#);

    let all = client.ledger("acme", &LedgerParams { limit: Some(1000), ..LedgerParams::default() }).await.unwrap();
    let total = all.entries.len();
    let mut seen = 0;
    let mut after = None;
    loop {
        let page = client.ledger("acme", &LedgerParams { limit: Some(3), after, ..LedgerParams::default() }).await;
        let page = page.unwrap();
        seen += page.entries.len();
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, total);
    let last_revision = all.entries[total - 1].revision;
    let from = LedgerParams { from_revision: Some(last_revision), ..LedgerParams::default() };
    let latest = client.ledger("acme", &from).await.unwrap().entries;
    assert!(!latest.is_empty(), "the last revision has entries");
    assert!(latest.iter().all(|e| e.revision == last_revision), "{latest:?}");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let t = spawn_app().await;
    let health: serde_json::Value = t.http.get(t.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready: serde_json::Value = t.http.get(t.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let admin = t.admin().await;
    assert_eq!(refused(t.client(&admin).org("nope").await), (404, ErrorCode::NotFound));
    let metrics = t.http.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"allot_http_requests_total{method="GET",route="/api/v1/orgs/{org}",status="404"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("allot_http_request_duration_seconds_bucket"));
}
