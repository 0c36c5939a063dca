//! Plans: validate (a dry run, kept to be applied later by id) or apply any batch of
//! changes, all or nothing.

use allot_api::{PlanChange, PlanRequest, PlanView, rfc3339};
use std::collections::HashMap;

use allot_core::{Change, Command, Grant, InvalidId, Rule, ServiceType, UserId, UserProfile};
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

/// The users a batch creates, by the profile it gives them: the changes after the one that
/// creates a user may name them, though the books do not hold them yet.
#[derive(Default)]
struct Created(HashMap<UserId, UserProfile>);

impl Created {
    /// `user`, if the books hold them or an earlier change of the batch creates them; else 404.
    fn user(&self, scope: &OrgScope, user: &str) -> ApiResult<UserId> {
        match UserId::parse(user) {
            Ok(id) if self.0.contains_key(&id) => Ok(id),
            _ => scope.user_id(user),
        }
    }

    /// Follows `command`: a user it creates becomes known with its profile, one it updates
    /// takes the new profile, one it deletes is unknown again.
    fn follow(&mut self, command: &Command) {
        match command {
            Command::CreateUser { user, profile, .. } => {
                self.0.insert(user.clone(), profile.clone());
            }
            Command::UpdateUser { user, profile, .. } => {
                if let Some(known) = self.0.get_mut(user) {
                    *known = profile.clone();
                }
            }
            Command::DeleteUser { user, .. } => {
                self.0.remove(user);
            }
            _ => {}
        }
    }

    /// The profile `user` has when the change is planned: as an earlier change of the batch
    /// made it, else as the books hold it.
    fn profile(&self, scope: &OrgScope, user: &UserId) -> UserProfile {
        self.0.get(user).cloned().unwrap_or_else(|| {
            let books = scope.app().books.read();
            books
                .org(scope.org().as_str())
                .and_then(|o| o.users.get(user).map(|u| u.profile.clone()))
                .unwrap_or_default()
        })
    }
}

/// The commands of `changes`, planned after `earlier` (the parts before, of a change sent
/// in parts).
fn commands(scope: &OrgScope, earlier: &[Command], changes: &[PlanChange]) -> ApiResult<Vec<Command>> {
    let org = scope.org();
    let mut commands = Vec::new();
    let mut created = Created::default();
    earlier.iter().for_each(|command| created.follow(command));
    for (i, change) in changes.iter().enumerate() {
        let first = commands.len();
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
                    let user = created.user(scope, user)?;
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
            PlanChange::CreateUser { user, name, email, role } => {
                let id = UserId::parse(user).map_err(|e| invalid_id_at(&at("user"), e))?;
                let profile = UserProfile {
                    name: name.clone().unwrap_or_else(|| user.clone()),
                    email: email.clone().map(Into::into),
                    role: role.unwrap_or_default().into(),
                    directory: None,
                };
                commands.push(Command::CreateUser { org: org.clone(), user: id, profile });
            }
            PlanChange::UpdateUser { user, name, email, role } => {
                let user = created.user(scope, user)?;
                let current = created.profile(scope, &user);
                let profile = UserProfile {
                    name: name.clone().unwrap_or(current.name),
                    email: email.clone().map(Into::into).or(current.email),
                    role: role.map_or(current.role, Into::into),
                    directory: current.directory,
                };
                commands.push(Command::UpdateUser { org: org.clone(), user, profile });
            }
            PlanChange::DeleteUser { user } => {
                let user = created.user(scope, user)?;
                commands.push(Command::DeleteUser { org: org.clone(), user });
            }
            PlanChange::AddMember { group, user } => commands.push(Command::AddMember {
                org: org.clone(),
                group: scope.group_id(group)?,
                user: created.user(scope, user)?,
            }),
            PlanChange::RemoveMember { group, user } => commands.push(Command::RemoveMember {
                org: org.clone(),
                group: scope.group_id(group)?,
                user: created.user(scope, user)?,
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
        commands[first..].iter().for_each(|command| created.follow(command));
    }
    Ok(commands)
}

/// The parts before this one of a change sent in parts: their commands, and the revision
/// they were planned at with how many changes they made then.
struct Earlier {
    commands: Vec<Command>,
    planned: Option<(u64, usize)>,
}

/// Commands a change sent in parts may plan in all: a hundred requests of the default
/// item limit.
const MAX_PARTS_COMMANDS: usize = 1_000_000;

fn invalid_id_at(field: &str, error: InvalidId) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidId, format!("{field}: {error}"))
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
        let Earlier { commands: mut earlier, planned } = self.earlier_parts(&body).await?;
        let mut commands = commands(self, &earlier, &body.changes)?;
        if earlier.len().saturating_add(commands.len()) > MAX_PARTS_COMMANDS {
            let detail = format!("a change sent in parts plans at most {MAX_PARTS_COMMANDS} commands in all");
            return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::TooManyItems, detail));
        }
        if body.apply {
            let outcome = app.change(caller, &commands).await?;
            self.forget_deleted(&outcome.plan);
            return Ok(PlanView::new(&outcome.plan, outcome.applied, outcome.revision));
        }
        // A validation is kept, to be applied later by id.
        let now = app.clock.now();
        // What the earlier parts change now, so that this part's changes are shown apart:
        // what they changed when they were validated, if nothing was committed since.
        let shown_from = match planned {
            None => 0,
            Some((revision, changes)) if revision == app.books.revision() => changes,
            Some(_) => app.books.validate(&earlier, now).plan.changes.len(),
        };
        earlier.append(&mut commands);
        let commands = earlier;
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
        let mut view = PlanView::showing(&outcome.plan, shown_from, false, outcome.revision);
        view.id = Some(id);
        view.expires_at = Some(rfc3339(expires_at));
        Ok(view)
    }

    /// Applies a stored plan, exactly: if planning it again now would change anything else,
    /// it is refused with 409 `plan_stale` and the fresh plan; an expired plan is 410.
    pub async fn apply_plan(&self, id: &str) -> ApiResult<PlanView> {
        let (app, caller) = (self.app(), self.caller());
        let stored = self.live_plan(id).await?;
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
        self.forget_deleted(&outcome.plan);
        let mut view = PlanView::new(&outcome.plan, outcome.applied, outcome.revision);
        view.id = Some(stored.id);
        Ok(view)
    }

    /// The parts before this one of a change sent in parts (none without `after`).
    async fn earlier_parts(&self, body: &PlanRequest) -> ApiResult<Earlier> {
        let Some(after) = &body.after else { return Ok(Earlier { commands: Vec::new(), planned: None }) };
        if body.apply {
            let detail = "after: a change sent in parts is validated in parts; apply each part, or the last plan by id";
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidBody, detail));
        }
        let plan = self.live_plan(after).await?;
        Ok(Earlier { planned: Some((plan.base_revision, plan.changes.len())), commands: plan.commands })
    }

    /// Stored plan `id` of this organization (404), if it has not expired (410).
    async fn live_plan(&self, id: &str) -> ApiResult<StoredPlan> {
        let app = self.app();
        let stored = app.store.plan(id).await?.filter(|p| p.org == self.org().key());
        let stored = stored.ok_or_else(|| ApiError::not_found(format!("plan `{id}` does not exist")))?;
        if stored.expires_at <= app.clock.now() {
            return Err(ApiError::new(
                StatusCode::GONE,
                ErrorCode::PlanExpired,
                format!("plan `{id}` expired at {}", rfc3339(stored.expires_at)),
            ));
        }
        Ok(stored)
    }

    /// The cached tokens of the users an applied plan deleted (the store revoked them with
    /// the change).
    fn forget_deleted(&self, plan: &allot_core::Plan) {
        for change in &plan.changes {
            if let Change::UserDeleted { user, .. } = change {
                self.forget(user);
            }
        }
    }
}
