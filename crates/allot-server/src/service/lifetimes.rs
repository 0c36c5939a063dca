//! When users and groups were made and last modified, as the store keeps them with every
//! change (see `Dates` in allot-store's writes.rs): read for the ids an answer shows,
//! never for the whole organization.

use std::collections::HashMap;

use allot_core::{GroupId, UserId};
pub use allot_store::Lifetime;
use allot_store::Store;

use super::OrgScope;
use crate::error::ApiResult;

/// The dates of some of an organization's users and groups; ids the store has no row for
/// (deleted since) are left out.
#[derive(Debug, Default)]
pub struct Lifetimes {
    pub users: HashMap<UserId, Lifetime>,
    pub groups: HashMap<GroupId, Lifetime>,
}

impl OrgScope {
    /// When `users` and `groups` of the organization were made and last modified.
    pub async fn lifetimes(&self, users: &[UserId], groups: &[GroupId]) -> ApiResult<Lifetimes> {
        let (store, org) = (&self.app().store, self.org().key());
        let users = store.user_lifetimes(&org, users).await?;
        let groups = store.group_lifetimes(&org, groups).await?;
        Ok(Lifetimes { users, groups })
    }
}
