//! Authorized scopes: an organization (or the host) that a caller was found allowed to
//! act on. Every read and write of the service layer takes one, so nothing reaches the
//! books unauthorized.

use allot_api::CheckAnswer;
use allot_core::{Command, GroupId, OrgId, OrgKey, TenantId, UserId};

use super::access::{self, Access, Family, Need};
use crate::app::{App, Caller};
use crate::books::Outcome;
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
    let key = OrgKey::of(org);
    let visible = caller.is_host_admin() || caller.home_org() == Some(&key);
    let books = app.books.read();
    if !visible || books.org(org).is_none() {
        return Err(Denied::Unknown { org: org.to_owned() });
    }
    let need = Need::native(Access::Read);
    if !access::allows(&caller.principal, &books, &key, need) {
        return Err(Denied::Forbidden { need });
    }
    Ok(CheckAnswer::from(books.check(org, user, license, app.clock.now())))
}

/// The caller's own organization, if it may do `need` there.
pub fn authorized_home(app: &App, caller: &Caller, need: Need) -> Result<OrgId, Denied> {
    let Some(home) = caller.home_org() else { return Err(Denied::Homeless) };
    authorized(app, caller, home.as_str(), need)
}

/// An organization the caller may act on as `need` says.
pub struct OrgScope {
    app: App,
    caller: Caller,
    org: OrgId,
}

impl OrgScope {
    /// Authorizes `caller` for `need` on organization `org` (its id in any case).
    pub fn authorize(app: &App, caller: Caller, org: &str, need: Need) -> Result<Self, Denied> {
        let org = authorized(app, &caller, org, need)?;
        Ok(Self { app: app.clone(), caller, org })
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
    /// refused whole.
    pub async fn change(&self, commands: &[Command]) -> ApiResult<Outcome> {
        self.app.change(&self.caller, commands).await
    }

    /// Like [`OrgScope::change`], only if `If-Match` still names `resource`'s state.
    pub async fn change_if(&self, commands: &[Command], if_match: &IfMatch, resource: &Resource) -> ApiResult<Outcome> {
        self.app.change_if(&self.caller, commands, if_match, resource).await
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
