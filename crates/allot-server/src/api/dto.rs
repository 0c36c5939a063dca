//! The shapes of the native API, with their OpenAPI schemas. Conversions from the core's
//! types live here so handlers stay short.

use allot_core::{
    Change, Check, CheckReason, Holding, LedgerEntry, LicenseKey, Plan, Pool, Product, ProductKind, Scope, Source,
    Timestamp, Via, Violation,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::error::ApiError;

/// RFC 3339 text for a timestamp.
pub fn rfc3339(at: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Parses an optional RFC 3339 timestamp from a request.
pub fn parse_time(field: &str, value: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let parsed = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).map_err(|e| {
        ApiError::bad_request("invalid_body", format!("{field}: `{value}` is not an RFC 3339 time: {e}"))
    })?;
    Ok(Some(i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)))
}

/// Where a pool sits: `host`, `org` or `tenant`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ScopeView {
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl From<&Scope> for ScopeView {
    fn from(scope: &Scope) -> Self {
        match scope {
            Scope::Host => Self { kind: "host".into(), org: None, tenant: None, service: None },
            Scope::Org { org } => Self { kind: "org".into(), org: Some(org.to_string()), tenant: None, service: None },
            Scope::Tenant { org, tenant, service } => Self {
                kind: "tenant".into(),
                org: Some(org.to_string()),
                tenant: Some(tenant.to_string()),
                service: Some(service.to_string()),
            },
        }
    }
}

/// Why a plan cannot be applied.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViolationView {
    /// Stable code: `license_limit_exceeded`, `quantity_in_use`, `not_purchased`, `expired`,
    /// `unknown_license`, `unknown_organization`, `unknown_user`, `unknown_group`,
    /// `unknown_tenant`, `wrong_license_kind`, `wrong_service`, `conflicting_capabilities`,
    /// `already_exists`, `not_a_member`, `organization_not_empty`, `invalid_quantity`,
    /// `invalid_dates`, `internal_error`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// For limits: units available before the plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
    /// For limits: units the plan needs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<i64>,
}

impl From<&Violation> for ViolationView {
    fn from(v: &Violation) -> Self {
        Self {
            code: v.code.as_str().into(),
            message: v.message.clone(),
            license: v.license.as_ref().map(LicenseKey::to_string),
            scope: v.scope.as_ref().map(ScopeView::from),
            user: v.user.as_ref().map(ToString::to_string),
            available: v.available,
            requested: v.requested,
        }
    }
}

/// One pool's balance.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoolRow {
    pub license: String,
    pub quantity: i64,
    pub allocated: i64,
    pub available: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

impl PoolRow {
    pub fn new(license: &LicenseKey, pool: &Pool) -> Self {
        Self {
            license: license.to_string(),
            quantity: pool.grant.quantity,
            allocated: pool.allocated,
            available: pool.available(),
            valid_from: pool.grant.valid_from.map(rfc3339),
            valid_until: pool.grant.valid_until.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PoolList {
    pub pools: Vec<PoolRow>,
    pub revision: u64,
}

/// A quantity to grant: the pool of `license` at this scope becomes `quantity`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSetting {
    /// A license code, or `code:capability` for products with capabilities.
    pub license: String,
    pub quantity: i64,
    /// RFC 3339; the units cannot be used before.
    #[serde(default)]
    pub valid_from: Option<String>,
    /// RFC 3339; the units cannot be used from then on.
    #[serde(default)]
    pub valid_until: Option<String>,
}

/// Pools to set; pools not listed are left as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPools {
    pub pools: Vec<PoolSetting>,
}

/// One pool's balance before and after a plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoolChangeView {
    pub scope: ScopeView,
    pub license: String,
    pub quantity_before: i64,
    pub quantity_after: i64,
    pub allocated_before: i64,
    pub allocated_after: i64,
    pub available_after: i64,
}

/// A license held by a user.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HeldLicense {
    pub license: String,
    /// `direct` or `group`.
    pub source: String,
    /// The group it is inherited from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Recorded but drawing no unit: the license comes from outside the organization.
    pub external: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

impl HeldLicense {
    pub fn new(product: &allot_core::ProductCode, holding: &Holding) -> Self {
        let (source, group) = match &holding.source {
            Source::Direct => ("direct", None),
            Source::Group(group) => ("group", Some(group.to_string())),
        };
        Self {
            license: holding.license(product).to_string(),
            source: source.into(),
            group,
            external: holding.external,
            valid_from: holding.valid_from().map(rfc3339),
            valid_until: holding.valid_until().map(rfc3339),
        }
    }
}

/// A change of one user's holding of one product.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HoldingChangeView {
    pub user: String,
    pub product: String,
    pub before: Option<HeldLicense>,
    pub after: Option<HeldLicense>,
}

/// A plan: what a request changes, and whether it may.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PlanView {
    /// The stored plan's id, for `POST /orgs/{org}/plans/{id}/apply` (validated plans only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Until when the stored plan may be applied (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// No violations: applying it would succeed.
    pub possible: bool,
    pub applied: bool,
    /// The revision the plan was computed at.
    pub base_revision: u64,
    /// The revision after the request (the new one if it was applied).
    pub revision: u64,
    pub pools: Vec<PoolChangeView>,
    pub holdings: Vec<HoldingChangeView>,
    pub violations: Vec<ViolationView>,
    /// Every change event, as the ledger records it.
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<Change>,
}

impl PlanView {
    pub fn new(plan: &Plan, applied: bool, revision: u64) -> Self {
        let pools = plan
            .pools
            .iter()
            .map(|p| PoolChangeView {
                scope: ScopeView::from(&p.scope),
                license: p.license.to_string(),
                quantity_before: p.before.grant.quantity,
                quantity_after: p.after.grant.quantity,
                allocated_before: p.before.allocated,
                allocated_after: p.after.allocated,
                available_after: p.after.available(),
            })
            .collect();
        let holdings = plan
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::HoldingSet { user, product, before, after, .. } => Some(HoldingChangeView {
                    user: user.to_string(),
                    product: product.to_string(),
                    before: before.as_ref().map(|h| HeldLicense::new(product, h)),
                    after: after.as_ref().map(|h| HeldLicense::new(product, h)),
                }),
                _ => None,
            })
            .collect();
        Self {
            id: None,
            expires_at: None,
            possible: plan.is_possible(),
            applied,
            base_revision: plan.base_revision,
            revision,
            pools,
            holdings,
            violations: plan.violations.iter().map(ViolationView::from).collect(),
            changes: plan.changes.clone(),
        }
    }
}

/// The answer to "does this user hold this license?".
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckAnswer {
    pub allowed: bool,
    /// `held`, `not_held`, `waiting` (with `waiting_position`), `expired`, `pool_exhausted`
    /// (not held, and no unit is free), `unknown_user` or `unknown_license`.
    pub reason: String,
    /// `direct` or `group` when held (or held but expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<bool>,
    /// The capability held, for products with capabilities.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability: Option<String>,
    /// For `waiting`: 1 is next in line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting_position: Option<usize>,
    pub revision: u64,
}

impl From<Check> for CheckAnswer {
    fn from(check: Check) -> Self {
        let reason =
            serde_json::to_value(check.reason).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let (via, group, external) = match check.via {
            Some(Via::Direct { external }) => (Some("direct".to_owned()), None, Some(external)),
            Some(Via::Group { group, external }) => (Some("group".to_owned()), Some(group.to_string()), Some(external)),
            None => (None, None, None),
        };
        debug_assert!(check.reason != CheckReason::UnknownOrganization);
        Self {
            allowed: check.allowed,
            reason,
            via,
            group,
            external,
            capability: check.capability.map(|c| c.to_string()),
            waiting_position: check.waiting_position,
            revision: check.revision,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerEntryView {
    pub revision: u64,
    pub seq: u32,
    /// RFC 3339.
    pub at: String,
    pub actor: String,
    pub request_id: String,
    /// The change event, tagged by `type`.
    #[schema(value_type = Object)]
    pub change: Change,
}

impl From<LedgerEntry> for LedgerEntryView {
    fn from(e: LedgerEntry) -> Self {
        Self {
            revision: e.revision,
            seq: e.seq,
            at: rfc3339(e.at),
            actor: e.actor,
            request_id: e.request_id,
            change: e.change,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerPage {
    pub entries: Vec<LedgerEntryView>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapabilityView {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductView {
    pub code: String,
    pub name: String,
    /// `user` (held by users) or `unit` (granted to tenants).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<CapabilityView>,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            code: p.code.to_string(),
            name: p.name.clone(),
            kind: match p.kind {
                ProductKind::User => "user".into(),
                ProductKind::Unit => "unit".into(),
            },
            service_type: p.service_type.as_ref().map(ToString::to_string),
            capabilities: p
                .capabilities
                .iter()
                .map(|c| CapabilityView { code: c.code.to_string(), name: c.name.clone() })
                .collect(),
        }
    }
}
