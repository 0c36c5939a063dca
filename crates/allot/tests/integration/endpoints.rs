//! Every endpoint's success answer, and its shape where a client depends on it.

use serde_json::json;

use crate::harness::spawn_app;

#[tokio::test]
async fn organizations_can_be_created_read_renamed_listed_and_deleted() {
    let t = spawn_app().await;
    let admin = t.admin().await;
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
    assert_eq!(t.get(&admin, "/api/v1/orgs/SONG_ONE").await.expect(200)["id"], "song-one", "ids match loosely");
    let clash = t.post(&admin, "/api/v1/orgs", json!({"id": "Song_One"})).await;
    assert_eq!((clash.status.as_u16(), clash.code()), (409, "already_exists"));
    t.patch(&admin, "/api/v1/orgs/song-one", json!({"name": "Song 1"})).await.expect(200);
    t.post(&admin, "/api/v1/orgs", json!({"id": "b-side"})).await.expect(201);
    let list = t.get(&admin, "/api/v1/orgs").await.expect(200);
    let names: Vec<_> = list["organizations"].as_array().unwrap().iter().map(|o| o["name"].clone()).collect();
    assert_eq!(names, vec![json!("b-side"), json!("Song 1")]);

    t.post(&admin, "/api/v1/orgs/b-side/users", json!({"id": "x"})).await.expect(201);
    let busy = t.delete(&admin, "/api/v1/orgs/b-side").await;
    assert_eq!((busy.status.as_u16(), busy.code()), (409, "organization_not_empty"));
    t.delete(&admin, "/api/v1/orgs/b-side/users/x").await.expect(204);
    t.delete(&admin, "/api/v1/orgs/b-side").await.expect(204);
    assert_eq!(t.get(&admin, "/api/v1/orgs/b-side").await.status, 404);
}

#[tokio::test]
async fn users_are_paged_in_id_order() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["c", "a", "b", "d"]).await;
    let first = t.get(&boss, "/api/v1/orgs/acme/users?limit=2").await.expect(200);
    let ids: Vec<_> = first["users"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, ["a", "acme-admin"]);
    let next = first["next"].as_str().unwrap();
    let second = t.get(&boss, &format!("/api/v1/orgs/acme/users?limit=2&after={next}")).await.expect(200);
    let third = t
        .get(&boss, &format!("/api/v1/orgs/acme/users?limit=2&after={}", second["next"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(third["users"].as_array().unwrap().len(), 1);
    assert!(third.get("next").is_none());

    let user = t.get(&boss, "/api/v1/orgs/acme/users/acme-admin").await.expect(200);
    insta::assert_json_snapshot!(user, @r#"
    {
      "groups": [],
      "id": "acme-admin",
      "name": "acme-admin",
      "role": "admin"
    }
    "#);
    let updated = t
        .patch(&boss, "/api/v1/orgs/acme/users/a", json!({"name": "Ann", "email": "ann@example.com"}))
        .await
        .expect(200);
    assert_eq!((updated["name"].clone(), updated["role"].clone()), (json!("Ann"), json!("member")));
    let clash = t.post(&boss, "/api/v1/orgs/acme/users", json!({"id": "a"})).await;
    assert_eq!((clash.status.as_u16(), clash.code()), (409, "already_exists"));
    let bad = t.post(&boss, "/api/v1/orgs/acme/users", json!({"id": "a/b"})).await;
    assert_eq!((bad.status.as_u16(), bad.code()), (400, "invalid_id"));
}

#[tokio::test]
async fn deleting_a_user_returns_their_units() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a"]).await;
    t.put(&boss, "/api/v1/orgs/acme/users/a/licenses", json!({"licenses": [{"license": "ATTUNU"}]})).await.expect(200);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 1));
    t.delete(&boss, "/api/v1/orgs/acme/users/a").await.expect(204);
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 0));
    assert_eq!(t.get(&boss, "/api/v1/orgs/acme/users/a").await.status, 404);
}

#[tokio::test]
async fn groups_members_and_rules() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5), ("RPADEVNU", 5)], &["a", "b"]).await;
    t.post(&boss, "/api/v1/orgs/acme/groups", json!({"id": "devs", "name": "Developers"})).await.expect(201);
    t.post(&boss, "/api/v1/orgs/acme/groups/devs/members", json!({"user": "b"})).await.expect(201);
    let members = t.post(&boss, "/api/v1/orgs/acme/groups/devs/members", json!({"user": "a"})).await.expect(201);
    assert_eq!(members["members"], json!([{"user": "b", "position": 1}, {"user": "a", "position": 2}]));
    t.put(&boss, "/api/v1/orgs/acme/groups/devs/licenses", json!({"licenses": ["ATTUNU", "rpadevnu"]}))
        .await
        .expect(200);
    let rule = t.get(&boss, "/api/v1/orgs/acme/groups/devs/licenses").await.expect(200);
    assert_eq!(rule["licenses"], json!(["ATTUNU", "RPADEVNU"]), "codes are answered in the catalogue's spelling");
    let group = t.get(&boss, "/api/v1/orgs/acme/groups/devs").await.expect(200);
    assert_eq!((group["members"].clone(), group["name"].clone()), (json!(2), json!("Developers")));
    assert_eq!(t.get(&boss, "/api/v1/orgs/acme/groups").await.expect(200)["groups"].as_array().unwrap().len(), 1);
    assert_eq!(t.org_pool(&boss, "acme", "RPADEVNU").await, (5, 2));
    let unit = t.put(&boss, "/api/v1/orgs/acme/groups/devs/licenses", json!({"licenses": ["UNATT"]})).await;
    assert_eq!((unit.status.as_u16(), unit.code()), (409, "wrong_license_kind"));
    let missing = t.delete(&boss, "/api/v1/orgs/acme/groups/devs/members/acme-admin").await;
    assert_eq!((missing.status.as_u16(), missing.code()), (404, "not_a_member"));
    t.delete(&boss, "/api/v1/orgs/acme/groups/devs").await.expect(204);
    assert_eq!(t.org_pool(&boss, "acme", "RPADEVNU").await, (5, 0), "members lose what they inherited");
}

#[tokio::test]
async fn tenants_get_units_per_service_from_the_organization() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("UNATT", 5), ("AIG", 2), ("ATTUNU", 1)], &[]).await;
    t.post(&boss, "/api/v1/orgs/acme/tenants", json!({"id": "prod", "name": "Production"})).await.expect(201);
    let path = "/api/v1/orgs/acme/tenants/prod/services/orchestrator/pools";
    let pools = t.put(&boss, path, json!({"pools": [{"license": "UNATT", "quantity": 4}]})).await.expect(200);
    assert_eq!(pools["pools"][0]["quantity"], 4);
    t.put(
        &boss,
        "/api/v1/orgs/acme/tenants/prod/services/aicenter/pools",
        json!({"pools": [{"license": "AIG", "quantity": 2}]}),
    )
    .await
    .expect(200);
    assert_eq!(t.org_pool(&boss, "acme", "UNATT").await, (5, 4));
    let over = t.put(&boss, path, json!({"pools": [{"license": "UNATT", "quantity": 6}]})).await;
    assert_eq!((over.status.as_u16(), over.code()), (409, "license_limit_exceeded"));
    let wrong = t.put(&boss, path, json!({"pools": [{"license": "AIG", "quantity": 1}]})).await;
    assert_eq!((wrong.status.as_u16(), wrong.code()), (409, "wrong_service"));
    let user_code = t.put(&boss, path, json!({"pools": [{"license": "ATTUNU", "quantity": 1}]})).await;
    assert_eq!((user_code.status.as_u16(), user_code.code()), (409, "wrong_license_kind"));
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
    assert_eq!(t.get(&boss, "/api/v1/orgs/acme/tenants").await.expect(200)["tenants"].as_array().unwrap().len(), 1);
    let lower = t.put(&admin, "/api/v1/orgs/acme/pools", json!({"pools": [{"license": "UNATT", "quantity": 3}]})).await;
    assert_eq!((lower.status.as_u16(), lower.code()), (409, "quantity_in_use"));
    t.delete(&boss, "/api/v1/orgs/acme/tenants/prod").await.expect(204);
    assert_eq!(t.org_pool(&boss, "acme", "UNATT").await, (5, 0));
}

#[tokio::test]
async fn host_pools_and_the_catalogue() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let products = t.get(&admin, "/api/v1/products").await.expect(200);
    let codes: Vec<_> =
        products["products"].as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap().to_owned()).collect();
    for code in ["RPADEVNU", "ATTUNU", "TSTNU", "UNATT", "TIE", "analytics", "krispnoisecancellation"] {
        assert!(codes.iter().any(|c| c == code), "{code} is in the default catalogue");
    }
    let robot = json!({"code": "RU", "name": "Robot Units", "kind": "unit", "service_type": "tenant"});
    t.post(&admin, "/api/v1/products", robot.clone()).await.expect(201);
    assert_eq!(t.post(&admin, "/api/v1/products", robot).await.code(), "already_exists");
    let pools = t
        .put(
            &admin,
            "/api/v1/host/pools",
            json!({"pools": [{"license": "RU", "quantity": 7, "valid_until": "2030-01-01T00:00:00Z"}]}),
        )
        .await
        .expect(200);
    assert_eq!(
        pools["pools"][0],
        json!({"license": "RU", "quantity": 7, "allocated": 0, "available": 7, "valid_until": "2030-01-01T00:00:00Z"})
    );
    assert_eq!(t.get(&admin, "/api/v1/host/pools").await.expect(200)["pools"].as_array().unwrap().len(), 1);
    t.post(&admin, "/api/v1/orgs", json!({"id": "acme"})).await.expect(201);
    let refused = t.put(&admin, "/api/v1/orgs/acme/pools", json!({"pools": [{"license": "RU", "quantity": 8}]})).await;
    assert_eq!((refused.status.as_u16(), refused.code()), (409, "license_limit_exceeded"));
    let none = t.put(&admin, "/api/v1/orgs/acme/pools", json!({"pools": [{"license": "DSU", "quantity": 1}]})).await;
    assert_eq!((none.status.as_u16(), none.code()), (409, "not_purchased"));
}

#[tokio::test]
async fn the_ledger_pages_and_filters_by_user_license_and_revision() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 3), ("TSTNU", 3)], &["a", "b"]).await;
    t.put(
        &boss,
        "/api/v1/orgs/acme/users/a/licenses",
        json!({"licenses": [{"license": "ATTUNU"}, {"license": "TSTNU"}]}),
    )
    .await
    .expect(200);
    t.put(&boss, "/api/v1/orgs/acme/users/b/licenses", json!({"licenses": [{"license": "attunu"}]})).await.expect(200);
    t.put(&boss, "/api/v1/orgs/acme/users/a/licenses", json!({"licenses": []})).await.expect(200);

    let by_user = t.get(&boss, "/api/v1/orgs/acme/ledger?user=a&license=attunu").await.expect(200);
    let deltas: Vec<_> = by_user["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["change"]["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(deltas, ["holding_set", "holding_set"]);
    let first = &by_user["entries"][0];
    assert_eq!(first["actor"], "user:acme/acme-admin");
    assert!(first["request_id"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(first["at"], "2027-01-15T08:00:00Z");
    insta::assert_json_snapshot!(first["change"], @r#"
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

    let all = t.get(&boss, "/api/v1/orgs/acme/ledger?limit=1000").await.expect(200);
    let total = all["entries"].as_array().unwrap().len();
    let mut seen = 0;
    let mut after = String::new();
    loop {
        let page = t.get(&boss, &format!("/api/v1/orgs/acme/ledger?limit=3{after}")).await.expect(200);
        seen += page["entries"].as_array().unwrap().len();
        match page["next"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, total);
    let last_revision = all["entries"][total - 1]["revision"].as_u64().unwrap();
    let latest = t.get(&boss, &format!("/api/v1/orgs/acme/ledger?from_revision={last_revision}")).await.expect(200);
    let latest = latest["entries"].as_array().unwrap();
    assert!(!latest.is_empty(), "the last revision has entries");
    assert!(latest.iter().all(|e| e["revision"] == last_revision), "{latest:?}");
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let t = spawn_app().await;
    let health: serde_json::Value = t.http.get(t.url("/healthz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready: serde_json::Value = t.http.get(t.url("/readyz")).send().await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    let admin = t.admin().await;
    t.get(&admin, "/api/v1/orgs/nope").await;
    let metrics = t.http.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"allot_http_requests_total{method="GET",route="/api/v1/orgs/{org}",status="404"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains("allot_http_request_duration_seconds_bucket"));
}
