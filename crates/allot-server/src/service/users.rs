//! Users of an organization: read in pages, created (with a password, if any), changed,
//! deleted (their tokens revoked).

use std::ops::Bound;

use allot_api::{CreateUser, PageQuery, UpdateUser, UserPage, UserView};
use allot_core::{Command, UserId, UserProfile};
use allot_store::{SideWrite, Store, Subject};

use super::OrgScope;
use crate::api::invalid_id;
use crate::auth::{ClientAddr, LoginFailure, password};
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

fn view(id: &UserId, user: &allot_core::state::User) -> UserView {
    UserView {
        id: id.to_string(),
        name: user.profile.name.clone(),
        email: user.profile.email.as_deref().map(str::to_owned),
        role: user.profile.role.into(),
        groups: user.groups.keys().map(ToString::to_string).collect(),
    }
}

/// Whether `text` contains `lower` (lower case) in any case; without allocating when both
/// are ASCII, as ids and most names and addresses are.
fn contains_ignoring_case(text: &str, lower: &str) -> bool {
    if text.is_ascii() && lower.is_ascii() {
        let (text, lower) = (text.as_bytes(), lower.as_bytes());
        return lower.is_empty() || text.windows(lower.len()).any(|w| w.eq_ignore_ascii_case(lower));
    }
    text.to_lowercase().contains(lower)
}

impl OrgScope {
    /// Users in id order, a page at a time.
    pub fn users(&self, query: &PageQuery) -> ApiResult<UserPage> {
        self.users_matching(query, "")
    }

    /// Users whose id, name or email contains `search` (in any case), in id order, a page
    /// at a time; all of them when `search` is empty. A search reads the users from the
    /// page's start until the page is full: at worst the whole organization, from memory.
    pub fn users_matching(&self, query: &PageQuery, search: &str) -> ApiResult<UserPage> {
        let limit = self.app().page_limit(query.limit)? as usize;
        let search = search.trim().to_lowercase();
        let matches = |id: &UserId, u: &allot_core::state::User| {
            let contains = |text: &str| contains_ignoring_case(text, &search);
            search.is_empty()
                || contains(id.as_str())
                || contains(&u.profile.name)
                || u.profile.email.as_deref().is_some_and(contains)
        };
        let after = query.after.as_deref().map(UserId::parse).transpose();
        let after = after.map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, format!("after: {e}")))?;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let books = self.app().books.read();
        let Some(org) = books.org(self.org().as_str()) else { return Err(self.gone()) };
        let mut users: Vec<UserView> = org
            .users
            .range((from, Bound::Unbounded))
            .filter(|(id, u)| matches(id, u))
            .take(limit + 1)
            .map(|(id, u)| view(id, u))
            .collect();
        let next = (users.len() > limit).then(|| {
            users.truncate(limit);
            users.last().map(|u| u.id.clone()).unwrap_or_default()
        });
        Ok(UserPage { users, next })
    }

    /// A user, or 404.
    pub fn user(&self, user: &str) -> ApiResult<UserView> {
        let books = self.app().books.read();
        let found = books.org(self.org().as_str()).and_then(|o| {
            let id = UserId::parse(user).ok()?;
            o.users.get_key_value(&id).map(|(id, u)| view(id, u))
        });
        found.ok_or_else(|| self.missing("user", user))
    }

    pub async fn create_user(&self, body: CreateUser) -> ApiResult<UserView> {
        let user = UserId::parse(&body.id).map_err(invalid_id)?;
        // Hash first; the hash is written with the user, in one transaction: both or neither.
        let side = match &body.password {
            Some(password) => vec![self.password_write(&user, password).await?],
            None => Vec::new(),
        };
        let profile = UserProfile {
            name: body.name.unwrap_or_else(|| body.id.clone()),
            email: body.email.map(Into::into),
            role: body.role.unwrap_or_default().into(),
            directory: None,
        };
        let command = Command::CreateUser { org: self.org().clone(), user: user.clone(), profile };
        self.change_with(&[command], side).await?;
        self.user(user.as_str())
    }

    /// Changes a user's name, email or role; fields left out stay as they are.
    pub async fn update_user(&self, user: &str, body: UpdateUser) -> ApiResult<UserView> {
        let user = self.user_id(user)?;
        let current = {
            let books = self.app().books.read();
            books.org(self.org().as_str()).and_then(|o| o.users.get(&user).map(|u| u.profile.clone()))
        };
        let current = current.unwrap_or_default();
        let profile = UserProfile {
            name: body.name.unwrap_or(current.name),
            email: body.email.map(Into::into).or(current.email),
            role: body.role.map_or(current.role, Into::into),
            directory: current.directory,
        };
        self.change(&[Command::UpdateUser { org: self.org().clone(), user: user.clone(), profile }]).await?;
        self.user(user.as_str())
    }

    /// Deletes a user: their licenses return to the pools, and the deletion revokes their
    /// tokens in the store, in its transaction.
    pub async fn delete_user(&self, user: &str) -> ApiResult<()> {
        let user = self.user_id(user)?;
        self.change(&[Command::DeleteUser { org: self.org().clone(), user: user.clone() }]).await?;
        self.forget(&user);
        Ok(())
    }

    /// Deletes users all or nothing, as [`OrgScope::delete_user`] deletes one.
    pub async fn delete_users(&self, users: &[UserId]) -> ApiResult<()> {
        let org = self.org();
        let commands: Vec<Command> =
            users.iter().map(|user| Command::DeleteUser { org: org.clone(), user: user.clone() }).collect();
        self.change(&commands).await?;
        users.iter().for_each(|user| self.forget(user));
        Ok(())
    }

    /// Sets a user's password, so a reader or admin can log in; the store revokes whatever
    /// tokens the old one gave, refresh tokens included, with it.
    pub async fn set_password(&self, user: &str, password: &str) -> ApiResult<()> {
        let user = self.user_id(user)?;
        password::check_strength(password)?;
        let hash = self.app().auth.passwords.hash(password).await?;
        self.app().store.set_password_hash(self.org().key().as_str(), user.as_str(), &hash).await?;
        self.forget(&user);
        Ok(())
    }

    /// The write that gives `user` the password `password`, once it is found strong enough:
    /// to commit with the change that creates the user.
    pub async fn password_write(&self, user: &UserId, password: &str) -> ApiResult<SideWrite> {
        password::check_strength(password)?;
        let hash = self.app().auth.passwords.hash(password).await?;
        Ok(SideWrite::Password { realm: self.org().key().to_string(), username: user.to_string(), hash })
    }

    /// Whether `password` is `user`'s password, checked (and throttled) like a login.
    pub async fn is_password(&self, user: &str, password: &str, addr: ClientAddr) -> ApiResult<bool> {
        let user = self.user_id(user)?;
        let (app, realm) = (self.app(), self.org().key());
        match app
            .auth
            .check_password(&app.store, realm.as_str(), user.as_str(), password, addr.0, app.clock.now())
            .await
        {
            Ok(()) => Ok(true),
            Err(LoginFailure::BadCredentials | LoginFailure::Refused(_)) => Ok(false),
            Err(LoginFailure::Throttled(seconds)) => {
                Err(ApiError::too_many(format!("too many failed attempts; try again in {seconds} seconds"), seconds))
            }
            Err(LoginFailure::Error(error)) => Err(error),
        }
    }

    /// This process's token cache follows a revocation the store made.
    fn forget(&self, user: &UserId) {
        let revoked = Subject::OrgUser { org: self.org().key(), user: user.to_string() };
        self.app().auth.forget(|s| *s == revoked);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn contains_ignoring_case_finds_a_part_in_any_case() {
        use super::contains_ignoring_case as contains;
        assert!(contains("Ana.Okafor@Example.com", "okafor@ex"));
        assert!(contains("u123", ""));
        assert!(!contains("u12", "u123"));
        assert!(contains("Zoë Müller", "müll"));
        assert!(!contains("Zoë Müller", "mull"));
    }
}
