//! A tenant's licenses per service, and the tallies of them.

use allot_api::{CreateOrg, PoolSetting, Role, SetPools};
use reqwest::Method;
use serde_json::{Value, json};

use super::dto::{
    account_product_allocation_dto, product_dto, service_license_dto, service_license_status_dto,
    tenant_service_license_dto,
};
use super::{FROM, NO_END, code, counts, dated, licensed, owned, text};
use crate::harness::{TestApp, person, spawn_app};
use crate::uipath::shape::{Uuid, array, assert_shape};

const PROD: &str = "/lrm/api/account/song-one/service-license/prod";

/// `prod` with orchestrator units (UNATT 3, NONPR 1) and `dev` with UNATT 2 and AIG 1.
async fn tenants(t: &TestApp, boss: &str) -> Value {
    let prod = json!({"tenantName": "Production", "products": [{"code": "UNATT", "quantity": 3}, {"code": "NONPR", "quantity": 1}]});
    let answer = t.put(boss, &format!("{PROD}/orchestrator"), prod).await.expect(200);
    let dev = "/lrm/api/account/song-one/service-license/dev";
    t.put(boss, &format!("{dev}/orchestrator"), json!({"products": [{"code": "UNATT", "quantity": 2}]}))
        .await
        .expect(200);
    t.put(boss, &format!("{dev}/aicenter"), json!({"products": [{"code": "AIG", "quantity": 1}]})).await.expect(200);
    answer
}

fn global_id(license: &Value) -> String {
    license["globalId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn allocating_a_service_license_with_every_field_answers_the_service_license() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    let body = json!({"tenantName": "Production", "products": [{"code": "UNATT", "quantity": 3}, {"code": "NONPR", "quantity": 1}],
        "bypassUsageCheck": true});
    let license = t.put(&boss, &format!("{PROD}/orchestrator"), body).await.expect(200);
    assert_shape(&license, &service_license_dto());
    assert_shape(&license["globalId"], &Uuid);
    assert_eq!(
        (&license["accountId"], &license["serviceScopeId"], &license["serviceType"], &license["accountLicenseCode"]),
        (&json!("song-one"), &json!("prod"), &json!("orchestrator"), &json!("song-one-license"))
    );
    let data = &license["license"];
    assert_eq!((&data["licenseStatus"], &data["parentLicenseCode"]), (&json!("ACTIVE"), &json!("song-one-license")));
    assert_eq!((data["startDate"].as_i64(), data["endDate"].as_i64()), (Some(0), Some(NO_END)));
    assert_eq!(counts(&data["products"], "quantity"), owned(&[("NONPR", 1), ("UNATT", 3)]));
    assert_eq!(counts(&data["products"], "allocated"), owned(&[("NONPR", 0), ("UNATT", 0)]));
    assert_eq!(code(&data["products"], "UNATT")["type"], "unit");
    assert_eq!(t.client(&host).tenant("song-one", "prod").await.unwrap().name, "Production");
    assert_eq!(t.org_pool(&host, "song-one", "UNATT").await, (10, 3));

    // The tenant's global id names it too; POST replaces like PUT.
    let path = format!("/license_/api/account/song-one/service-license/{}/orchestrator", global_id(&license));
    let again = t.post(&boss, &path, json!({"products": [{"code": "UNATT", "quantity": 4}]})).await.expect(200);
    assert_eq!(
        (again["serviceScopeId"].clone(), counts(&again["license"]["products"], "quantity")),
        (json!("prod"), owned(&[("UNATT", 4)]))
    );
}

#[tokio::test]
async fn allocating_a_service_license_with_no_field_makes_the_tenant_with_nothing() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    let license =
        t.put(&boss, "/lrm/api/account/song-one/service-license/dev/orchestrator", json!({})).await.expect(200);
    assert_shape(&license, &service_license_dto());
    assert_eq!((&license["serviceScopeId"], &license["license"]["products"]), (&json!("dev"), &json!([])));
    assert_eq!(t.client(&host).tenant("song-one", "dev").await.unwrap().name, "dev", "named by its id");
}

#[tokio::test]
async fn a_uipath_put_of_a_tenants_quantities_keeps_its_native_validity_window() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    t.put(&boss, &format!("{PROD}/orchestrator"), json!({"products": []})).await.expect(200);
    let native = t.client(&host);
    native.set_service_pools("song-one", "prod", "orchestrator", &dated(&[("UNATT", 2)])).await.unwrap();
    let body = json!({"products": [{"code": "UNATT", "quantity": 5}]});
    let license = t.put(&boss, &format!("{PROD}/orchestrator"), body).await.expect(200);
    assert_eq!(license["license"]["startDate"].as_i64(), Some(FROM));
    let pools = native.service_pools("song-one", "prod", "orchestrator").await.unwrap().pools;
    assert_eq!((pools[0].quantity, pools[0].valid_from.as_deref()), (5, Some("2026-01-01T00:00:00Z")));
    assert_eq!(pools[0].valid_until.as_deref(), Some("2030-01-01T00:00:00Z"));

    // A license whose window has not begun is reported inactive until it does.
    let later = PoolSetting {
        valid_from: Some("2028-01-01T00:00:00Z".into()),
        valid_until: None,
        ..dated(&[("AIG", 1)]).pools.remove(0)
    };
    native.set_service_pools("song-one", "prod", "aicenter", &SetPools { pools: vec![later] }).await.unwrap();
    let status = t.get(&boss, &format!("{PROD}/aicenter/status")).await.expect(200);
    assert_eq!((&status["licenseStatus"], &status["expireDate"]), (&json!("INACTIVE"), &json!("9999-12-31T23:59:59Z")));
}

#[tokio::test]
async fn a_service_license_by_tenant_id_or_global_id_and_410_without_one() {
    let t = spawn_app().await;
    let (_, boss) = licensed(&t).await;
    let put = tenants(&t, &boss).await;
    let by_id = t.get(&boss, &format!("{PROD}/orchestrator?commandSource=Job")).await.expect(200);
    assert_shape(&by_id, &service_license_dto());
    assert_eq!(by_id, put);
    let by_global =
        t.get(&boss, &format!("/lrm/api/account/song-one/service-license/{}/orchestrator", global_id(&put))).await;
    assert_eq!(by_global.expect(200), put);
    assert_eq!(t.get(&boss, &format!("{PROD}/aicenter")).await.status, 410);
    assert_eq!(t.get(&boss, &format!("{PROD}/not%20a%20service")).await.status, 410);
    assert_eq!(t.get(&boss, "/lrm/api/account/song-one/service-license/nope/orchestrator").await.status, 404);
    assert_eq!(t.get(&boss, &format!("{PROD}/orchestrator?commandSource=Robot")).await.status, 400);
}

#[tokio::test]
async fn removing_a_service_license_answers_200_with_no_body_and_returns_the_units() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    tenants(&t, &boss).await;
    assert_eq!(text(&t, Method::DELETE, &format!("{PROD}/orchestrator"), &boss).await, (200, String::new()));
    assert_eq!(t.get(&boss, &format!("{PROD}/orchestrator")).await.status, 410);
    assert_eq!(t.org_pool(&host, "song-one", "UNATT").await, (10, 2), "dev keeps its 2");
}

#[tokio::test]
async fn every_service_license_of_an_account_and_none_of_an_unknown_one() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    tenants(&t, &boss).await;
    let all = t.get(&boss, "/license_/api/account/song-one/service-license").await.expect(200);
    assert_shape(&all, &array(service_license_dto()));
    let listed: Vec<(Value, Value)> =
        all.as_array().unwrap().iter().map(|l| (l["serviceScopeId"].clone(), l["serviceType"].clone())).collect();
    let expected = [("dev", "aicenter"), ("dev", "orchestrator"), ("prod", "orchestrator")];
    assert_eq!(listed, expected.map(|(t, s)| (json!(t), json!(s))).to_vec());
    assert_eq!(t.get(&host, "/lrm/api/account/nobody/service-license").await.expect(200), json!([]));
}

#[tokio::test]
async fn a_tenants_licenses_as_one_and_removing_them_all() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    tenants(&t, &boss).await;
    let dev = t.get(&boss, "/lrm/api/account/song-one/service-license/dev").await.expect(200);
    assert_shape(&dev, &service_license_dto());
    assert_eq!(dev["serviceType"], json!(null), "two services");
    assert_eq!(counts(&dev["license"]["products"], "quantity"), owned(&[("AIG", 1), ("UNATT", 2)]));
    let prod = t.get(&boss, PROD).await.expect(200);
    assert_eq!(prod["serviceType"], "orchestrator", "its only service");

    let path = "/song-one/lrm/api/account/song-one/service-license/dev";
    assert_eq!(text(&t, Method::DELETE, path, &boss).await, (200, String::new()));
    let emptied = t.get(&boss, path).await.expect(200);
    assert_eq!(emptied["license"]["products"], json!([]));
    assert_eq!(
        (t.org_pool(&host, "song-one", "UNATT").await, t.org_pool(&host, "song-one", "AIG").await),
        ((10, 3), (3, 0))
    );
    assert_eq!(t.get(&boss, "/lrm/api/account/song-one/service-license/nope").await.status, 404);
}

#[tokio::test]
async fn a_service_licenses_products_and_status() {
    let t = spawn_app().await;
    let (_, boss) = licensed(&t).await;
    tenants(&t, &boss).await;
    let products = t.get(&boss, &format!("{PROD}/orchestrator/products")).await.expect(200);
    assert_shape(&products, &array(product_dto()));
    assert_eq!(counts(&products, "quantity"), owned(&[("NONPR", 1), ("UNATT", 3)]));
    let status = t.get(&boss, &format!("{PROD}/orchestrator/status")).await.expect(200);
    assert_shape(&status, &service_license_status_dto());
    assert_eq!(
        status,
        json!({"accountId": "song-one", "serviceScopeId": "prod", "serviceType": "orchestrator",
            "subscriptionPlan": "ENTERPRISE", "licenseStatus": "ACTIVE", "expireDate": "9999-12-31T23:59:59Z",
            "userLicensingEnabled": true})
    );
    assert_eq!(t.get(&boss, &format!("{PROD}/aicenter/products")).await.status, 410);
    assert_eq!(t.get(&boss, &format!("{PROD}/aicenter/status")).await.status, 410);
}

#[tokio::test]
async fn a_service_license_without_the_account_id_finds_the_tenants_organization() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    let put = tenants(&t, &boss).await;
    let global = global_id(&put);
    for (token, path) in [
        (&host, format!("/lrm/api/service-license/{global}/orchestrator")),
        (&boss, "/license_/api/service-license/prod/orchestrator".to_owned()),
        (&host, "/song-one/license_/api/service-license/prod/orchestrator".to_owned()),
        // Every documented field: `commandSource` too.
        (&boss, "/license_/api/service-license/prod/orchestrator?commandSource=Test".to_owned()),
    ] {
        let license = t.get(token, &path).await.expect(200);
        assert_shape(&license, &service_license_dto());
        assert_eq!(license, put, "{path}");
    }
    assert_eq!(t.get(&host, "/lrm/api/service-license/prod/orchestrator").await.status, 400, "which organization?");
    let unknown_source = t.get(&boss, "/lrm/api/service-license/prod/orchestrator?commandSource=Cron").await;
    assert_eq!(unknown_source.status, 400, "commandSource is one of Ui, Job, Test");
    assert_eq!(t.get(&boss, "/lrm/api/service-license/prod/aicenter").await.status, 410);

    // Another organization's admin finds nothing by the global id.
    let native = t.client(&host);
    native.create_org(&CreateOrg { id: "other".into(), name: None }).await.unwrap();
    native.create_user("other", &person("eve", Role::Admin, "eve's long password")).await.unwrap();
    let eve = t.login(Some("other"), "eve", "eve's long password").await;
    assert_eq!(t.get(&eve, &format!("/lrm/api/service-license/{global}/orchestrator")).await.status, 404);
    assert_eq!(t.get(&eve, "/lrm/api/service-license/prod/orchestrator").await.status, 404);
}

#[tokio::test]
async fn a_tenants_service_licenses_with_the_organizations_tallies() {
    let t = spawn_app().await;
    let (_, boss) = licensed(&t).await;
    tenants(&t, &boss).await;
    let path = "/lrm/api/account/song-one/service-licenses/prod";
    let unasked = t.get(&boss, path).await.expect(200);
    assert_shape(&unasked, &array(tenant_service_license_dto()));
    assert_eq!(unasked.as_array().unwrap().len(), 1);
    let asked = t.get(&boss, &format!("{path}?services=orchestrator,aicenter,du")).await.expect(200);
    assert_shape(&asked, &array(tenant_service_license_dto()));
    let services: Vec<&Value> = asked.as_array().unwrap().iter().map(|s| &s["serviceType"]).collect();
    assert_eq!(services, [&json!("orchestrator"), &json!("aicenter"), &json!("du")]);
    assert_eq!(asked[0], unasked[0]);
    assert_eq!(
        code(&asked[0]["products"], "UNATT"),
        &json!({"code": "UNATT", "type": "unit", "quantity": 3, "allocated": 3, "reserved": 0, "available": 5,
            "used": 0, "allocatedAcrossOtherTenants": 2, "consumedByDeletedTenants": 0, "totalUnits": 10,
            "consumedAtOrganizationLevel": 0})
    );
    let aig = code(&asked[1]["products"], "AIG");
    assert_eq!(
        (&aig["allocated"], &aig["available"], &aig["allocatedAcrossOtherTenants"]),
        (&json!(0), &json!(2), &json!(1))
    );
    assert_eq!(asked[2]["products"], json!([]), "the organization holds nothing for du");
    assert_eq!(t.get(&boss, &format!("{path}?services=not%20one")).await.status, 400);
    assert_eq!(t.get(&boss, "/lrm/api/account/song-one/service-licenses/nope").await.status, 404);
    t.put(&boss, "/lrm/api/account/song-one/service-license/empty/orchestrator", json!({})).await.expect(200);
    assert_eq!(t.get(&boss, "/lrm/api/account/song-one/service-licenses/empty").await.status, 404, "no license");
}

#[tokio::test]
async fn a_tenants_available_service_licenses() {
    let t = spawn_app().await;
    let (_, boss) = licensed(&t).await;
    tenants(&t, &boss).await;
    let answer = t.get(&boss, "/license_/api/account/song-one/available-service-licenses/dev").await.expect(200);
    assert_shape(&answer, &array(account_product_allocation_dto()));
    assert_eq!(counts(&answer, "total"), owned(&[("AIG", 1), ("UNATT", 2)]));
    assert_eq!(counts(&answer, "allocated"), owned(&[("AIG", 0), ("UNATT", 0)]));
    t.put(&boss, "/lrm/api/account/song-one/service-license/empty/orchestrator", json!({})).await.expect(200);
    assert_eq!(t.get(&boss, "/lrm/api/account/song-one/available-service-licenses/empty").await.status, 404);
}

#[tokio::test]
async fn another_organizations_admin_finds_none_of_its_licenses() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    tenants(&t, &boss).await;
    let native = t.client(&host);
    native.create_org(&CreateOrg { id: "other".into(), name: None }).await.unwrap();
    native.create_user("other", &person("eve", Role::Admin, "eve's long password")).await.unwrap();
    let eve = t.login(Some("other"), "eve", "eve's long password").await;
    let account = "/lrm/api/account/song-one";
    for path in [
        "account-license/available",
        "tenantAllocations",
        "service-license/prod",
        "service-license/prod/orchestrator/products",
        "service-license/prod/orchestrator/status",
        "service-licenses/prod",
        "available-service-licenses/prod",
    ] {
        let path = format!("{account}/{path}");
        assert_eq!(t.get(&eve, &path).await.status, 404, "{path}");
        assert_eq!(t.get(&boss, &path).await.status, 200, "song-one's own admin reads {path}");
    }
    for path in ["service-license/prod", "service-license/prod/orchestrator"] {
        assert_eq!(text(&t, Method::DELETE, &format!("{account}/{path}"), &eve).await.0, 404, "{path}");
    }
    assert_eq!(t.get(&eve, &format!("{account}/service-license")).await.expect(200), json!([]), "as an unknown one");
    assert_eq!(t.org_pool(&host, "song-one", "UNATT").await, (10, 5), "nothing was taken back");
}
