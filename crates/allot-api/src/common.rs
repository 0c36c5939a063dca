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

/// Where a pool sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeKind {
    /// What the host bought.
    Host,
    /// What the host granted an organization.
    Org,
    /// What an organization granted a tenant's service.
    Tenant,
}

/// Where a pool sits: `org` names the organization, `tenant` also the tenant and service.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ScopeView {
    pub kind: ScopeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::OrgId>)]
    pub org: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::TenantId>)]
    pub tenant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::ServiceType>)]
    pub service: Option<String>,
}

impl From<&Scope> for ScopeView {
    fn from(scope: &Scope) -> Self {
        match scope {
            Scope::Host => Self { kind: ScopeKind::Host, org: None, tenant: None, service: None },
            Scope::Org { org } => {
                Self { kind: ScopeKind::Org, org: Some(org.to_string()), tenant: None, service: None }
            }
            Scope::Tenant { org, tenant, service } => Self {
                kind: ScopeKind::Tenant,
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
    /// Stable code, one of the catalogue's.
    pub code: crate::ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::License>)]
    pub license: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = crate::schema::Option<crate::schema::UserId>)]
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
            code: v.code.into(),
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
