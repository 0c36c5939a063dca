//! Host administrators (added, removed, never the last, their passwords set), and lifting
//! a lockout of the login throttle.

use allot_api::{AdminList, AdminView, CreateAdmin, ErrorCode};
use allot_core::UserId;
use allot_store::{Store, Subject};

use super::{HostScope, OrgScope};
use crate::api::invalid_id;
use crate::auth::{HOST_REALM, password};
use crate::error::{ApiError, ApiResult};

/// The administrator `serve` creates on a first start, whose one-time password is in
/// `<data_dir>/admin-password` until it is changed.
pub const BOOTSTRAP_ADMIN: &str = "admin";

/// Deletes the one-time password file once the bootstrap administrator's password has
/// changed (or the administrator is gone): the password it holds no longer works.
pub fn forget_bootstrap_password(data_dir: &std::path::Path, admin: &str) {
    if admin != BOOTSTRAP_ADMIN {
        return;
    }
    let file = data_dir.join("admin-password");
    match std::fs::remove_file(&file) {
        Ok(()) => tracing::info!(file = %file.display(), "deleted the one-time password file"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => tracing::warn!(%error, file = %file.display(), "cannot delete the one-time password file"),
    }
}

impl HostScope {
    /// `admin`, if it is a host administrator, or 404.
    async fn admin(&self, admin: &str) -> ApiResult<()> {
        match self.app().store.password_hash(HOST_REALM, admin).await? {
            Some(_) => Ok(()),
            None => Err(ApiError::not_found(format!("host administrator `{admin}` does not exist"))),
        }
    }

    pub async fn admins(&self) -> ApiResult<AdminList> {
        let names = self.app().store.host_admins().await?;
        Ok(AdminList { admins: names.into_iter().map(|name| AdminView { name }).collect() })
    }

    pub async fn create_admin(&self, body: CreateAdmin) -> ApiResult<AdminView> {
        let name = UserId::parse(&body.name).map_err(invalid_id)?;
        password::check_strength(&body.password)?;
        let hash = self.app().auth.passwords.hash(&body.password).await?;
        self.app().store.create_host_admin(name.as_str(), &hash).await?;
        Ok(AdminView { name: name.to_string() })
    }

    /// Removes a host administrator with its tokens; never the last one.
    pub async fn delete_admin(&self, admin: &str) -> ApiResult<()> {
        self.admin(admin).await?;
        if !self.app().store.delete_host_admin(admin).await? {
            return Err(ApiError::conflict(
                ErrorCode::LastHostAdmin,
                format!("`{admin}` is the last host administrator; add another before removing it"),
            ));
        }
        let removed = Subject::HostAdmin { username: admin.to_owned() };
        self.app().auth.forget(|s| *s == removed);
        forget_bootstrap_password(&self.app().config.data_dir, admin);
        Ok(())
    }

    /// Sets a host administrator's password; the store revokes its tokens with it.
    pub async fn set_admin_password(&self, admin: &str, new: &str) -> ApiResult<()> {
        self.admin(admin).await?;
        password::check_strength(new)?;
        let hash = self.app().auth.passwords.hash(new).await?;
        self.app().store.set_password_hash(HOST_REALM, admin, &hash).await?;
        let changed = Subject::HostAdmin { username: admin.to_owned() };
        self.app().auth.forget(|s| *s == changed);
        forget_bootstrap_password(&self.app().config.data_dir, admin);
        Ok(())
    }

    /// Lifts every lockout and delay of a host administrator's logins.
    pub async fn unlock_admin(&self, admin: &str) -> ApiResult<()> {
        self.admin(admin).await?;
        self.app().store.lift_lockout(HOST_REALM, admin).await?;
        Ok(())
    }
}

impl OrgScope {
    /// Lifts every lockout and delay of a user's logins.
    pub async fn unlock_user(&self, user: &str) -> ApiResult<()> {
        let user = self.user_id(user)?;
        self.app().store.lift_lockout(self.org().key().as_str(), user.as_str()).await?;
        Ok(())
    }
}
