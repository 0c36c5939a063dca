//! SCIM 2.0 at /scim/v2, driven request by request as Okta and Entra drive it.

use allot_api::{CreateClient, CreateScimToken, GroupRule, LedgerParams, LicenseSpec, SetUserLicenses};
use serde_json::{Value, json};

use crate::harness::{TestApp, spawn_app};

/// A SCIM session: the server and a SCIM token of organization `acme`'s identity provider.
struct Idp<'a> {
    t: &'a TestApp,
    token: String,
    /// The API client the token is for.
    client_id: String,
}

impl Idp<'_> {
    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.t.http.request(method, self.t.url(&format!("/scim/v2{path}"))).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.header("content-type", "application/scim+json").body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        if status != 204 {
            let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
            assert_eq!(kind, "application/scim+json", "{path}");
        }
        let text = response.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }
    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PUT, path, Some(body)).await
    }
    async fn patch(&self, path: &str, operations: Value) -> (u16, Value) {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }
}

async fn acme(t: &TestApp) -> (String, Idp<'_>) {
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 2), ("TSTNU", 5)], &[]).await;
    let client = t.client(&boss);
    let okta = CreateClient { name: "okta".into(), scopes: vec!["scim".into()] };
    let okta = client.create_client("acme", &okta).await.unwrap();
    let token = client.create_scim_token("acme", &okta.client_id, &CreateScimToken::default()).await.unwrap().token;
    (boss, Idp { t, token, client_id: okta.client_id })
}

fn okta_user(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{given}"),
        "groups": [],
        "password": "ignored-by-allot-1",
        "active": true,
    })
}

/// A filter as a query's value.
fn query(filter: &str) -> String {
    filter.replace('%', "%25").replace(' ', "%20").replace('"', "%22").replace('[', "%5B").replace(']', "%5D")
}

#[tokio::test]
async fn okta_provisions_users_pushes_a_group_whose_rule_licenses_its_members_and_deactivation_frees_their_units() {
    let t = spawn_app().await;
    let (boss, idp) = acme(&t).await;
    let native = t.client(&boss);

    // The connection test.
    let (status, page) = idp.get("/Users?startIndex=1&count=2").await;
    let already = page["totalResults"].as_u64().unwrap();
    assert_eq!((status, page["Resources"].as_array().map(Vec::len)), (200, Some(already.min(2) as usize)), "{page}");
    assert_eq!(page["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:ListResponse");

    // Each user: looked up by userName, not found, created.
    let mut ids = Vec::new();
    for (user_name, given) in [("ana@example.com", "Ana"), ("ben@example.com", "Ben"), ("cy@example.com", "Cy")] {
        let (status, found) = idp
            .get(&format!("/Users?filter={}&startIndex=1&count=100", query(&format!("userName eq \"{user_name}\""))))
            .await;
        assert_eq!(
            (status, found["totalResults"].as_u64()),
            (200, Some(0)),
            "a filter matching nothing is an empty list"
        );
        let (status, created) = idp.post("/Users", okta_user(user_name, given, "Okafor")).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["userName"], user_name);
        assert_eq!(created["active"], true);
        assert_eq!(created["meta"]["resourceType"], "User");
        assert!(created["meta"]["version"].as_str().unwrap().starts_with("W/\""));
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let (ana, ben, cy) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    let (status, again) = idp.post("/Users", okta_user("ANA@example.com", "Ana", "Again")).await;
    assert_eq!((status, again["scimType"].as_str()), (409, Some("uniqueness")), "userName is unique in any case");
    let (status, spaced) = idp.post("/Users", okta_user("Dee Smith", "Dee", "Smith")).await;
    assert_eq!(status, 201, "{spaced}");
    assert!(spaced["id"].as_str().unwrap().starts_with("scim-"), "a userName that is no id gets one made: {spaced}");
    assert_eq!(idp.post("/Users", okta_user("dee smith", "Dee", "Again")).await.0, 409);
    let (_, by_external) = idp.get(&format!("/Users?filter={}", query("externalId eq \"00uBen\""))).await;
    assert_eq!(by_external["Resources"][0]["id"], ben.as_str());

    // Okta's full PUT, without `active`: the name changes, the user stays active.
    let mut put = okta_user("ana@example.com", "Ana", "Okafor-Reyes");
    put.as_object_mut().unwrap().remove("active");
    let (status, replaced) = idp.put(&format!("/Users/{ana}"), put).await;
    assert_eq!(
        (status, replaced["name"]["familyName"].as_str(), replaced["active"].as_bool()),
        (200, Some("Okafor-Reyes"), Some(true))
    );

    // Group push: the group, then its members (Okta leaves out their type).
    let (status, group) = idp.post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Developers", "members": []})).await;
    assert_eq!(status, 201, "{group}");
    let gid = group["id"].as_str().unwrap().to_owned();
    native
        .set_group_rule("acme", &gid, &GroupRule { licenses: vec!["ATTUNU".into()], use_external_license: false })
        .await
        .unwrap();
    let members: Vec<Value> = [&ana, &ben, &cy].iter().map(|id| json!({"value": id, "display": id})).collect();
    let (status, patched) =
        idp.patch(&format!("/Groups/{gid}"), json!([{"op": "add", "path": "members", "value": members}])).await;
    assert_eq!((status, patched["members"].as_array().map(Vec::len)), (200, Some(3)), "{patched}");
    let holds = |user: String| {
        let native = native.clone();
        async move { native.check("acme", &user, "ATTUNU").await.unwrap().allowed }
    };
    assert_eq!(
        (holds(ana.clone()).await, holds(ben.clone()).await, holds(cy.clone()).await),
        (true, true, false),
        "first come, first served"
    );
    let (_, user) = idp.get(&format!("/Users/{ana}")).await;
    assert_eq!(user["groups"][0]["value"], gid.as_str());

    // A direct license, then Entra's deactivation with a string boolean: ana holds nothing,
    // and the unit ana held goes to cy, who waited.
    let spec = LicenseSpec { license: "TSTNU".into(), external: false, valid_from: None, valid_until: None };
    native.set_user_licenses("acme", &ana, &SetUserLicenses { licenses: vec![spec] }).await.unwrap();
    let (status, off) =
        idp.patch(&format!("/Users/{ana}"), json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_eq!((status, off["active"].as_bool()), (200, Some(false)), "{off}");
    assert!(!holds(ana.clone()).await && holds(cy.clone()).await);
    assert!(!native.check("acme", &ana, "TSTNU").await.unwrap().allowed, "direct licenses are released too");
    // Back on: the group's rule gives again once a unit is free; the direct one stays released.
    let (_, on) = idp.patch(&format!("/Users/{ana}"), json!([{"op": "replace", "value": {"active": true}}])).await;
    assert_eq!(on["active"], true);
    assert!(!holds(ana.clone()).await, "both units are held: ana waits");

    // A filtered removal frees cy's unit for ana.
    let path = format!("members[value eq \"{cy}\"]");
    let (status, _) = idp.patch(&format!("/Groups/{gid}"), json!([{"op": "remove", "path": path}])).await;
    assert_eq!(status, 200);
    assert!(!holds(cy.clone()).await && holds(ana.clone()).await);
    assert!(!native.check("acme", &ana, "TSTNU").await.unwrap().allowed);

    let (_, groups) = idp.get("/Groups?excludedAttributes=members").await;
    assert_eq!(groups["Resources"][0]["displayName"], "Developers");
    assert!(groups["Resources"][0].get("members").is_none(), "{groups}");

    // The ledger names the SCIM client.
    let ledger =
        native.ledger("acme", &LedgerParams { user: Some(cy.clone()), ..LedgerParams::default() }).await.unwrap();
    let actors: std::collections::BTreeSet<&str> = ledger.entries.iter().map(|e| e.actor.as_str()).collect();
    assert_eq!(actors, [format!("client:{}", idp.client_id).as_str()].into(), "cy's entries are all the SCIM client's");
    assert!(ledger.entries.len() >= 4, "created, joined, granted, released: {:?}", ledger.entries);

    // Errors in SCIM's own shape.
    let (status, bad) = idp.get(&format!("/Users?filter={}", query("userName zz \"x\""))).await;
    assert_eq!((status, bad["scimType"].as_str()), (400, Some("invalidFilter")));
    let (status, _) = idp.get("/Users/nobody").await;
    assert_eq!(status, 404);
    let stale = t
        .http
        .put(t.url(&format!("/scim/v2/Users/{ben}")))
        .bearer_auth(&idp.token)
        .header("content-type", "application/scim+json")
        .header("if-match", "W/\"0000\"")
        .body(okta_user("ben@example.com", "Ben", "Okafor").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 412);
    let (status, _) = idp.send(reqwest::Method::DELETE, &format!("/Users/{ben}"), None).await;
    assert_eq!(status, 204);
    assert!(!holds(cy.clone()).await && idp.get(&format!("/Users/{ben}")).await.0 == 404);
}

#[tokio::test]
async fn discovery_answers_the_features_resource_types_and_schemas_and_only_to_a_scim_token() {
    let t = spawn_app().await;
    let (boss, idp) = acme(&t).await;
    let (status, config) = idp.get("/ServiceProviderConfig").await;
    assert_eq!(
        (status, config["patch"]["supported"].as_bool(), config["etag"]["supported"].as_bool()),
        (200, Some(true), Some(true))
    );
    let (_, types) = idp.get("/ResourceTypes").await;
    let names: Vec<&str> = types["Resources"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["User", "Group"]);
    let (_, schemas) = idp.get("/Schemas").await;
    assert_eq!(schemas["totalResults"], 2);
    let (status, _) = idp.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    assert_eq!(status, 200);
    let anonymous = t.http.get(t.url("/scim/v2/Users")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    // An organization admin of another organization sees nothing of acme's.
    let admin = t.admin().await;
    let other = t.org_with(&admin, "other", &[("ATTUNU", 1)], &["zed"]).await;
    let theirs = Idp { t: &t, token: other, client_id: String::new() };
    let (_, listed) = theirs.get("/Users").await;
    let ids: Vec<&str> = listed["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["other-admin", "zed"], "an organization's own users, none of acme's");
    let acme_admin = Idp { t: &t, token: boss, client_id: String::new() };
    assert_eq!(acme_admin.get("/Users/zed").await.0, 404, "another organization's user is not found");
}
