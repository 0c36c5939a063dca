//! Authorized scopes: an organization (or the host) that a caller was found allowed to
//! act on. Every read and write of the service layer takes one, so nothing reaches the
//! books unauthorized.

use std::sync::Arc;

use allot_api::{CheckAnswer, ErrorCode};
use allot_core::state::Org;
use allot_core::{Command, GroupId, OrgId, OrgKey, State, TenantId, UserId};
use allot_store::{SideWrite, StoreError};

use super::access::{self, Access, Family, Need};
use crate::app::{App, Caller};
use crate::books::{Outcome, Precondition};
use crate::error::{ApiError, ApiResult};
use crate::service::etag::{IfMatch, Resource};

/// Why a caller may not act on an organization.
#[derive(Debug)]
pub enum Denied {
    /// The organization does not exist or is another's: answered alike, so other
    /// organizations' ids cannot be probed.
    Unknown { org: String },
    /// The caller's role or scopes do not allow what the request needs.
    Forbidden { need: Need },
    /// The caller belongs to no organization (a host administrator on a surface whose
    /// organization is the caller's own).
    Homeless,
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::Unknown { org } => ApiError::not_found(format!("organization `{org}` does not exist")),
            Denied::Forbidden { need } => {
                let what = match need.access {
                    Access::Read => "read",
                    Access::Write => "change",
                };
                ApiError::forbidden(match need.family {
                    Family::Native => format!("this token may not {what} this organization"),
                    family => format!("this token may not {what} {} of this organization", family.scope()),
                })
            }
            Denied::Homeless => ApiError::forbidden("the token belongs to no organization"),
        }
    }
}

/// The organization `org` (its id in any case) if `caller` may do `need` there. For a
/// surface that keeps its own caller; the others take an [`OrgScope`].
pub fn authorized(app: &App, caller: &Caller, org: &str, need: Need) -> Result<OrgId, Denied> {
    let key = OrgKey::of(org);
    let visible = caller.is_host_admin() || caller.home_org() == Some(&key);
    let books = app.books.read();
    let Some(found) = books.org(org).filter(|_| visible) else {
        return Err(Denied::Unknown { org: org.to_owned() });
    };
    if !access::allows(&caller.principal, &books, &key, need) {
        return Err(Denied::Forbidden { need });
    }
    Ok(found.id.clone())
}

/// Does `user` hold `license` in `org`? The hot path: authorized by the same rule as
/// [`authorized`] and answered under one read of the books, with no scope built for it.
pub fn check(app: &App, caller: &Caller, org: &str, user: &str, license: &str) -> Result<CheckAnswer, Denied> {
    let key = OrgKey::canonical(org);
    let visible = caller.is_host_admin() || caller.home_org().is_some_and(|home| home.as_str() == key);
    let books = app.books.read();
    if !visible || books.org(org).is_none() {
        return Err(Denied::Unknown { org: org.to_owned() });
    }
    let need = Need::native(Access::Read);
    if !access::allows_in(&caller.principal, &books, &key, need) {
        return Err(Denied::Forbidden { need });
    }
    Ok(CheckAnswer::from(books.check(org, user, license, app.clock.now())))
}

/// The caller's own organization, if it may do `need` there.
pub fn authorized_home(app: &App, caller: &Caller, need: Need) -> Result<OrgId, Denied> {
    let Some(home) = caller.home_org() else { return Err(Denied::Homeless) };
    authorized(app, caller, home.as_str(), need)
}

/// How a surface answers a plan the planner refused: the native API by the first
/// violation with the refused plan ([`crate::app::refused`]), a dialect as its vendor does.
pub type Refusal = fn(&Outcome) -> ApiError;

/// An organization the caller may act on as `need` says.
pub struct OrgScope {
    app: App,
    caller: Caller,
    org: OrgId,
    refusal: Refusal,
}

impl OrgScope {
    /// Authorizes `caller` for `need` on organization `org` (its id in any case).
    pub fn authorize(app: &App, caller: Caller, org: &str, need: Need) -> Result<Self, Denied> {
        let org = authorized(app, &caller, org, need)?;
        Ok(Self { app: app.clone(), caller, org, refusal: crate::app::refused })
    }

    /// Authorizes `caller` for `need` on its own organization.
    pub fn authorize_home(app: &App, caller: Caller, need: Need) -> Result<Self, Denied> {
        let org = authorized_home(app, &caller, need)?;
        Ok(Self { app: app.clone(), caller, org, refusal: crate::app::refused })
    }

    /// The same scope, refusing plans as a dialect does.
    pub fn refusing(self, refusal: Refusal) -> Self {
        Self { refusal, ..self }
    }

    /// The host, if the caller administers it (403 otherwise).
    pub fn host(&self) -> ApiResult<HostScope> {
        HostScope::authorize(&self.app, self.caller.clone())
    }

    /// Checks that the caller may also do `need` here (a request whose need depends on its
    /// body, such as a plan that applies).
    pub fn require(&self, need: Need) -> ApiResult<()> {
        let allowed = access::allows(&self.caller.principal, &self.app.books.read(), &self.org.key(), need);
        if allowed { Ok(()) } else { Err(Denied::Forbidden { need }.into()) }
    }

    pub fn org(&self) -> &OrgId {
        &self.org
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// Applies `commands` all or nothing on the caller's behalf; a plan with violations is
    /// refused whole, as the surface refuses plans.
    pub async fn change(&self, commands: &[Command]) -> ApiResult<Outcome> {
        self.settle(self.try_change(commands).await?)
    }

    /// Like [`OrgScope::change`], only if `If-Match` still names `resource`'s state.
    pub async fn change_if(&self, commands: &[Command], if_match: &IfMatch, resource: &Resource) -> ApiResult<Outcome> {
        let precondition = crate::app::if_matches(if_match, resource);
        self.settle(self.app.apply(&self.caller, commands, Vec::new(), precondition).await?)
    }

    /// Like [`OrgScope::change`], writing `side` in the change's transaction.
    pub async fn change_with(&self, commands: &[Command], side: Vec<SideWrite>) -> ApiResult<Outcome> {
        self.settle(self.app.apply(&self.caller, commands, side, crate::app::unconditional()).await?)
    }

    /// Applies `commands` if the plan has no violations, and answers the plan either way:
    /// for a surface that answers a refusal in shapes of its own.
    pub async fn try_change(&self, commands: &[Command]) -> ApiResult<Outcome> {
        self.app.apply(&self.caller, commands, Vec::new(), crate::app::unconditional()).await
    }

    /// Plans `commands` and changes nothing.
    pub fn validate(&self, commands: &[Command]) -> Outcome {
        self.app.books.validate(commands, self.app.clock.now())
    }

    /// Applies the commands `build` makes of the books as they stand (a write that replaces a
    /// whole allocation reads what to zero), only if the books still make the same ones when
    /// it commits; if another change came between, builds them again.
    pub(crate) async fn change_current(
        &self,
        build: impl Fn(&State) -> ApiResult<Vec<Command>> + Send + Sync + 'static,
    ) -> ApiResult<Outcome> {
        let build = Arc::new(build);
        for _ in 0..8 {
            let commands = build(&self.app.books.read())?;
            let (expected, rebuild) = (commands.clone(), build.clone());
            let unmoved: Precondition = Box::new(move |books, _| match rebuild(books) {
                Ok(now) if now == expected => Ok(()),
                _ => Err(StoreError::Raced("the books moved under a replacing write".into()).into()),
            });
            match self.app.apply(&self.caller, &commands, Vec::new(), unmoved).await {
                Err(error) if error.raced() => continue,
                outcome => return self.settle(outcome?),
            }
        }
        Err(ApiError::conflict(ErrorCode::Conflict, "the books kept changing while this request was applied; retry it"))
    }

    fn settle(&self, outcome: Outcome) -> ApiResult<Outcome> {
        if outcome.plan.is_possible() { Ok(outcome) } else { Err((self.refusal)(&outcome)) }
    }

    /// Reads this organization's books under one lock, for a surface that formats its own
    /// views of them (a page of a million users, read in place rather than copied).
    pub fn read_org<T>(&self, read: impl FnOnce(&Org) -> T) -> ApiResult<T> {
        let books = self.app.books.read();
        books.org(self.org.as_str()).map(read).ok_or_else(|| self.gone())
    }

    /// `user` of this organization, or 404.
    pub fn user_id(&self, user: &str) -> ApiResult<UserId> {
        let books = self.app.books.read();
        let users = books.org(self.org.as_str()).map(|o| &o.users);
        let id = UserId::parse(user).ok().filter(|id| users.is_some_and(|users| users.contains_key(id)));
        id.ok_or_else(|| self.missing("user", user))
    }

    /// `group` of this organization, or 404.
    pub fn group_id(&self, group: &str) -> ApiResult<GroupId> {
        let books = self.app.books.read();
        let groups = books.org(self.org.as_str()).map(|o| &o.groups);
        let id = GroupId::parse(group).ok().filter(|id| groups.is_some_and(|groups| groups.contains_key(id)));
        id.ok_or_else(|| self.missing("group", group))
    }

    /// `tenant` of this organization, or 404.
    pub fn tenant_id(&self, tenant: &str) -> ApiResult<TenantId> {
        let books = self.app.books.read();
        let tenants = books.org(self.org.as_str()).map(|o| &o.tenants);
        let id = TenantId::parse(tenant).ok().filter(|id| tenants.is_some_and(|tenants| tenants.contains_key(id)));
        id.ok_or_else(|| self.missing("tenant", tenant))
    }

    /// The organization was deleted after the caller was authorized.
    pub(crate) fn gone(&self) -> ApiError {
        ApiError::not_found(format!("organization `{}` does not exist", self.org))
    }

    pub(crate) fn missing(&self, what: &str, id: &str) -> ApiError {
        ApiError::not_found(format!("{what} `{id}` does not exist in organization `{}`", self.org))
    }
}

/// The host: only its administrators act on it.
pub struct HostScope {
    app: App,
    caller: Caller,
}

impl HostScope {
    pub fn authorize(app: &App, caller: Caller) -> ApiResult<Self> {
        caller.require_host_admin()?;
        Ok(Self { app: app.clone(), caller })
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    pub fn caller(&self) -> &Caller {
        &self.caller
    }
}
