//! Users of an organization: read in pages, created (with a password, if any), changed,
//! deleted (their tokens revoked).

use std::ops::Bound;

use allot_api::{CreateUser, HeldLicense, PageQuery, UpdateUser, UserPage, UserQuery, UserView};
use allot_core::state::{Holding, Org, Source, User};
use allot_core::{Command, LicenseKey, UserId, UserProfile};
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
        licenses: None,
    }
}

/// The user's view with the licenses they hold, direct and inherited.
fn view_with_licenses(id: &UserId, user: &allot_core::state::User) -> UserView {
    let held = user.holdings.iter().map(|(product, holding)| HeldLicense::new(product, holding)).collect();
    UserView { licenses: Some(held), ..view(id, user) }
}

/// Which users a listing shows: those that pass every filter set.
#[derive(Debug, Default)]
pub struct UserFilter {
    /// A part of the id, name or email, in any case.
    pub search: String,
    /// Holding this license: a code (any capability) or `code:capability`.
    pub license: Option<String>,
    /// Members of this group.
    pub group: Option<String>,
    /// Holding a license (the filtered one, if any) this way.
    pub source: Option<HeldBy>,
    /// Waiting in a group's line for a license.
    pub waiting: bool,
}

/// Where a holding comes from, as the users page filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldBy {
    Direct,
    Group,
    External,
}

impl HeldBy {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "direct" => Some(HeldBy::Direct),
            "group" => Some(HeldBy::Group),
            "external" => Some(HeldBy::External),
            _ => None,
        }
    }

    fn is(self, holding: &Holding) -> bool {
        match self {
            HeldBy::Direct => holding.source == Source::Direct && !holding.external,
            HeldBy::Group => matches!(holding.source, Source::Group(_)),
            HeldBy::External => holding.external,
        }
    }
}

/// Whether `user` waits for a license one of its groups' rules grants (holding no
/// capability of its product), as [`allot_core::state::Org::waiting`] lines them up.
fn waiting(org: &Org, user: &User) -> bool {
    let mut rules = user.groups.keys().filter_map(|g| org.groups.get(g)).flat_map(|g| g.rule.licenses.iter());
    rules.any(|license| !user.holdings.contains_key(&license.product))
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
        self.users_matching(query, &UserFilter::default())
    }

    /// The users a query of the API asks for.
    pub fn users_asked(&self, query: &UserQuery) -> ApiResult<UserPage> {
        let filter = UserFilter {
            search: query.search.clone().unwrap_or_default(),
            license: query.license.clone(),
            group: query.group.clone(),
            ..UserFilter::default()
        };
        match query.licenses {
            true => self.users_with_licenses(&query.page(), &filter),
            false => self.users_matching(&query.page(), &filter),
        }
    }

    /// The users `filter` lets through, in id order, a page at a time; all of them when
    /// it sets nothing. A filter reads the users from the page's start until the page is
    /// full: at worst the whole organization, from memory (a filter that few pass reads it
    /// all: 20-70 ms at 10^6 users, docs/BENCHMARKS.md).
    pub fn users_matching(&self, query: &PageQuery, filter: &UserFilter) -> ApiResult<UserPage> {
        self.listing(query, filter, view)
    }

    /// As [`OrgScope::users_matching`], each user with the licenses they hold.
    pub fn users_with_licenses(&self, query: &PageQuery, filter: &UserFilter) -> ApiResult<UserPage> {
        self.listing(query, filter, view_with_licenses)
    }

    fn listing(
        &self,
        query: &PageQuery,
        filter: &UserFilter,
        view: fn(&UserId, &allot_core::state::User) -> UserView,
    ) -> ApiResult<UserPage> {
        let limit = self.app().page_limit(query.limit)? as usize;
        let after = query.after.as_deref().map(UserId::parse).transpose();
        let after = after.map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, format!("after: {e}")))?;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let books = self.app().books.read();
        let Some(org) = books.org(self.org().as_str()) else { return Err(self.gone()) };
        let license = match filter.license.as_deref() {
            None => None,
            Some(license) => {
                let (code, capability) = license.split_once(':').map_or((license, None), |(c, k)| (c, Some(k)));
                let product = books.catalogue().get(code);
                let capability = match (product, capability) {
                    (Some(product), Some(wanted)) => product.capability(wanted).map(|c| Some(c.code.clone())),
                    (Some(_), None) => Some(None),
                    (None, _) => None,
                };
                // As the history's reads answer a license they do not know.
                let unknown = || {
                    let detail = format!("license: `{license}` is not in the catalogue");
                    ApiError::new(axum::http::StatusCode::NOT_FOUND, ErrorCode::UnknownLicense, detail)
                };
                let (product, capability) = product.zip(capability).ok_or_else(unknown)?;
                Some(LicenseKey { product: product.code.clone(), capability })
            }
        };
        let group = match filter.group.as_deref() {
            None => None,
            Some(group) => Some(self.group_id(group)?),
        };
        let search = filter.search.trim().to_lowercase();
        let matches = |id: &UserId, u: &User| {
            let contains = |text: &str| contains_ignoring_case(text, &search);
            let found = search.is_empty()
                || contains(id.as_str())
                || contains(&u.profile.name)
                || u.profile.email.as_deref().is_some_and(contains);
            let held = |h: &Holding| filter.source.is_none_or(|source| source.is(h));
            let holds = match &license {
                Some(key) => u.holdings.get(&key.product).is_some_and(|h| {
                    key.capability.as_ref().is_none_or(|c| h.capability.as_ref() == Some(c)) && held(h)
                }),
                None => filter.source.is_none() || u.holdings.iter().any(|(_, h)| held(h)),
            };
            let member = group.as_ref().is_none_or(|g| u.groups.contains_key(g));
            let waits = !filter.waiting || waiting(org, u);
            found && holds && member && waits
        };
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
    pub(super) fn forget(&self, user: &UserId) {
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
