//! The books and the store's dates, as UiPath's identity DTOs answer them.

use allot_api::rfc3339;
use allot_core::state::{Group, Org, User};
use allot_core::{OrgId, Timestamp, UserId, UserProfile};

use super::shapes::{DirectoryUser, GroupDto, GroupType, UserDto};
use crate::compat::uipath::ids::group_uuid;
use crate::service::{Lifetime, Lifetimes};

/// The dates of something the store has no row for (deleted since the books were read).
const UNDATED: (Timestamp, Option<Timestamp>) = (0, None);

fn dates(lifetime: Option<&Lifetime>) -> (String, Option<String>) {
    let (created, modified) = lifetime.map_or(UNDATED, |l| (l.created, l.modified));
    (rfc3339(created), modified.map(rfc3339))
}

/// The user's name for logging in: the directory's, else the id (allot's login name).
pub fn login_name<'a>(id: &'a UserId, profile: &'a UserProfile) -> &'a str {
    profile.directory.as_deref().and_then(|d| d.user_name.as_deref()).unwrap_or(id.as_str())
}

fn user_name(id: &UserId, profile: &UserProfile) -> String {
    login_name(id, profile).to_owned()
}

pub fn group_dto(org: &Org, group: &Group, lifetimes: &Lifetimes, with_members: bool) -> GroupDto {
    let (creation_time, last_modification_time) = dates(lifetimes.groups.get(&group.id));
    let members = with_members.then(|| {
        let users = group.members.values().filter_map(|id| org.users.get_key_value(id));
        users.map(|(id, user)| member(id, user, lifetimes)).collect()
    });
    GroupDto {
        id: group_uuid(&org.id, &group.id),
        name: Some(group.name.clone()),
        display_name: Some(group.name.clone()),
        kind: GroupType::Custom,
        creation_time,
        last_modification_time,
        members,
    }
}

fn member(id: &UserId, user: &User, lifetimes: &Lifetimes) -> DirectoryUser {
    let profile = &user.profile;
    let directory = profile.directory.as_deref();
    let attributes = directory.map(|d| d.attributes.clone()).filter(|a| !a.is_empty());
    DirectoryUser {
        object_type: "DirectoryUser",
        // UiPath's word for users of its own directory, as opposed to AD or Azure AD ones.
        source: Some("local"),
        identifier: Some(id.to_string()),
        name: Some(user_name(id, profile)),
        email: profile.email.as_deref().map(str::to_owned),
        display_name: Some(profile.display_name()),
        first_name: Some(profile.name.clone()),
        last_name: profile.surname().map(str::to_owned),
        job_title: None,
        company_name: None,
        city: None,
        department: None,
        extension_user_attributes: attributes,
        external_id: None,
        creation_time: dates(lifetimes.users.get(id)).0,
    }
}

pub fn user_dto(org: &OrgId, id: &UserId, user: &User, lifetimes: &Lifetimes) -> UserDto {
    let profile = &user.profile;
    let directory = profile.directory.as_deref();
    let (creation_time, last_modification_time) = dates(lifetimes.users.get(id));
    UserDto {
        id: id.to_string(),
        user_name: Some(user_name(id, profile)),
        email: profile.email.as_deref().map(str::to_owned),
        // allot sends no confirmation mails, so no address is confirmed.
        email_confirmed: false,
        name: Some(profile.name.clone()),
        surname: profile.surname().map(str::to_owned),
        display_name: Some(profile.display_name()),
        creation_time,
        last_modification_time,
        // Logins are not in the ledger.
        last_login_time: None,
        group_ids: Some(user.groups.keys().map(|group| group_uuid(org, group)).collect()),
        legacy_id: directory.and_then(|d| d.legacy_id).unwrap_or_default(),
        is_active: profile.is_active(),
        bypass_basic_auth_restriction: directory.is_some_and(|d| d.bypass_basic_auth_restriction),
        kind: "user",
        invitation_accepted: directory.is_some_and(|d| d.invitation_accepted),
    }
}
