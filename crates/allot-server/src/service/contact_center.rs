//! A contact center's users (the Vonage dialect's): listed with their accounts, and created
//! or changed together with their role license in one plan, all or nothing.

use allot_core::state::Holdings;
use allot_core::{Command, UserId, UserProfile};

use super::OrgScope;
use crate::books::Outcome;
use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

/// A user as the books hold it.
pub struct UserRecord {
    pub id: UserId,
    pub profile: UserProfile,
    pub holdings: Holdings,
}

impl OrgScope {
    /// The users whose profile `keep` accepts, in id order: how many there are, and the
    /// `take` of them after the first `skip`.
    pub fn users_where(
        &self,
        keep: impl Fn(&UserProfile) -> bool,
        skip: usize,
        take: usize,
    ) -> ApiResult<(usize, Vec<UserRecord>)> {
        let books = self.app().books.read();
        let Some(org) = books.org(self.org().as_str()) else { return Err(self.gone()) };
        let mut total = 0;
        let mut page = Vec::new();
        for (id, user) in org.users.iter().filter(|(_, u)| keep(&u.profile)) {
            if total >= skip && page.len() < take {
                page.push(UserRecord {
                    id: id.clone(),
                    profile: user.profile.clone(),
                    holdings: user.holdings.clone(),
                });
            }
            total += 1;
        }
        Ok((total, page))
    }

    /// A user of this organization, or 404.
    pub fn user_record(&self, user: &str) -> ApiResult<UserRecord> {
        let id = self.user_id(user)?;
        let books = self.app().books.read();
        let found = books.org(self.org().as_str()).and_then(|o| o.users.get(&id));
        let found = found.ok_or_else(|| self.missing("user", user))?;
        Ok(UserRecord { id, profile: found.profile.clone(), holdings: found.holdings.clone() })
    }

    /// Applies `commands` (a user's creation or change with its licenses) unless another
    /// user of the organization has `username` as its directory's user name: judged on the books the change is planned
    /// on, so two requests cannot both take one. Answers the plan either way, for the
    /// surface to answer a refusal in its own shapes.
    pub async fn change_user_named(&self, commands: &[Command], user: &UserId, username: &str) -> ApiResult<Outcome> {
        let (org, user, username) = (self.org().clone(), user.clone(), username.to_owned());
        let unique: crate::books::Precondition = Box::new(move |books, _| {
            let taken = books.org(org.as_str()).is_some_and(|o| {
                o.users.iter().any(|(id, u)| {
                    *id != user && u.profile.user_name().is_some_and(|taken| taken.eq_ignore_ascii_case(&username))
                })
            });
            if taken {
                return Err(ApiError::conflict(ErrorCode::AlreadyExists, format!("username `{username}` is taken")));
            }
            Ok(())
        });
        self.app().apply(self.caller(), commands, Vec::new(), unique).await
    }
}
