//! Organizations: created and deleted by host administrators, read and renamed by their
//! own administrators too.

use allot_api::{CreateOrg, OrgList, OrgView};
use allot_core::{Command, OrgId};
use allot_store::Subject;

use super::access::{self, Access, Need};
use super::{HostScope, OrgScope};
use crate::api::invalid_id;
use crate::app::{App, Caller};
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

fn view(org: &allot_core::state::Org) -> OrgView {
    OrgView {
        id: org.id.to_string(),
        name: org.name.clone(),
        users: org.users.len(),
        groups: org.groups.len(),
        tenants: org.tenants.len(),
    }
}

/// The organizations `caller` may read: all of them for a host administrator, its own
/// otherwise.
pub fn organizations(app: &App, caller: &Caller) -> OrgList {
    let books = app.books.read();
    let mut organizations: Vec<OrgView> = books
        .orgs()
        .filter(|o| caller.is_host_admin() || caller.home_org() == Some(&o.id.key()))
        .filter(|o| access::allows(&caller.principal, &books, &o.id.key(), Need::native(Access::Read)))
        .map(view)
        .collect();
    organizations.sort_by(|a, b| a.id.cmp(&b.id));
    OrgList { organizations }
}

impl HostScope {
    pub async fn create_org(&self, body: CreateOrg) -> ApiResult<OrgView> {
        let org = OrgId::parse(&body.id).map_err(invalid_id)?;
        if org.key().as_str() == "host" {
            return Err(ApiError::bad_request(ErrorCode::InvalidId, "`host` is reserved for the host's own scope"));
        }
        let name = body.name.unwrap_or_else(|| body.id.clone());
        self.app().change(self.caller(), &[Command::CreateOrg { org: org.clone(), name }]).await?;
        let books = self.app().books.read();
        books.org(org.as_str()).map(view).ok_or_else(|| ApiError::internal("created organization is missing"))
    }
}

impl OrgScope {
    pub fn view(&self) -> ApiResult<OrgView> {
        self.app().books.read().org(self.org().as_str()).map(view).ok_or_else(|| self.gone())
    }

    pub async fn rename(&self, name: String) -> ApiResult<OrgView> {
        self.change(&[Command::RenameOrg { org: self.org().clone(), name }]).await?;
        self.view()
    }

    /// Deletes an empty organization (host admin). Its clients, users and their tokens go
    /// with it, in its transaction; this process's token cache follows.
    pub async fn delete(&self) -> ApiResult<()> {
        self.caller().require_host_admin()?;
        self.change(&[Command::DeleteOrg { org: self.org().clone() }]).await?;
        let key = self.org().key();
        self.app().auth.forget(|s| match s {
            Subject::OrgUser { org, .. } | Subject::Client { org, .. } => *org == key,
            Subject::HostAdmin { .. } => false,
        });
        Ok(())
    }
}
