//! The UiPath dialect's License Resource Manager (`/lrm`, also `/license_`), against UiPath's
//! definitions: each operation with every documented request field and with only the
//! required ones (none are), its documented status, and answers of exactly the documented
//! shape with the values allot's books hold.

use allot_api::{PoolSetting, SetPools};
use reqwest::Method;
use serde_json::Value;

use super::{grant_org, host_buys, host_login, song_one};
use crate::harness::TestApp;

mod account;
mod dto;
mod service;

/// The end allot reports for a grant without one (9999-12-31T23:59:59Z, in Unix seconds).
const NO_END: i64 = 253_402_300_799;
/// 2026-01-01T00:00:00Z and 2030-01-01T00:00:00Z, in Unix seconds; the test clock starts
/// between them.
const FROM: i64 = 1_767_225_600;
const UNTIL: i64 = 1_893_456_000;

/// The host, organization `song-one` and its admin, with a license from the host: units of
/// orchestrator (UNATT, NONPR) and AI Center (AIG), and a user bundle (ATTUNU).
async fn licensed(t: &TestApp) -> (String, String) {
    let host = host_login(t).await;
    let boss = song_one(t, &host).await;
    host_buys(t, &host, &["UNATT", "NONPR", "AIG", "ATTUNU"]).await;
    grant_org(t, &host, &[("UNATT", 10), ("NONPR", 4), ("AIG", 3), ("ATTUNU", 5)]).await;
    (host, boss)
}

/// A request's status and its body as text (removals answer none).
async fn text(t: &TestApp, method: Method, path: &str, token: &str) -> (u16, String) {
    let response = t.http.request(method, t.url(path)).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The entry of `list` whose `code` is `code`.
fn code<'a>(list: &'a Value, code: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|p| p["code"] == code).unwrap_or_else(|| panic!("no {code} in {list:#}"))
}

/// Each entry's code and `field`, in the answer's order.
fn counts(list: &Value, field: &str) -> Vec<(String, i64)> {
    let entries = list.as_array().unwrap().iter();
    entries.map(|p| (p["code"].as_str().unwrap().to_owned(), p[field].as_i64().unwrap())).collect()
}

fn owned(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs.iter().map(|(code, n)| ((*code).to_owned(), *n)).collect()
}

/// Pools of `quantity` valid from `FROM` until `UNTIL`, as the native API sets them.
fn dated(licenses: &[(&str, i64)]) -> SetPools {
    let setting = |(license, quantity): &(&str, i64)| PoolSetting {
        license: (*license).to_owned(),
        quantity: *quantity,
        valid_from: Some("2026-01-01T00:00:00Z".into()),
        valid_until: Some("2030-01-01T00:00:00Z".into()),
    };
    SetPools { pools: licenses.iter().map(setting).collect() }
}
