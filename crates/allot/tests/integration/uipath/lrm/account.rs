//! An organization's license from the host, and the host's own.

use reqwest::Method;
use serde_json::json;

use super::dto::{
    account_available_services_dto, account_license_dto, account_product_allocation_dto,
    organization_license_with_available_products,
};
use super::{FROM, NO_END, UNTIL, code, counts, dated, licensed, owned, text};
use crate::harness::spawn_app;
use crate::uipath::shape::{array, assert_shape};
use crate::uipath::{HOST, host_buys, host_login, song_one};

const ORG_LICENSE: &str = "/lrm/api/host/feb0dd79-85b6-483b-b297-0e49a1aa5b7d/organization/song-one/license";

#[tokio::test]
async fn allocating_an_organization_license_with_every_field_replaces_it_and_answers_the_account_license() {
    let t = spawn_app().await;
    let (host, _) = licensed(&t).await;
    let body = json!({"productQuantities": [{"code": "UNATT", "quantity": 6}, {"code": "ATTUNU", "quantity": 2}],
        "bypassUsageCheck": false});
    let license = t.put(&host, ORG_LICENSE, body).await.expect(200);
    assert_shape(&license, &account_license_dto());
    assert_eq!(counts(&license["products"], "quantity"), owned(&[("ATTUNU", 2), ("UNATT", 6)]), "NONPR and AIG went");
    assert_eq!(
        (code(&license["products"], "UNATT")["type"].clone(), code(&license["products"], "ATTUNU")["type"].clone()),
        (json!("unit"), json!("user"))
    );
    assert_eq!(
        (&license["accountId"], &license["licenseStatus"], &license["subscriptionPlan"], &license["parentLicenseCode"]),
        (&json!("song-one"), &json!("ACTIVE"), &json!("ENTERPRISE"), &json!("host-license"))
    );
    assert_eq!(
        (license["startDate"].as_i64(), license["endDate"].as_i64()),
        (Some(0), Some(NO_END)),
        "granted for good"
    );
    let native = t.client(&host).org_pools("song-one").await.unwrap().pools;
    let native: Vec<(String, i64)> = native.iter().map(|p| (p.license.clone(), p.quantity)).collect();
    assert_eq!(native, owned(&[("ATTUNU", 2), ("UNATT", 6)]));

    // POST too, under /license_ and an /{organization}/license_ prefix.
    let again = json!({"productQuantities": [{"code": "unatt", "quantity": 7}]});
    let path = format!("/song-one/license_/api/host/{HOST}/organization/song-one/license");
    let license = t.post(&host, &path, again).await.expect(200);
    assert_eq!(counts(&license["products"], "quantity"), owned(&[("UNATT", 7)]));
}

#[tokio::test]
async fn allocating_an_organization_license_with_no_field_takes_everything_back() {
    let t = spawn_app().await;
    let (host, _) = licensed(&t).await;
    let license =
        t.put(&host, &format!("/license_/api/host/{HOST}/organization/song-one/license"), json!({})).await.expect(200);
    assert_shape(&license, &account_license_dto());
    assert_eq!(license["products"], json!([]));
    assert!(t.client(&host).org_pools("song-one").await.unwrap().pools.is_empty());
    // A code without a quantity asks for 0 of it; a product without a code is refused.
    let zero = t.put(&host, ORG_LICENSE, json!({"productQuantities": [{"code": "UNATT"}]})).await.expect(200);
    assert_eq!(zero["products"], json!([]));
    let nameless = t.put(&host, ORG_LICENSE, json!({"productQuantities": [{"quantity": 1}]})).await;
    assert_eq!(nameless.status, 400, "{:#}", nameless.body);
}

#[tokio::test]
async fn a_uipath_put_of_quantities_keeps_the_native_validity_window_and_reports_it() {
    let t = spawn_app().await;
    let (host, _) = licensed(&t).await;
    t.client(&host).set_org_pools("song-one", &dated(&[("UNATT", 10)])).await.unwrap();
    let license =
        t.put(&host, ORG_LICENSE, json!({"productQuantities": [{"code": "UNATT", "quantity": 8}]})).await.expect(200);
    assert_eq!((license["startDate"].as_i64(), license["endDate"].as_i64()), (Some(FROM), Some(UNTIL)));
    let native = t.client(&host).org_pools("song-one").await.unwrap().pools;
    let unatt = native.iter().find(|p| p.license == "UNATT").unwrap();
    assert_eq!(unatt.quantity, 8);
    assert_eq!(
        (unatt.valid_from.as_deref(), unatt.valid_until.as_deref()),
        (Some("2026-01-01T00:00:00Z"), Some("2030-01-01T00:00:00Z")),
        "the window survives the PUT"
    );
}

#[tokio::test]
async fn an_organizations_license_with_its_availability() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    let tenant = json!({"tenantName": "Production", "products": [{"code": "UNATT", "quantity": 3}]});
    t.put(&boss, "/lrm/api/account/song-one/service-license/prod/orchestrator", tenant).await.expect(200);
    for token in [&host, &boss] {
        let answer = t.get(token, &format!("{ORG_LICENSE}/available")).await.expect(200);
        assert_shape(&answer, &organization_license_with_available_products());
        let unatt = code(&answer["productsWithAvailability"], "UNATT");
        assert_eq!(
            (&unatt["type"], &unatt["totalQuantity"], &unatt["consumedQuantity"], &unatt["availableQuantity"]),
            (&json!("unit"), &json!(10), &json!(3), &json!(7))
        );
        assert_eq!(counts(&answer["license"]["products"], "quantity").len(), 4);
    }
}

#[tokio::test]
async fn an_organizations_availability_is_404_while_the_host_holds_nothing() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    song_one(&t, &host).await;
    assert_eq!(t.get(&host, &format!("{ORG_LICENSE}/available")).await.status, 404);
}

#[tokio::test]
async fn removing_an_organizations_license_answers_200_with_no_body() {
    let t = spawn_app().await;
    let (host, boss) = licensed(&t).await;
    let path = format!("/license_/api/host/{HOST}/organization/song-one/license/remove");
    assert_eq!(text(&t, Method::DELETE, &path, &boss).await.0, 403, "host admins only");
    assert_eq!(text(&t, Method::DELETE, &path, &host).await, (200, String::new()));
    assert_eq!(t.get(&host, "/lrm/api/account/song-one/account-license").await.status, 404);
    assert!(t.client(&host).org_pools("song-one").await.unwrap().pools.is_empty());
    assert_eq!(text(&t, Method::DELETE, &path, &host).await.0, 404, "nothing left to remove");
}

#[tokio::test]
async fn the_hosts_available_products_answer_its_license_and_what_it_granted() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let path = format!("/lrm/api/host/{HOST}/available-products");
    assert_eq!(t.get(&host, &path).await.status, 404, "the host holds nothing yet");
    let boss = song_one(&t, &host).await;
    host_buys(&t, &host, &["UNATT", "ATTUNU"]).await;
    crate::uipath::grant_org(&t, &host, &[("UNATT", 10), ("ATTUNU", 5)]).await;
    let answer = t.get(&host, &path).await.expect(200);
    assert_shape(&answer, &organization_license_with_available_products());
    let unatt = code(&answer["productsWithAvailability"], "UNATT");
    assert_eq!(
        (&unatt["totalQuantity"], &unatt["consumedQuantity"], &unatt["availableQuantity"]),
        (&json!(1000), &json!(10), &json!(990))
    );
    assert_eq!(
        (&answer["license"]["accountId"], &answer["license"]["parentLicenseCode"]),
        (&json!("host"), &json!(null))
    );
    assert_eq!(counts(&answer["license"]["products"], "quantity"), owned(&[("ATTUNU", 1000), ("UNATT", 1000)]));
    assert_eq!(t.get(&boss, &path).await.status, 403, "host admins only");
    assert_eq!(t.get(&host, "/lrm/api/host/someone/available-products").await.status, 404);
}

#[tokio::test]
async fn account_license_answers_an_array_of_one_account_license() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    assert_eq!(t.get(&boss, "/lrm/api/account/song-one/account-license").await.status, 404, "no license yet");
    host_buys(&t, &host, &["UNATT"]).await;
    crate::uipath::grant_org(&t, &host, &[("UNATT", 4)]).await;
    for path in [
        "/lrm/api/account/song-one/account-license?forceAllLicenses=true",
        "/song-one/license_/api/account/song-one/account-license",
    ] {
        let licenses = t.get(&boss, path).await.expect(200);
        assert_shape(&licenses, &array(account_license_dto()));
        assert_eq!(licenses.as_array().unwrap().len(), 1, "{path}");
        assert_eq!(counts(&licenses[0]["products"], "quantity"), owned(&[("UNATT", 4)]));
    }
    let bad = t.get(&boss, "/lrm/api/account/song-one/account-license?forceAllLicenses=maybe").await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn account_license_available_names_the_services_its_units_belong_to() {
    let t = spawn_app().await;
    let (_, boss) = licensed(&t).await;
    let answer = t.get(&boss, "/license_/api/account/song-one/account-license/available").await.expect(200);
    assert_shape(&answer, &account_available_services_dto());
    assert_eq!(answer, json!({"services": ["aicenter", "orchestrator"]}));
}

#[tokio::test]
async fn available_account_licenses_count_what_the_organization_passed_on() {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    let path = "/lrm/api/account/song-one/available-account-licenses";
    assert_eq!(t.get(&boss, path).await.status, 404, "no product yet");
    host_buys(&t, &host, &["UNATT", "ATTUNU"]).await;
    crate::uipath::grant_org(&t, &host, &[("UNATT", 10), ("ATTUNU", 5)]).await;
    let tenant = json!({"products": [{"code": "UNATT", "quantity": 3}]});
    t.put(&boss, "/lrm/api/account/song-one/service-license/prod/orchestrator", tenant).await.expect(200);
    let users =
        json!({"userIds": ["singer-77", "singer-88"], "userBundleCodes": ["ATTUNU"], "useExternalLicense": false});
    t.put(&boss, "/lease_/api/account/song-one/user-license", users).await.expect(200);
    let answer = t.get(&boss, path).await.expect(200);
    assert_shape(&answer, &array(account_product_allocation_dto()));
    assert_eq!(counts(&answer, "total"), owned(&[("ATTUNU", 5), ("UNATT", 10)]));
    assert_eq!(counts(&answer, "allocated"), owned(&[("ATTUNU", 2), ("UNATT", 3)]));
}

#[tokio::test]
async fn tenant_allocations_count_the_units_granted_to_tenants() {
    let t = spawn_app().await;
    let (_, boss) = licensed(&t).await;
    let grant = |tenant: &str, service: &str, products: serde_json::Value| {
        let path = format!("/lrm/api/account/song-one/service-license/{tenant}/{service}");
        (path, json!({ "products": products }))
    };
    for (path, body) in [
        grant("prod", "orchestrator", json!([{"code": "UNATT", "quantity": 3}, {"code": "NONPR", "quantity": 1}])),
        grant("dev", "orchestrator", json!([{"code": "UNATT", "quantity": 2}])),
        grant("dev", "aicenter", json!([{"code": "AIG", "quantity": 1}])),
    ] {
        t.put(&boss, &path, body).await.expect(200);
    }
    let answer = t.get(&boss, "/lrm/api/account/song-one/tenantAllocations").await.expect(200);
    assert_shape(&answer, &array(account_product_allocation_dto()));
    assert_eq!(counts(&answer, "total"), owned(&[("AIG", 3), ("NONPR", 4), ("UNATT", 10)]), "units only");
    assert_eq!(counts(&answer, "allocated"), owned(&[("AIG", 1), ("NONPR", 1), ("UNATT", 5)]));
}
