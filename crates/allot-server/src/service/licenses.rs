//! Holdings: a user's effective licenses and where each comes from, the direct set, the
//! check ("does X hold Y?", answered from memory), and group rules.

use allot_api::{GroupRule, GroupRuleView, HeldLicense, LicenseSpec, PlanChange, UserLicenses, Via, Waiting};
use allot_core::state::Holdings;
use allot_core::{Capability, Command, DirectLicense, GroupId, ProductCode, Rule, State, Timestamp, UserId};

use super::OrgScope;
use super::etag::{IfMatch, Resource, Tagged};
use crate::api::dto::parse_time;
use crate::api::license_key;
use crate::error::{ApiError, ApiResult};

/// A direct license from its request shape; `field` names it in errors.
pub(crate) fn direct(spec: &LicenseSpec, field: &str) -> ApiResult<DirectLicense> {
    Ok(DirectLicense {
        license: license_key(&spec.license, &format!("{field}.license"))?,
        external: spec.external,
        valid_from: parse_time(&format!("{field}.valid_from"), spec.valid_from.as_deref())?,
        valid_until: parse_time(&format!("{field}.valid_until"), spec.valid_until.as_deref())?,
    })
}

/// A user's licenses and waiting places in `books` (now, or replayed to a past moment).
pub(crate) fn user_licenses_in(books: &State, org: &str, user: &UserId) -> UserLicenses {
    let Some(o) = books.org(org) else {
        return UserLicenses { user: user.to_string(), licenses: vec![], waiting: vec![], revision: books.revision() };
    };
    let licenses =
        o.users.get(user).map(|u| u.holdings.iter().map(|(p, h)| HeldLicense::new(p, h)).collect()).unwrap_or_default();
    let mut waiting = Vec::new();
    if let Some(u) = o.users.get(user) {
        let rule_licenses = u.groups.keys().filter_map(|g| o.groups.get(g)).flat_map(|g| g.rule.licenses.iter());
        for license in rule_licenses.collect::<std::collections::BTreeSet<_>>() {
            let line = o.waiting(license);
            if let Some(position) = line.iter().position(|(_, id, ..)| *id == user) {
                waiting.push(Waiting {
                    license: license.to_string(),
                    group: line[position].2.to_string(),
                    position: position + 1,
                });
            }
        }
    }
    UserLicenses { user: user.to_string(), licenses, waiting, revision: books.revision() }
}

impl OrgScope {
    /// A user's licenses now, or as they stood at `as_of` (replayed from the ledger).
    pub async fn user_licenses(&self, user: &str, as_of: Option<Timestamp>) -> ApiResult<Tagged<UserLicenses>> {
        let org = self.org().to_string();
        if let Some(as_of) = as_of {
            let books = self.books_at(as_of).await?;
            let id = UserId::parse(user).ok().filter(|id| books.org(&org).is_some_and(|o| o.users.contains_key(id)));
            let id = id.ok_or_else(|| ApiError::not_found(format!("user `{user}` did not exist then")))?;
            let etag = Resource::DirectLicenses { org: org.clone(), user: id.clone() }.etag(&books);
            return Ok(Tagged(etag, user_licenses_in(&books, &org, &id)));
        }
        let user = self.user_id(user)?;
        let books = self.app().books.read();
        let etag = Resource::DirectLicenses { org: org.clone(), user: user.clone() }.etag(&books);
        Ok(Tagged(etag, user_licenses_in(&books, &org, &user)))
    }

    /// Sets a user's direct licenses to exactly `licenses`; inherited ones are untouched.
    pub async fn set_user_licenses(
        &self,
        user: &str,
        licenses: &[LicenseSpec],
        if_match: &IfMatch,
    ) -> ApiResult<Tagged<UserLicenses>> {
        let user_id = self.user_id(user)?;
        self.app().check_items(licenses.len())?;
        let licenses =
            licenses.iter().enumerate().map(|(i, l)| direct(l, &format!("licenses[{i}]"))).collect::<ApiResult<_>>()?;
        let resource = Resource::DirectLicenses { org: self.org().to_string(), user: user_id.clone() };
        let command = Command::SetDirectLicenses { org: self.org().clone(), user: user_id, licenses };
        self.change_if(&[command], if_match, &resource).await?;
        self.user_licenses(user, None).await
    }

    /// A group's rule: the licenses its members inherit.
    pub fn group_rule(&self, group: &str) -> ApiResult<Tagged<GroupRuleView>> {
        let group = self.group_id(group)?;
        let books = self.app().books.read();
        let etag = Resource::GroupRule { org: self.org().to_string(), group: group.clone() }.etag(&books);
        Ok(Tagged(etag, self.rule_view(&books, &group)))
    }

    /// Sets a group's rule. Members inherit first come, first served; those beyond the
    /// pool wait in order of joining.
    pub async fn set_group_rule(
        &self,
        group: &str,
        body: &GroupRule,
        if_match: &IfMatch,
    ) -> ApiResult<Tagged<GroupRuleView>> {
        let group_id = self.group_id(group)?;
        self.app().check_items(body.licenses.len())?;
        let licenses = body
            .licenses
            .iter()
            .enumerate()
            .map(|(i, l)| license_key(l, &format!("licenses[{i}]")))
            .collect::<ApiResult<_>>()?;
        let rule = Rule { licenses, external: body.use_external_license };
        let resource = Resource::GroupRule { org: self.org().to_string(), group: group_id.clone() };
        self.change_if(
            &[Command::SetGroupRule { org: self.org().clone(), group: group_id, rule }],
            if_match,
            &resource,
        )
        .await?;
        self.group_rule(group)
    }

    /// What `user` holds now, by product; nothing for a user not in the books.
    /// The plan changes that give each of `users` the direct license `license` too (when
    /// `give`), or take away their direct license of its product, leaving their other
    /// direct licenses as they are: a bulk assignment, as the console's users page asks.
    pub fn direct_license_changes(&self, users: &[String], license: &str, give: bool) -> ApiResult<Vec<PlanChange>> {
        if users.is_empty() {
            return Err(ApiError::bad_request(allot_api::ErrorCode::InvalidBody, "select at least one user"));
        }
        self.app().check_items(users.len())?;
        let wanted = license_key(license, "license")?;
        let books = self.app().books.read();
        let (wanted, _) = books.catalogue().resolve(&wanted).map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                allot_api::ErrorCode::UnknownLicense,
                format!("license: {e}"),
            )
        })?;
        let other_product = |held: &HeldLicense| {
            allot_core::LicenseKey::parse(&held.license).map_or(true, |key| key.product != wanted.product)
        };
        users
            .iter()
            .map(|user| {
                let id = self.user_id(user)?;
                let held = user_licenses_in(&books, self.org().as_str(), &id).licenses;
                let kept = held.into_iter().filter(|h| h.source == Via::Direct && other_product(h));
                let mut licenses: Vec<LicenseSpec> = kept
                    .map(|h| LicenseSpec {
                        license: h.license,
                        external: h.external,
                        valid_from: h.valid_from,
                        valid_until: h.valid_until,
                    })
                    .collect();
                if give {
                    let license = wanted.to_string();
                    licenses.push(LicenseSpec { license, external: false, valid_from: None, valid_until: None });
                }
                Ok(PlanChange::SetUserLicenses { users: vec![id.to_string()], licenses })
            })
            .collect()
    }

    pub fn holdings(&self, user: &UserId) -> Holdings {
        let books = self.app().books.read();
        let user = books.org(self.org().as_str()).and_then(|o| o.users.get(user));
        user.map(|u| u.holdings.clone()).unwrap_or_default()
    }

    /// How many users hold `product` at `capability` (`None`: hold none of it).
    pub fn holder_count(&self, product: &ProductCode, capability: Option<&Capability>) -> usize {
        let books = self.app().books.read();
        let Some(o) = books.org(self.org().as_str()) else { return 0 };
        o.users
            .values()
            .filter(|u| match (u.holdings.get(product), capability) {
                (Some(holding), Some(wanted)) => holding.capability.as_ref() == Some(wanted),
                (None, None) => true,
                _ => false,
            })
            .count()
    }

    fn rule_view(&self, books: &State, group: &GroupId) -> GroupRuleView {
        let rule = books.org(self.org().as_str()).and_then(|o| o.groups.get(group)).map(|g| g.rule.clone());
        let rule = rule.unwrap_or_default();
        GroupRuleView {
            group: group.to_string(),
            licenses: rule.licenses.iter().map(ToString::to_string).collect(),
            use_external_license: rule.external,
            revision: books.revision(),
        }
    }
}
