//! Host administrators, and lifting a lockout of the login throttle.

use allot_store::Store;

use super::{HostScope, OrgScope};
use crate::auth::HOST_REALM;
use crate::error::{ApiError, ApiResult};

impl HostScope {
    /// `admin`, if it is a host administrator, or 404.
    async fn admin(&self, admin: &str) -> ApiResult<()> {
        match self.app().store.password_hash(HOST_REALM, admin).await? {
            Some(_) => Ok(()),
            None => Err(ApiError::not_found(format!("host administrator `{admin}` does not exist"))),
        }
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
