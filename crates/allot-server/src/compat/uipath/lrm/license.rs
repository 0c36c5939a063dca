//! UiPath's license views of allot's pools: an organization's (or the host's) account license
//! and a tenant's service license, with their dates, status and codes.

use allot_core::{OrgId, ProductKind, ServiceType, TenantId, Timestamp};

use super::shapes::{AccountLicense, AccountProduct, LicenseData, NoneListed, ServiceLicense, ServiceProduct};
use crate::compat::uipath::ids::tenant_uuid;
use crate::service::{HeldPool, HeldService, OrgScope};

/// The end reported for a grant without one: 9999-12-31T23:59:59Z (.NET's largest date, to
/// the second), as UiPath's int64 dates cannot be null.
pub const NO_END: i64 = 253_402_300_799;
/// The start reported for a grant without one: the epoch.
pub const NO_START: i64 = 0;
/// allot's organizations are licensed by their host, as UiPath's enterprise accounts are.
pub const SUBSCRIPTION_PLAN: &str = "ENTERPRISE";
/// The host's own license, the parent of every organization's.
const HOST_LICENSE: &str = "host-license";

/// What a product's type says: user bundles are held by users, units by tenants' services.
pub fn kind(pool: &HeldPool) -> &'static str {
    match pool.kind {
        Some(ProductKind::Unit) => "unit",
        _ => "user",
    }
}

/// A license's validity over its pools, in milliseconds: from the earliest start to the latest
/// end, open where any pool's is.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    from: Option<Timestamp>,
    until: Option<Timestamp>,
}

impl Window {
    pub fn of(pools: &[HeldPool]) -> Self {
        let bound = |f: fn(&HeldPool) -> Option<Timestamp>| pools.iter().map(f).collect::<Option<Vec<_>>>();
        Self {
            from: bound(|p| p.pool.grant.valid_from).and_then(|starts| starts.into_iter().min()),
            until: bound(|p| p.pool.grant.valid_until).and_then(|ends| ends.into_iter().max()),
        }
    }

    /// Unix seconds, as UiPath's dates are.
    pub fn start_date(self) -> i64 {
        self.from.map_or(NO_START, |ms| ms.div_euclid(1000))
    }

    pub fn end_date(self) -> i64 {
        self.until.map_or(NO_END, |ms| ms.div_euclid(1000))
    }

    /// `ACTIVE` inside the window, `INACTIVE` before it starts, `EXPIRED` after it (until the
    /// books' expiry sweep ends the grants, books.rs).
    pub fn status(self, now: Timestamp) -> &'static str {
        match (self.from, self.until) {
            (Some(from), _) if now < from => "INACTIVE",
            (_, Some(until)) if now >= until => "EXPIRED",
            _ => "ACTIVE",
        }
    }
}

pub fn license_code(org: &OrgId) -> String {
    format!("{org}-license")
}

fn subscription_code(org: &OrgId) -> String {
    format!("{org}-subscription")
}

fn account_license(
    account_id: String,
    codes: (String, Option<String>),
    subscription: String,
    pools: &[HeldPool],
    now: Timestamp,
) -> AccountLicense {
    let window = Window::of(pools);
    let (license_code, parent_license_code) = codes;
    AccountLicense {
        account_id,
        bundle_code: None,
        end_date: window.end_date(),
        grace_period: 0,
        license_code,
        license_status: window.status(now),
        products: pools
            .iter()
            .map(|p| AccountProduct {
                code: p.license.to_string(),
                quantity: p.pool.grant.quantity,
                kind: kind(p),
                features: NoneListed,
                consumption_distributions: NoneListed,
            })
            .collect(),
        templates: NoneListed,
        policies: NoneListed,
        entitlements: NoneListed,
        start_date: window.start_date(),
        subscription_code: subscription,
        subscription_plan: SUBSCRIPTION_PLAN,
        payload: None,
        kind: None,
        parent_license_code,
    }
}

/// The organization's account license: what the host granted it.
pub fn org_license(org: &OrgScope) -> AccountLicense {
    let id = org.org();
    let codes = (license_code(id), Some(HOST_LICENSE.to_owned()));
    account_license(id.to_string(), codes, subscription_code(id), &org.held_pools(), org.app().clock.now())
}

/// The host's own license: what it bought.
pub fn host_license(pools: &[HeldPool], now: Timestamp) -> AccountLicense {
    let host = crate::compat::uipath::HOST_ID;
    account_license(host.to_owned(), (HOST_LICENSE.to_owned(), None), format!("{host}-subscription"), pools, now)
}

/// A tenant's license for one service (`service` `None`: for all its services at once, as
/// `pools` then holds).
pub fn service_license(
    org: &OrgScope,
    tenant: &TenantId,
    service: Option<&ServiceType>,
    pools: &[HeldPool],
) -> ServiceLicense {
    let id = org.org();
    let window = Window::of(pools);
    let code = match service {
        Some(service) => format!("{id}-{tenant}-{service}"),
        None => format!("{id}-{tenant}"),
    };
    ServiceLicense {
        account_id: id.to_string(),
        global_id: tenant_uuid(id, tenant),
        service_scope_id: tenant.to_string(),
        service_type: service.map(ToString::to_string),
        license: LicenseData {
            license_code: code,
            parent_license_code: Some(license_code(id)),
            bundle_code: None,
            subscription_code: subscription_code(id),
            license_status: window.status(org.app().clock.now()),
            start_date: window.start_date(),
            end_date: window.end_date(),
            grace_period: 0,
            products: pools
                .iter()
                .map(|p| ServiceProduct {
                    code: p.license.to_string(),
                    quantity: p.pool.grant.quantity,
                    allocated: p.pool.allocated,
                    kind: kind(p),
                    features: NoneListed,
                    distribution_intervals: NoneListed,
                })
                .collect(),
            templates: NoneListed,
            policies: NoneListed,
            entitlements: NoneListed,
            payload: None,
            boon_license_code: None,
        },
        // allot always licenses users (UiPath's switch to turn it off is out of scope).
        user_licensing_enabled: true,
        account_license_code: license_code(id),
    }
}

/// One held service as its license.
pub fn held_service_license(org: &OrgScope, held: &HeldService) -> ServiceLicense {
    service_license(org, &held.tenant, Some(&held.service), &held.pools)
}
