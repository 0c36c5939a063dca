//! Shapes shared by several resources: times, scopes, violations.

use allot_core::{LicenseKey, Scope, Timestamp, Violation};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// RFC 3339 text for a timestamp.
pub fn rfc3339(at: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// Where a pool sits: `host`, `org` or `tenant`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
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

/// A problem answer (RFC 9457). `code` is stable; `detail` is for people.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `about:blank` or a URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `license_limit_exceeded`, `not_found`, `invalid_body`.
    pub code: crate::ErrorCode,
    /// For refused plans: every violation, each with its own code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub violations: Option<Vec<ViolationView>>,
    /// For refused plans: the plan that was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Box<crate::PlanView>>,
}
