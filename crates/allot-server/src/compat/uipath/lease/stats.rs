//! `stats/...`: usage over time and now, read from the ledger (the history service). A
//! "client" is a tenant: the service instances that consume a tenant's units.

use std::collections::BTreeMap;

use allot_core::{LicenseKey, Scope, Timestamp};
use axum::Json;

use super::reads::{self, TenantPool};
use super::shapes::{ClientTimeline, InUse, OrganizationTimeline, OrganizationUsageRequest, UsageRequest};
use crate::checkpoints::PoolHistory;
use crate::compat::uipath::{Account, PmLicense, bad_body, ids};
use crate::error::ApiResult;
use crate::extract::{JsonBytes, Read, parse_json};

const DAY: Timestamp = 86_400_000;

/// `timePeriod`: how many days back the timeline reaches, today included (default 30).
fn days(period: Option<i32>) -> ApiResult<i64> {
    match period.unwrap_or(0) {
        0 => Ok(30),
        n @ 1..=366 => Ok(i64::from(n)),
        n => Err(bad_body(format!("timePeriod: {n} days is not between 1 and 366"))),
    }
}

/// Each day's allocated count, as it stood at the day's end (now, for today), keyed by
/// its UTC date: `history` starts before the first day ([`first_day`]).
fn daily(history: &PoolHistory, now: Timestamp, days: i64) -> BTreeMap<String, f64> {
    let today = now - now.rem_euclid(DAY);
    (0..days)
        .map(|back| {
            let start = today - back * DAY;
            let end = (start + DAY).min(now + 1);
            let last = history.points.iter().take_while(|(_, at, _)| *at < end).last();
            let pool = last.map_or(&history.start, |(_, _, pool)| pool);
            let date = time::OffsetDateTime::from_unix_timestamp(start / 1000).map(|t| t.date().to_string());
            (date.unwrap_or_default(), pool.allocated as f64)
        })
        .collect()
}

/// When the first of the `days` days up to `now` began.
fn first_day(now: Timestamp, days: i64) -> Timestamp {
    now - now.rem_euclid(DAY) - (days - 1) * DAY
}

/// The pools of the tenants `clientIds` names (all tenants when it names none).
fn tenant_pools(account: &Account<PmLicense, Read>, clients: Option<&[String]>) -> ApiResult<Vec<TenantPool>> {
    let clients = clients.unwrap_or_default();
    account.app().check_items(clients.len())?;
    account.read_org(|org| reads::tenant_pools(org, clients))
}

/// Each named tenant's products, each with its daily allocated count.
pub async fn timeline(
    account: Account<PmLicense, Read>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<Vec<ClientTimeline>>> {
    let request: UsageRequest = parse_json(&body)?;
    let days = days(request.time_period)?;
    let pools = tenant_pools(&account, request.client_ids.as_deref())?;
    let org = account.org().clone();
    let scopes: Vec<(Scope, LicenseKey)> = pools
        .iter()
        .map(|(tenant, service, license, _)| {
            (Scope::Tenant { org: org.clone(), tenant: tenant.clone(), service: service.clone() }, license.clone())
        })
        .collect();
    let now = account.app().clock.now();
    let histories = account.pool_histories(&scopes, first_day(now, days)).await?;
    let answer = pools
        .iter()
        .zip(histories)
        .map(|((tenant, _, license, _), history)| ClientTimeline {
            client_id: tenant.to_string(),
            product_code: license.to_string(),
            product_usage: daily(&history, now, days),
        })
        .collect();
    Ok(Json(answer))
}

/// The organization's products, each with its daily allocated count.
pub async fn organization_timeline(
    account: Account<PmLicense, Read>,
    JsonBytes(body): JsonBytes,
) -> ApiResult<Json<Vec<OrganizationTimeline>>> {
    let request: OrganizationUsageRequest = parse_json(&body)?;
    let days = days(request.time_period)?;
    let licenses: Vec<LicenseKey> = account.held_pools().into_iter().map(|p| p.license).collect();
    let scope = Scope::Org { org: account.org().clone() };
    let scopes: Vec<(Scope, LicenseKey)> = licenses.iter().map(|l| (scope.clone(), l.clone())).collect();
    let (now, organization_id) = (account.app().clock.now(), ids::account_uuid(account.org()));
    let histories = account.pool_histories(&scopes, first_day(now, days)).await?;
    let answer = licenses
        .iter()
        .zip(histories)
        .map(|(license, history)| OrganizationTimeline {
            organization_id: organization_id.clone(),
            product_code: license.to_string(),
            product_usage: daily(&history, now, days),
        })
        .collect();
    Ok(Json(answer))
}

/// Each named tenant's products in use now: allocated of total.
pub async fn used(account: Account<PmLicense, Read>, JsonBytes(body): JsonBytes) -> ApiResult<Json<Vec<InUse>>> {
    let request: UsageRequest = parse_json(&body)?;
    days(request.time_period)?;
    let pools = tenant_pools(&account, request.client_ids.as_deref())?;
    let answer = pools
        .into_iter()
        .map(|(tenant, _, license, pool)| InUse {
            client_id: tenant.to_string(),
            product_code: license.to_string(),
            used: pool.allocated as f64,
            total: pool.grant.quantity as f64,
        })
        .collect();
    Ok(Json(answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use allot_core::{Grant, Pool};

    fn pool(allocated: i64) -> Pool {
        Pool { grant: Grant::quantity(10), allocated }
    }

    #[test]
    fn each_day_shows_the_count_at_its_end() {
        // 2026-12-02T12:00:00Z, and changes two days ago, yesterday evening and this morning.
        let now: Timestamp = 1_796_212_800_000;
        let today = now - now.rem_euclid(DAY);
        let points = vec![
            (1, today - 2 * DAY + 1, pool(1)),
            (2, today - 1, pool(3)),
            (3, today + 1, pool(2)),
            (4, now + 5, pool(9)),
        ];
        assert_eq!(first_day(now, 4), today - 3 * DAY);
        let values = |start: i64| {
            let days = daily(&PoolHistory { start: pool(start), points: points.clone() }, now, 4);
            days.into_iter().collect::<Vec<(String, f64)>>()
        };
        let expected = |first: f64| {
            let days = ["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02"].map(String::from);
            days.into_iter().zip([first, 1.0, 3.0, 2.0]).collect::<Vec<_>>()
        };
        assert_eq!(values(0), expected(0.0));
        // A day before any change shows the count as it stood when the days began.
        assert_eq!(values(7), expected(7.0));
    }
}
