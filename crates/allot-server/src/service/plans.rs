//! Plans: validate (a dry run, kept to be applied later by id) or apply any batch of
//! changes, all or nothing.

use allot_api::{PlanChange, PlanRequest, PlanView, rfc3339};
use allot_core::{Change, Command, Grant, Rule, ServiceType};
use allot_store::{Store, StoredPlan};
use axum::http::StatusCode;
use rand::RngCore as _;

use super::OrgScope;
use super::access::{Access, Need};
use super::licenses::direct;
use crate::api::dto::parse_time;
use crate::api::license_key;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

fn commands(scope: &OrgScope, changes: &[PlanChange]) -> ApiResult<Vec<Command>> {
    let org = scope.org();
    let mut commands = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        let at = |field: &str| format!("changes[{i}].{field}");
        let grant = |quantity: i64, from: &Option<String>, until: &Option<String>| -> ApiResult<Grant> {
            if quantity < 0 {
                return Err(ApiError::bad_request(
                    ErrorCode::InvalidBody,
                    format!("{}: must not be negative", at("quantity")),
                ));
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
                    .map(|(j, l)| direct(l, &at(&format!("licenses[{j}]"))))
                    .collect::<ApiResult<Vec<_>>>()?;
                if users.is_empty() {
                    return Err(ApiError::bad_request(
                        ErrorCode::InvalidBody,
                        format!("{}: name at least one user", at("users")),
                    ));
                }
                for user in users {
                    let user = scope.user_id(user)?;
                    commands.push(Command::SetDirectLicenses { org: org.clone(), user, licenses: direct.clone() });
                }
            }
            PlanChange::SetGroupRule { group, licenses, use_external_license } => {
                let licenses = licenses
                    .iter()
                    .enumerate()
                    .map(|(j, l)| license_key(l, &at(&format!("licenses[{j}]"))))
                    .collect::<ApiResult<Vec<_>>>()?;
                let group = scope.group_id(group)?;
                commands.push(Command::SetGroupRule {
                    org: org.clone(),
                    group,
                    rule: Rule { licenses, external: *use_external_license },
                });
            }
            PlanChange::AddMember { group, user } => commands.push(Command::AddMember {
                org: org.clone(),
                group: scope.group_id(group)?,
                user: scope.user_id(user)?,
            }),
            PlanChange::RemoveMember { group, user } => commands.push(Command::RemoveMember {
                org: org.clone(),
                group: scope.group_id(group)?,
                user: scope.user_id(user)?,
            }),
            PlanChange::SetTenantPool { tenant, service, license, quantity, valid_from, valid_until } => {
                commands.push(Command::SetTenantPool {
                    org: org.clone(),
                    tenant: scope.tenant_id(tenant)?,
                    service: ServiceType::parse(service).map_err(|e| {
                        ApiError::bad_request(ErrorCode::InvalidBody, format!("{}: {e}", at("service")))
                    })?,
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

fn plan_id() -> String {
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    format!("pl_{}", crate::hex(&raw))
}

/// Two changes that do the same, whatever the joining order numbers they were given: a
/// member who joins later than planned is still the same change.
fn same_effect(a: &Change, b: &Change) -> bool {
    let without_seq = |c: &Change| match c.clone() {
        Change::MemberAdded { org, group, user, .. } => Change::MemberAdded { org, group, user, seq: 0 },
        Change::MemberRemoved { org, group, user, .. } => Change::MemberRemoved { org, group, user, seq: 0 },
        other => other,
    };
    without_seq(a) == without_seq(b)
}

/// What differs between the stored plan's changes and a fresh plan's, for people to read.
fn differences(stored: &[Change], fresh: &[Change]) -> Vec<String> {
    let only = |from: &[Change], other: &[Change], word: &str| {
        from.iter()
            .filter(|c| !other.iter().any(|o| same_effect(c, o)))
            .map(|c| format!("{word}: {c}"))
            .collect::<Vec<_>>()
    };
    [only(stored, fresh, "no longer"), only(fresh, stored, "now also")].concat()
}

impl OrgScope {
    /// Validates or applies a batch. Validation answers the plan, changes nothing, and
    /// keeps the plan to be applied by id; applying needs write access.
    pub async fn plan(&self, body: PlanRequest) -> ApiResult<PlanView> {
        if body.apply {
            self.require(Need::native(Access::Write))?;
        }
        let (app, caller, org_id) = (self.app(), self.caller(), self.org());
        if body.changes.iter().any(|c| matches!(c, PlanChange::SetOrgPool { .. })) {
            caller.require_host_admin()?;
        }
        app.check_items(body.changes.iter().map(PlanChange::items).fold(0, usize::saturating_add))?;
        let commands = commands(self, &body.changes)?;
        if body.apply {
            let outcome = app.change(caller, &commands).await?;
            return Ok(PlanView::new(&outcome.plan, outcome.applied, outcome.revision));
        }
        // A validation is kept, to be applied later by id.
        let now = app.clock.now();
        let outcome = app.books.validate(&commands, now);
        let stored = StoredPlan {
            id: plan_id(),
            org: org_id.key(),
            base_revision: outcome.plan.base_revision,
            author: caller.actor_name(),
            created_at: now,
            expires_at: now + crate::auth::millis(app.config.plan_ttl_secs),
            commands,
            changes: outcome.plan.changes.clone(),
        };
        let (id, expires_at) = (stored.id.clone(), stored.expires_at);
        app.store.insert_plan(stored).await?;
        let mut view = PlanView::new(&outcome.plan, false, outcome.revision);
        view.id = Some(id);
        view.expires_at = Some(rfc3339(expires_at));
        Ok(view)
    }

    /// Applies a stored plan, exactly: if planning it again now would change anything else,
    /// it is refused with 409 `plan_stale` and the fresh plan; an expired plan is 410.
    pub async fn apply_plan(&self, id: &str) -> ApiResult<PlanView> {
        let (app, caller, org_id) = (self.app(), self.caller(), self.org());
        let stored = app.store.plan(id).await?.filter(|p| p.org == org_id.key());
        let stored = stored.ok_or_else(|| ApiError::not_found(format!("plan `{id}` does not exist")))?;
        if stored.expires_at <= app.clock.now() {
            return Err(ApiError::new(
                StatusCode::GONE,
                ErrorCode::PlanExpired,
                format!("plan `{id}` expired at {}", rfc3339(stored.expires_at)),
            ));
        }
        if stored.commands.iter().any(|c| matches!(c, Command::SetOrgPool { .. })) {
            caller.require_host_admin()?;
        }
        let expected = stored.changes.clone();
        let unchanged = move |_: &allot_core::State, fresh: &allot_core::Plan| -> ApiResult<()> {
            let same = fresh.changes.len() == expected.len()
                && fresh.changes.iter().zip(&expected).all(|(a, b)| same_effect(a, b));
            if same {
                return Ok(());
            }
            let differences = differences(&expected, &fresh.changes);
            let detail = format!("the state this plan depends on has changed: {}", differences.join("; "));
            Err(ApiError::conflict(ErrorCode::PlanStale, detail).with_plan(PlanView::new(
                fresh,
                false,
                fresh.base_revision,
            )))
        };
        let outcome = app
            .books
            .apply_if(
                &stored.commands,
                &caller.actor(),
                app.clock.now(),
                caller.idempotency.as_ref(),
                Box::new(unchanged),
            )
            .await?;
        if !outcome.plan.is_possible() {
            let view = PlanView::new(&outcome.plan, false, outcome.revision);
            return Err(ApiError::refused(&outcome.plan, Some(view)));
        }
        let mut view = PlanView::new(&outcome.plan, outcome.applied, outcome.revision);
        view.id = Some(stored.id);
        Ok(view)
    }
}
