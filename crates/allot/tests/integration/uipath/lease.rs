//! The UiPath dialect's lease operations, against UiPath's definitions
//! (`license.la.yaml`): every documented field filled in, and only the required ones.

use allot_api::CreateClient;
use reqwest::Method;
use serde_json::{Value, json};

use super::shape::{Bool, DateTime, Int, Num, Shape, Str, Uuid, array, assert_shape, map, nullable, object};
use super::{grant_org, host_buys, host_login, raw, song_one};
use crate::harness::{TestApp, spawn_app};

const LA: &str = "/lease_/api/account/song-one/user-license";
/// Users and groups named by GUIDs, as UiPath's directory names them.
const ADA: &str = "0b6c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3";
const BEN: &str = "1c7d2e3f-4051-4b6c-9d7e-8f90a1b2c3d4";
const CAL: &str = "2d8e3f40-5162-4c7d-ae8f-90a1b2c3d4e5";
const DEVS: &str = "3e9f4051-6273-4d8e-bf90-a1b2c3d4e5f6";
const QA: &str = "4fa05162-7384-4e9f-8a01-b2c3d4e5f6a7";

fn user_license_as_product_dto() -> Shape {
    object(vec![("code", nullable(Str)), ("allocated", Int), ("total", Int)])
}

fn user_license_dto() -> Shape {
    object(vec![
        ("userId", nullable(Str)),
        ("organizationId", nullable(Str)),
        ("useExternalLicense", Bool),
        ("userBundleCodes", nullable(array(Str))),
    ])
}

fn group_rule_dto() -> Shape {
    object(vec![
        ("groupId", nullable(Str)),
        ("organizationId", nullable(Str)),
        ("useExternalLicense", Bool),
        ("userBundleCodes", nullable(array(Str))),
    ])
}

fn group_rule_allocation_dto() -> Shape {
    object(vec![
        ("availableUserBundles", nullable(array(user_license_as_product_dto()))),
        ("allocatedUserBundles", nullable(array(Str))),
        ("useExternalLicense", Bool),
    ])
}

fn user_bundle_deallocation_response_dto() -> Shape {
    object(vec![("successfulUserIds", nullable(array(Str))), ("failedUserIds", nullable(array(Str)))])
}

fn user_explicit_allocation_dto() -> Shape {
    object(vec![
        ("id", Uuid),
        ("email", nullable(Str)),
        ("name", nullable(Str)),
        ("surname", nullable(Str)),
        ("lastInUse", nullable(DateTime)),
        ("userBundleLicenses", nullable(array(Str))),
        ("useExternalLicense", Bool),
        ("orphan", Bool),
    ])
}

fn paged(results: Shape) -> Shape {
    object(vec![("totalCount", Int), ("results", nullable(array(results)))])
}

fn user_license_allocation_dto() -> Shape {
    object(vec![
        ("userId", nullable(Str)),
        ("userBundleCodes", nullable(array(Str))),
        ("useExternalLicense", Bool),
        ("inheritedFromGroup", Bool),
    ])
}

fn group_allocation_dto() -> Shape {
    object(vec![
        ("id", Uuid),
        ("name", nullable(Str)),
        ("userBundleLicenses", nullable(array(Str))),
        ("userBundleLeases", nullable(map(Int))),
        ("useExternalLicense", Bool),
        ("orphan", Bool),
    ])
}

fn user_allocations_dto() -> Shape {
    object(vec![
        ("id", nullable(Str)),
        ("email", nullable(Str)),
        ("name", nullable(Str)),
        ("surname", nullable(Str)),
        ("displayName", nullable(Str)),
        ("lastInUse", nullable(DateTime)),
        ("userBundleLicenses", nullable(array(Str))),
        ("orphan", Bool),
    ])
}

fn group_inheritance_dto() -> Shape {
    object(vec![("group", nullable(Str)), ("useExternalLicense", Bool), ("userBundleCodes", nullable(array(Str)))])
}

fn license_inheritance_dto() -> Shape {
    object(vec![
        ("currentlyUsedLicense", nullable(array(group_inheritance_dto()))),
        ("allGroupLicenseAllocationRules", nullable(array(group_inheritance_dto()))),
    ])
}

fn editable_user_bundle_dto() -> Shape {
    object(vec![
        ("availableUserBundles", nullable(array(user_license_as_product_dto()))),
        ("allocatedUserBundles", nullable(array(Str))),
        ("explicitAllocation", Bool),
        ("useExternalLicense", Bool),
        ("groupLicenseInheritance", nullable(array(group_inheritance_dto()))),
    ])
}

fn user_license_state_response() -> Shape {
    object(vec![("userId", nullable(Str)), ("accountId", nullable(Str)), ("license_token", nullable(Str))])
}

fn product_usage_timeline_dto() -> Shape {
    object(vec![("clientId", nullable(Str)), ("productCode", nullable(Str)), ("productUsage", nullable(map(Num)))])
}

fn product_organization_usage_timeline_dto() -> Shape {
    object(vec![("organizationId", Uuid), ("productCode", nullable(Str)), ("productUsage", nullable(map(Num)))])
}

fn product_in_use_dto() -> Shape {
    object(vec![("clientId", nullable(Str)), ("productCode", nullable(Str)), ("used", Num), ("total", Num)])
}

/// `song-one` licensed with user bundles and robots, users Ada, Ben and Cal (named by
/// GUIDs), and group Developers (Ada and Ben, in that order).
struct Licensed {
    t: TestApp,
    boss: String,
}

async fn licensed() -> Licensed {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    host_buys(&t, &host, &["RPADEVNU", "ATTUNU", "TSTNU", "UNATT"]).await;
    grant_org(&t, &host, &[("RPADEVNU", 3), ("ATTUNU", 3), ("TSTNU", 2), ("UNATT", 2)]).await;
    for (id, name) in [(ADA, "Ada"), (BEN, "Ben"), (CAL, "Cal")] {
        let user = json!({"id": id, "name": name, "email": format!("{}@song.one", name.to_lowercase())});
        t.post(&boss, "/song-one/identity_/api/User", user).await.expect(200);
    }
    for (id, name, members) in [(DEVS, "Developers", &[ADA, BEN][..]), (QA, "Quality", &[CAL][..])] {
        t.post(&boss, "/api/v1/orgs/song-one/groups", json!({"id": id, "name": name})).await.expect(201);
        for user in members {
            let added =
                t.post(&boss, &format!("/api/v1/orgs/song-one/groups/{id}/members"), json!({"user": user})).await;
            assert!(added.status.is_success(), "{:#}", added.body);
        }
    }
    Licensed { t, boss }
}

impl Licensed {
    async fn direct(&self, users: &[&str], codes: &[&str], external: bool) -> Value {
        let body = json!({"userIds": users, "userBundleCodes": codes, "useExternalLicense": external});
        self.t.put(&self.boss, LA, body).await.expect(200)
    }

    async fn rule(&self, group: &str, codes: &[&str]) -> Value {
        let body = json!({"userBundleCodes": codes, "useExternalLicense": false});
        self.t.put(&self.boss, &format!("{LA}/group/{group}"), body).await.expect(200)
    }

    async fn allocated(&self, code: &str) -> i64 {
        let inventory = self.t.get(&self.boss, LA).await.expect(200);
        let row = inventory.as_array().unwrap().iter().find(|r| r["code"] == code).cloned();
        row.map_or(0, |r| r["allocated"].as_i64().unwrap())
    }

    async fn call(&self, method: Method, path: &str, body: &str) -> crate::harness::Answer {
        raw(&self.t, method, path, &self.boss, body).await
    }
}

/// Unpadded base64url, as a JWT's parts are spelled.
fn base64url(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sextets: Vec<u32> = text.bytes().map(|b| ALPHABET.iter().position(|a| *a == b).unwrap() as u32).collect();
    let mut bytes = Vec::new();
    for chunk in sextets.chunks(4) {
        let bits = chunk.iter().enumerate().fold(0u32, |acc, (i, s)| acc | s << (18 - 6 * i));
        bytes.extend(&bits.to_be_bytes()[1..chunk.len()]);
    }
    bytes
}

fn sorted(value: &Value) -> Vec<String> {
    let mut codes: Vec<String> = value.as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect();
    codes.sort();
    codes
}

#[tokio::test]
async fn allocating_and_reading_users_and_groups_answer_the_documented_shapes() {
    let o = licensed().await;
    let full =
        json!({"userIds": [ADA], "userBundleCodes": ["ATTUNU"], "useExternalLicense": false, "licenseCodes": []});
    let answer = o.t.put(&o.boss, LA, full).await.expect(200);
    assert_shape(&answer, &array(user_license_dto()));
    let only_required = o.t.put(&o.boss, LA, json!({"userIds": [BEN]})).await.expect(200);
    assert_shape(&only_required, &array(user_license_dto()));
    assert_eq!(only_required[0]["userBundleCodes"], json!([]), "no codes: no direct holdings");
    assert_eq!(o.t.put(&o.boss, LA, json!({})).await.status, 400, "no users to allocate to");

    let inventory = o.t.get(&o.boss, LA).await.expect(200);
    assert_shape(&inventory, &array(user_license_as_product_dto()));
    assert_eq!(o.allocated("ATTUNU").await, 1);

    let rule = json!({"userBundleCodes": ["RPADEVNU"], "useExternalLicense": false, "userBundleLicenses": []});
    let set = o.t.put(&o.boss, &format!("{LA}/group/{DEVS}"), rule).await.expect(200);
    assert_shape(&set, &group_rule_dto());
    assert_eq!((set["groupId"].as_str(), set["userBundleCodes"].clone()), (Some(DEVS), json!(["RPADEVNU"])));
    assert_eq!(o.allocated("RPADEVNU").await, 2, "Ada and Ben inherit it");
    let empty = o.t.put(&o.boss, &format!("{LA}/group/{QA}"), json!({})).await.expect(200);
    assert_shape(&empty, &group_rule_dto());
    let read = o.t.get(&o.boss, &format!("{LA}/group/{DEVS}")).await.expect(200);
    assert_shape(&read, &group_rule_allocation_dto());
    assert_eq!(read["allocatedUserBundles"], json!(["RPADEVNU"]));
}

#[tokio::test]
async fn post_without_user_bundle_codes_reads_explicit_allocations_and_never_allocates() {
    let o = licensed().await;
    o.direct(&[ADA], &["ATTUNU", "RPADEVNU"], false).await;
    let before = o.t.get(&o.boss, LA).await.expect(200);

    let read = o.call(Method::POST, LA, &json!({"userIds": [ADA, BEN, "ghost"]}).to_string()).await.expect(200);
    assert_shape(&read, &array(user_explicit_allocation_dto()));
    assert_eq!(read.as_array().unwrap().len(), 1, "only Ada holds something directly: {read:#}");
    assert_eq!((read[0]["id"].as_str(), read[0]["name"].as_str()), (Some(ADA), Some("Ada")));
    assert_eq!(sorted(&read[0]["userBundleLicenses"]), ["ATTUNU", "RPADEVNU"]);
    assert_eq!((read[0]["useExternalLicense"].clone(), read[0]["orphan"].clone()), (json!(false), json!(false)));
    let nobody = o.call(Method::POST, LA, "{}").await.expect(200);
    assert_eq!(nobody, json!([]));
    let null_codes = json!({"userIds": [ADA], "userBundleCodes": null}).to_string();
    let refused = o.call(Method::POST, LA, &null_codes).await;
    assert_eq!(refused.status, 400, "null codes are no allocation, and a read names no codes: {:#}", refused.body);
    assert_eq!(o.t.get(&o.boss, LA).await.expect(200), before, "a read allocates nothing");

    // A reader may read this way, and may not allocate the seed's way.
    let reading = CreateClient { name: "reading".into(), scopes: vec!["PM.License.Read".into()] };
    let host = host_login(&o.t).await;
    let client = o.t.client(&host).create_client("song-one", &reading).await.unwrap();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.as_str()),
        ("scope", "PM.License.Read"),
    ];
    let token: Value =
        o.t.http.post(o.t.url("/identity_/connect/token")).form(&form).send().await.unwrap().json().await.unwrap();
    let reader = token["access_token"].as_str().unwrap();
    raw(&o.t, Method::POST, LA, reader, &json!({"userIds": [ADA]}).to_string()).await.expect(200);
    let allocating = json!({"userIds": [BEN], "userBundleCodes": ["ATTUNU"]}).to_string();
    assert_eq!(raw(&o.t, Method::POST, LA, reader, &allocating).await.status, 403);
    assert_eq!(o.t.get(&o.boss, LA).await.expect(200), before);
}

#[tokio::test]
async fn removing_users_answers_200_with_who_was_removed_and_who_failed() {
    let o = licensed().await;
    o.direct(&[ADA, BEN], &["ATTUNU"], false).await;
    let removed = o.call(Method::DELETE, LA, &json!({"userIds": [ADA, "ghost"]}).to_string()).await.expect(200);
    assert_shape(&removed, &user_bundle_deallocation_response_dto());
    assert_eq!(removed, json!({"successfulUserIds": [ADA], "failedUserIds": ["ghost"]}));
    assert_eq!(o.allocated("ATTUNU").await, 1, "Ada's unit went back");
    let nobody = o.call(Method::DELETE, LA, "{}").await.expect(200);
    assert_eq!(nobody, json!({"successfulUserIds": [], "failedUserIds": []}));

    // The group rule's removal answers 200 with no body, and its members lose what they inherited.
    o.rule(DEVS, &["RPADEVNU"]).await;
    let response = o.t.http.delete(o.t.url(&format!("{LA}/group/{DEVS}"))).bearer_auth(&o.boss).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.unwrap().is_empty());
    assert_eq!(o.allocated("RPADEVNU").await, 0);
}

#[tokio::test]
async fn the_caller_removes_its_own_licenses_with_a_user_token_only() {
    let o = licensed().await;
    o.direct(&["boss", ADA], &["ATTUNU"], false).await;
    let removed = o.t.delete(&o.boss, &format!("{LA}/currentUser")).await.expect(200);
    assert_shape(&removed, &user_bundle_deallocation_response_dto());
    assert_eq!(removed, json!({"successfulUserIds": ["boss"], "failedUserIds": []}));
    assert_eq!(o.allocated("ATTUNU").await, 1, "only the caller's unit went back");
    let host = host_login(&o.t).await;
    assert_eq!(o.t.delete(&host, &format!("{LA}/currentUser")).await.status, 403, "a host admin is no user here");
}

#[tokio::test]
async fn explicit_allocations_are_listed_paged_filtered_and_sorted_on_the_server() {
    let o = licensed().await;
    o.direct(&[ADA], &["ATTUNU"], false).await;
    o.direct(&[BEN], &["ATTUNU", "RPADEVNU"], false).await;
    o.direct(&[CAL], &["TSTNU"], true).await;

    let all = o.t.get(&o.boss, &format!("{LA}/users")).await.expect(200);
    assert_shape(&all, &array(user_explicit_allocation_dto()));
    assert_eq!(all.as_array().unwrap().len(), 3);

    let path = format!(
        "{LA}/user/page?top=1&skip=1&sortBy=name&sortOrder=1&userBundleLicenseCodes=ATTUNU&userBundleLicenseCodes=RPADEVNU"
    );
    let page = o.t.get(&o.boss, &path).await.expect(200);
    assert_shape(&page, &paged(user_explicit_allocation_dto()));
    assert_eq!(page["totalCount"], 2, "Ada and Ben hold ATTUNU or RPADEVNU: {page:#}");
    assert_eq!(page["results"][0]["id"], ADA, "by name, descending, the second is Ada");
    let only_required = o.t.get(&o.boss, &format!("{LA}/user/page")).await.expect(200);
    assert_shape(&only_required, &paged(user_explicit_allocation_dto()));
    let ids: Vec<&str> =
        only_required["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!((only_required["totalCount"].as_i64(), ids), (Some(3), vec![ADA, BEN, CAL]), "in id order");
    assert_eq!(only_required["results"][2]["useExternalLicense"], true);
    for bad in ["sortOrder=2", "top=-1", "sortBy=salary", "skip=x", "colour=red"] {
        assert_eq!(o.t.get(&o.boss, &format!("{LA}/user/page?{bad}")).await.status, 400, "{bad}");
    }

    let codes = o.t.get(&o.boss, &format!("{LA}/ublCodes/explicit")).await.expect(200);
    assert_shape(&codes, &array(Str));
    assert_eq!(codes, json!(["ATTUNU", "RPADEVNU", "TSTNU"]));
}

#[tokio::test]
async fn a_users_allocations_say_what_it_holds_directly_and_through_groups() {
    let o = licensed().await;
    o.direct(&[ADA], &["ATTUNU"], false).await;
    o.rule(DEVS, &["RPADEVNU"]).await;

    let both =
        o.call(Method::POST, &format!("{LA}/license/users"), &json!({"userIds": [ADA, "ghost"]}).to_string()).await;
    let both = both.expect(200);
    assert_shape(&both, &array(user_license_allocation_dto()));
    assert_eq!(
        both,
        json!([
            {"userId": ADA, "userBundleCodes": ["ATTUNU"], "useExternalLicense": false, "inheritedFromGroup": false},
            {"userId": ADA, "userBundleCodes": ["RPADEVNU"], "useExternalLicense": false, "inheritedFromGroup": true},
        ])
    );
    assert_eq!(o.call(Method::POST, &format!("{LA}/license/users"), "{}").await.expect(200), json!([]));

    let allocation = o.t.get(&o.boss, &format!("{LA}/user/{ADA}/allocation")).await.expect(200);
    assert_shape(&allocation, &user_explicit_allocation_dto());
    assert_eq!(allocation["userBundleLicenses"], json!(["ATTUNU"]));

    let editable = o.t.get(&o.boss, &format!("{LA}/{ADA}/availableUserBundles")).await.expect(200);
    assert_shape(&editable, &editable_user_bundle_dto());
    assert_eq!(
        (editable["explicitAllocation"].clone(), editable["allocatedUserBundles"].clone()),
        (json!(true), json!(["ATTUNU"]))
    );
    assert_eq!(
        editable["groupLicenseInheritance"],
        json!([{"group": DEVS, "useExternalLicense": false, "userBundleCodes": ["RPADEVNU"]}])
    );

    let inheritance = o.t.get(&o.boss, &format!("{LA}/licenseInheritance/{BEN}")).await.expect(200);
    assert_shape(&inheritance, &license_inheritance_dto());
    let devs = json!([{"group": DEVS, "useExternalLicense": false, "userBundleCodes": ["RPADEVNU"]}]);
    assert_eq!((&inheritance["currentlyUsedLicense"], &inheritance["allGroupLicenseAllocationRules"]), (&devs, &devs));

    let acquired = o.t.get(&o.boss, &format!("{LA}/{ADA}")).await.expect(200);
    assert_shape(&acquired, &user_license_state_response());
    assert_eq!(acquired["userId"], ADA);
    let token = acquired["license_token"].as_str().unwrap();
    let claims = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&base64url(claims)).unwrap();
    assert_eq!(
        (claims["sub"].as_str(), sorted(&claims["ubl"])),
        (Some(ADA), vec!["ATTUNU".to_owned(), "RPADEVNU".to_owned()])
    );
    assert_eq!(claims["plan"], "ENTERPRISE");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(), 7200, "two hours");
    let nothing = o.t.get(&o.boss, &format!("{LA}/{CAL}")).await.expect(200);
    assert_eq!(nothing["license_token"], Value::Null, "Cal holds nothing");

    for path in ["user/ghost/allocation", "ghost/availableUserBundles", "licenseInheritance/ghost", "ghost"] {
        assert_eq!(o.t.get(&o.boss, &format!("{LA}/{path}")).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn group_page_is_its_own_route_and_pages_group_allocations() {
    let o = licensed().await;
    o.rule(DEVS, &["RPADEVNU", "ATTUNU"]).await;
    o.rule(QA, &["TSTNU"]).await;

    let path = format!(
        "{LA}/group/page?top=1&skip=0&sortBy=name&sortOrder=1&userBundleLicenseCodes=ATTUNU&userBundleLicenseCodes=TSTNU"
    );
    let page = o.t.get(&o.boss, &path).await.expect(200);
    assert_shape(&page, &paged(group_allocation_dto()));
    assert_eq!(page["totalCount"], 2);
    assert_eq!(page["results"][0]["id"], QA, "by name, descending, Quality comes first");
    assert_eq!(page["results"][0]["userBundleLeases"], json!({"TSTNU": 1}));
    let only_required = o.t.get(&o.boss, &format!("{LA}/group/page")).await.expect(200);
    assert_shape(&only_required, &paged(group_allocation_dto()));
    assert_eq!(only_required["results"][0]["userBundleLeases"], json!({"ATTUNU": 2, "RPADEVNU": 2}));

    let listed = o.call(Method::POST, &format!("{LA}/group"), &json!({"groupIds": [DEVS, "nope"]}).to_string()).await;
    let listed = listed.expect(200);
    assert_shape(&listed, &array(group_allocation_dto()));
    assert_eq!((listed.as_array().unwrap().len(), listed[0]["name"].as_str()), (1, Some("Developers")));
    assert_eq!(o.call(Method::POST, &format!("{LA}/group"), "{}").await.expect(200), json!([]));

    let all = o.t.get(&o.boss, &format!("{LA}/groups")).await.expect(200);
    assert_shape(&all, &group_rule_allocation_dto());
    assert_eq!(
        (all["allocatedUserBundles"].clone(), all["useExternalLicense"].clone()),
        (json!(["ATTUNU", "RPADEVNU", "TSTNU"]), json!(false))
    );
    let codes = o.t.get(&o.boss, &format!("{LA}/ublCodes/group")).await.expect(200);
    assert_shape(&codes, &array(Str));
    assert_eq!(codes, json!(["ATTUNU", "RPADEVNU", "TSTNU"]));

    let allocation = o.t.get(&o.boss, &format!("{LA}/group/{DEVS}/allocation")).await.expect(200);
    assert_shape(&allocation, &user_explicit_allocation_dto());
    assert_eq!(sorted(&allocation["userBundleLicenses"]), ["ATTUNU", "RPADEVNU"]);
    for path in ["nope", "nope/allocation", "nope/user"] {
        assert_eq!(o.t.get(&o.boss, &format!("{LA}/group/{path}")).await.status, 404, "{path}");
    }
}

#[tokio::test]
async fn group_members_are_paged_and_released_from_the_group() {
    let o = licensed().await;
    o.rule(DEVS, &["RPADEVNU"]).await;
    let path = format!("{LA}/group/{DEVS}/user?top=1&skip=1&sortBy=name&sortOrder=0");
    let page = o.t.get(&o.boss, &path).await.expect(200);
    assert_shape(&page, &paged(user_allocations_dto()));
    assert_eq!((page["totalCount"].as_i64(), page["results"][0]["id"].as_str()), (Some(2), Some(BEN)));
    assert_eq!(page["results"][0]["userBundleLicenses"], json!(["RPADEVNU"]));
    let only_required = o.t.get(&o.boss, &format!("{LA}/group/{DEVS}/user")).await.expect(200);
    assert_shape(&only_required, &paged(user_allocations_dto()));
    assert_eq!(only_required["results"][0]["id"], ADA, "in order of joining");

    let released =
        o.call(Method::DELETE, &format!("{LA}/group/{DEVS}/user"), &json!({"userIds": [BEN, CAL]}).to_string()).await;
    assert_eq!((released.status.as_u16(), &released.body), (200, &Value::Null), "200 and no body");
    assert_eq!(o.allocated("RPADEVNU").await, 1, "Ben left and released his unit");
    o.call(Method::DELETE, &format!("{LA}/group/{DEVS}/user"), "{}").await.expect(200);
    let one = o.t.delete(&o.boss, &format!("{LA}/group/{DEVS}/user/{ADA}")).await;
    assert_eq!((one.status.as_u16(), &one.body), (200, &Value::Null), "200 and no body");
    assert_eq!(o.allocated("RPADEVNU").await, 0);
    let members = o.t.get(&o.boss, &format!("{LA}/group/{DEVS}/user")).await.expect(200);
    assert_eq!(members["totalCount"], 0);
    assert_eq!(o.t.delete(&o.boss, &format!("{LA}/group/{DEVS}/user/ghost")).await.status, 404);
}

#[tokio::test]
async fn user_licensing_is_always_on() {
    let o = licensed().await;
    assert_eq!(o.t.get(&o.boss, &format!("{LA}/status")).await.expect(200), json!(true));
    assert_eq!(o.call(Method::PUT, &format!("{LA}/status"), "true").await.expect(200), json!(true));
    assert_eq!(o.call(Method::PUT, &format!("{LA}/status"), "false").await.status, 409);
    assert_eq!(o.t.get(&o.boss, &format!("{LA}/status")).await.expect(200), json!(true));
}

#[tokio::test]
async fn stats_come_from_the_ledger_for_tenants_and_the_organization() {
    let o = licensed().await;
    let tenant = json!({"tenantName": "Production", "products": [{"code": "UNATT", "quantity": 2}]});
    o.t.put(&o.boss, "/lrm/api/account/song-one/service-license/prod/orchestrator", tenant).await.expect(200);
    o.direct(&[ADA, BEN], &["ATTUNU"], false).await;
    let stats = "/lease_/api/account/song-one/stats";

    let timeline = o
        .call(
            Method::POST,
            &format!("{stats}/timeline"),
            &json!({"clientIds": ["prod", "nope"], "timePeriod": 7}).to_string(),
        )
        .await;
    let timeline = timeline.expect(200);
    assert_shape(&timeline, &array(product_usage_timeline_dto()));
    assert_eq!((timeline[0]["clientId"].as_str(), timeline[0]["productCode"].as_str()), (Some("prod"), Some("UNATT")));
    assert_eq!(timeline[0]["productUsage"].as_object().unwrap().len(), 7, "one value a day");
    let every = o.call(Method::POST, &format!("{stats}/timeline"), "{}").await.expect(200);
    assert_shape(&every, &array(product_usage_timeline_dto()));
    assert_eq!(every[0]["productUsage"].as_object().unwrap().len(), 30, "30 days unless told");

    let org = o.call(Method::POST, &format!("{stats}/organization/timeline"), r#"{"timePeriod": 3}"#).await.expect(200);
    assert_shape(&org, &array(product_organization_usage_timeline_dto()));
    let attunu = org.as_array().unwrap().iter().find(|r| r["productCode"] == "ATTUNU").unwrap();
    let days = attunu["productUsage"].as_object().unwrap();
    assert_eq!(
        (days.len(), days.values().next_back().cloned()),
        (3, Some(json!(2.0))),
        "today two are allocated: {days:?}"
    );
    let defaults = o.call(Method::POST, &format!("{stats}/organization/timeline"), "{}").await.expect(200);
    assert_shape(&defaults, &array(product_organization_usage_timeline_dto()));
    assert_eq!(defaults.as_array().unwrap().len(), org.as_array().unwrap().len(), "every pool, 30 days");

    let used = o
        .call(Method::POST, &format!("{stats}/used"), &json!({"clientIds": ["prod"], "timePeriod": 1}).to_string())
        .await;
    let used = used.expect(200);
    assert_shape(&used, &array(product_in_use_dto()));
    assert_eq!(used, json!([{"clientId": "prod", "productCode": "UNATT", "used": 0.0, "total": 2.0}]));
    let all_tenants = o.call(Method::POST, &format!("{stats}/used"), "{}").await.expect(200);
    assert_shape(&all_tenants, &array(product_in_use_dto()));
    assert_eq!(all_tenants, used, "every tenant: there is one");
    assert_eq!(o.call(Method::POST, &format!("{stats}/used"), r#"{"timePeriod": -1}"#).await.status, 400);

    // The organization's global id names it as well, on every root.
    let uuid = attunu["organizationId"].as_str().unwrap();
    for root in ["/la", "/song-one/lease_", "/song-one/la"] {
        let path = format!("{root}/api/account/{uuid}/user-license/users");
        assert_eq!(o.t.get(&o.boss, &path).await.expect(200).as_array().unwrap().len(), 2, "{path}");
    }
}

#[tokio::test]
async fn posting_user_bundle_codes_allocates_with_every_field_or_only_the_required_ones() {
    let o = licensed().await;
    let every = json!({"userIds": [ADA, BEN], "userBundleCodes": ["RPADEVNU"], "useExternalLicense": false, "licenseCodes": ["RPADEVNU"]});
    let answer = o.call(Method::POST, LA, &every.to_string()).await.expect(200);
    assert_shape(&answer, &array(user_license_dto()));
    assert_eq!(answer.as_array().unwrap().len(), 2);
    assert_eq!(o.allocated("RPADEVNU").await, 2, "one unit each");
    let required = json!({"userIds": [CAL], "userBundleCodes": ["ATTUNU"]});
    let answer = o.call(Method::POST, LA, &required.to_string()).await.expect(200);
    assert_shape(&answer, &array(user_license_dto()));
    assert_eq!((answer[0]["userId"].as_str(), answer[0]["useExternalLicense"].as_bool()), (Some(CAL), Some(false)));
    assert_eq!(o.allocated("ATTUNU").await, 1);
}
