//! Plans: validate (a dry run) or apply any batch of changes, all or nothing.

use allot_core::{Command, Grant, Rule, ServiceType};
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

use super::dto::{PlanView, parse_time};
use super::licenses::LicenseSpec;
use super::{license_key, org_for};
use crate::app::{App, Caller};
use crate::auth::Access;
use crate::error::{ApiError, ApiResult, Problem};
use crate::extract::Json;

/// One change of a batch, by `op`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum PlanChange {
    /// Each listed user's direct licenses become exactly `licenses` (users x licenses).
    SetUserLicenses {
        users: Vec<String>,
        licenses: Vec<LicenseSpec>,
    },
    /// A group's rule.
    SetGroupRule {
        group: String,
        licenses: Vec<String>,
        #[serde(default)]
        use_external_license: bool,
    },
    AddMember {
        group: String,
        user: String,
    },
    RemoveMember {
        group: String,
        user: String,
    },
    /// The quantity a tenant's service gets from the organization.
    SetTenantPool {
        tenant: String,
        service: String,
        license: String,
        quantity: i64,
        #[serde(default)]
        valid_from: Option<String>,
        #[serde(default)]
        valid_until: Option<String>,
    },
    /// The quantity the organization gets from the host (host admin only).
    SetOrgPool {
        license: String,
        quantity: i64,
        #[serde(default)]
        valid_from: Option<String>,
        #[serde(default)]
        valid_until: Option<String>,
    },
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    /// `false` (default): validate only, change nothing. `true`: apply all or nothing.
    #[serde(default)]
    pub apply: bool,
    pub changes: Vec<PlanChange>,
}

impl PlanChange {
    /// Items this change carries, for the per-request limit.
    fn items(&self) -> usize {
        match self {
            PlanChange::SetUserLicenses { users, licenses } => users.len().saturating_mul(licenses.len().max(1)),
            PlanChange::SetGroupRule { licenses, .. } => licenses.len().max(1),
            _ => 1,
        }
    }
}

fn commands(app: &App, org: &allot_core::OrgId, changes: &[PlanChange]) -> ApiResult<Vec<Command>> {
    let org_name = org.as_str();
    let mut commands = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        let at = |field: &str| format!("changes[{i}].{field}");
        let grant = |quantity: i64, from: &Option<String>, until: &Option<String>| -> ApiResult<Grant> {
            if quantity < 0 {
                return Err(ApiError::bad_request("invalid_body", format!("{}: must not be negative", at("quantity"))));
            }
            Ok(Grant {
                quantity,
                valid_from: parse_time(&at("valid_from"), from.as_deref())?,
                valid_until: parse_time(&at("valid_until"), until.as_deref())?,
            })
        };
        match change {
            PlanChange::SetUserLicenses { users, licenses } => {
                let direct = licenses
                    .iter()
                    .enumerate()
                    .map(|(j, l)| l.direct(&at(&format!("licenses[{j}]"))))
                    .collect::<ApiResult<Vec<_>>>()?;
                if users.is_empty() {
                    return Err(ApiError::bad_request(
                        "invalid_body",
                        format!("{}: name at least one user", at("users")),
                    ));
                }
                for user in users {
                    let user = super::users::user_id(app, org_name, user)?;
                    commands.push(Command::SetDirectLicenses { org: org.clone(), user, licenses: direct.clone() });
                }
            }
            PlanChange::SetGroupRule { group, licenses, use_external_license } => {
                let licenses = licenses
                    .iter()
                    .enumerate()
                    .map(|(j, l)| license_key(l, &at(&format!("licenses[{j}]"))))
                    .collect::<ApiResult<Vec<_>>>()?;
                let group = super::groups::group_id(app, org_name, group)?;
                commands.push(Command::SetGroupRule {
                    org: org.clone(),
                    group,
                    rule: Rule { licenses, external: *use_external_license },
                });
            }
            PlanChange::AddMember { group, user } => commands.push(Command::AddMember {
                org: org.clone(),
                group: super::groups::group_id(app, org_name, group)?,
                user: super::users::user_id(app, org_name, user)?,
            }),
            PlanChange::RemoveMember { group, user } => commands.push(Command::RemoveMember {
                org: org.clone(),
                group: super::groups::group_id(app, org_name, group)?,
                user: super::users::user_id(app, org_name, user)?,
            }),
            PlanChange::SetTenantPool { tenant, service, license, quantity, valid_from, valid_until } => {
                commands.push(Command::SetTenantPool {
                    org: org.clone(),
                    tenant: super::tenants::tenant_id(app, org_name, tenant)?,
                    service: ServiceType::parse(service)
                        .map_err(|e| ApiError::bad_request("invalid_body", format!("{}: {e}", at("service"))))?,
                    license: license_key(license, &at("license"))?,
                    grant: grant(*quantity, valid_from, valid_until)?,
                });
            }
            PlanChange::SetOrgPool { license, quantity, valid_from, valid_until } => {
                commands.push(Command::SetOrgPool {
                    org: org.clone(),
                    license: license_key(license, &at("license"))?,
                    grant: grant(*quantity, valid_from, valid_until)?,
                })
            }
        }
    }
    Ok(commands)
}

/// Validate or apply a batch of changes. Validation answers the plan (counts before and
/// after, every violation) and changes nothing; applying a plan with violations is
/// refused whole with the same violations.
#[utoipa::path(post, path = "/orgs/{org}/plans", tag = "plans", security(("bearer" = [])), request_body = PlanRequest,
    params(("org" = String, Path, description = "Organization id")),
    responses((status = 200, description = "The plan (validated, or applied)", body = PlanView),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Applying was refused; `violations` and `plan` say why", body = Problem),
        (status = 413, description = "`too_many_items`", body = Problem)))]
pub async fn create(
    State(app): State<App>,
    caller: Caller,
    Path(org): Path<String>,
    Json(body): Json<PlanRequest>,
) -> ApiResult<axum::Json<PlanView>> {
    let need = if body.apply { Access::Write } else { Access::Read };
    let org_id = org_for(&app, &caller, &org, need)?;
    if body.changes.iter().any(|c| matches!(c, PlanChange::SetOrgPool { .. })) {
        caller.require_host_admin()?;
    }
    app.check_items(body.changes.iter().map(PlanChange::items).fold(0, usize::saturating_add))?;
    let commands = commands(&app, &org_id, &body.changes)?;
    let outcome =
        if body.apply { app.change(&caller, &commands).await? } else { app.books.validate(&commands, app.clock.now()) };
    Ok(axum::Json(PlanView::new(&outcome.plan, outcome.applied, outcome.revision)))
}
