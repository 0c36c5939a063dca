//! Groups and their members.

use std::ops::Bound;

use allot_api::{CreateGroup, ErrorCode, GroupList, GroupView, MemberList, MemberView, PageQuery};
use allot_core::{Command, GroupId, UserId};

use super::OrgScope;
use crate::api::invalid_id;
use crate::error::{ApiError, ApiResult};

fn view(group: &allot_core::state::Group) -> GroupView {
    GroupView {
        id: group.id.to_string(),
        name: group.name.clone(),
        members: group.members.len(),
        licenses: group.rule.licenses.iter().map(ToString::to_string).collect(),
        use_external_license: group.rule.external,
    }
}

/// A group's waiting line: how many of its members wait, and the first in line with the
/// license they wait for.
pub struct WaitingLine {
    pub group: String,
    pub name: String,
    pub waiting: usize,
    pub first: (String, String),
}

/// A page of groups, and the id to ask the next one after, if there is more.
pub struct GroupPage {
    pub groups: Vec<GroupView>,
    pub next: Option<String>,
}

impl OrgScope {
    /// Groups whose id or name contains `search` (in any case), in id order, a page at a
    /// time; all of them when `search` is empty.
    pub fn groups_matching(&self, query: &PageQuery, search: &str) -> ApiResult<GroupPage> {
        let limit = self.app().page_limit(query.limit)? as usize;
        let after = query.after.as_deref().map(GroupId::parse).transpose();
        let after = after.map_err(|e| ApiError::bad_request(ErrorCode::InvalidQuery, format!("after: {e}")))?;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let search = search.trim().to_lowercase();
        let matches = |g: &allot_core::state::Group| {
            search.is_empty()
                || g.id.as_str().to_lowercase().contains(&search)
                || g.name.to_lowercase().contains(&search)
        };
        let books = self.app().books.read();
        let org = books.org(self.org().as_str()).ok_or_else(|| self.gone())?;
        let mut groups: Vec<GroupView> = org
            .groups
            .range((from, Bound::Unbounded))
            .map(|(_, g)| g)
            .filter(|g| matches(g))
            .take(limit + 1)
            .map(view)
            .collect();
        let next = (groups.len() > limit).then(|| {
            groups.truncate(limit);
            groups.last().map(|g| g.id.clone()).unwrap_or_default()
        });
        Ok(GroupPage { groups, next })
    }

    pub fn groups(&self) -> ApiResult<GroupList> {
        let books = self.app().books.read();
        let org = books.org(self.org().as_str()).ok_or_else(|| self.gone())?;
        Ok(GroupList { groups: org.groups.values().map(view).collect() })
    }

    /// A group, or 404.
    pub fn group(&self, group: &str) -> ApiResult<GroupView> {
        let books = self.app().books.read();
        let found = books.org(self.org().as_str()).and_then(|o| o.groups.get(&GroupId::parse(group).ok()?).map(view));
        found.ok_or_else(|| self.missing("group", group))
    }

    pub async fn create_group(&self, body: CreateGroup) -> ApiResult<GroupView> {
        let group = GroupId::parse(&body.id).map_err(invalid_id)?;
        let name = body.name.unwrap_or_else(|| body.id.clone());
        self.change(&[Command::CreateGroup { org: self.org().clone(), group: group.clone(), name }]).await?;
        self.group(group.as_str())
    }

    /// Deletes a group: members lose what they inherited from it.
    pub async fn delete_group(&self, group: &str) -> ApiResult<()> {
        let group = self.group_id(group)?;
        self.change(&[Command::DeleteGroup { org: self.org().clone(), group }]).await.map(drop)
    }

    /// Members in order of joining.
    pub fn members(&self, group: &str) -> ApiResult<MemberList> {
        let group = self.group_id(group)?;
        let books = self.app().books.read();
        let members = books.org(self.org().as_str()).and_then(|o| o.groups.get(&group)).map(|g| {
            g.members.values().enumerate().map(|(i, u)| MemberView { user: u.to_string(), position: i + 1 }).collect()
        });
        Ok(MemberList { members: members.unwrap_or_default() })
    }

    /// Every group whose members wait for one of its rule's licenses, in group order.
    /// Each license's line is made once, not once per group.
    pub fn waiting_lines(&self) -> ApiResult<Vec<WaitingLine>> {
        let books = self.app().books.read();
        let Some(org) = books.org(self.org().as_str()) else { return Err(self.gone()) };
        let mut licenses: Vec<&allot_core::LicenseKey> =
            org.groups.values().flat_map(|g| g.rule.licenses.iter()).collect();
        licenses.sort();
        licenses.dedup();
        // By group: (sequence of joining, user, license) of each member waiting.
        let mut lines: std::collections::BTreeMap<&GroupId, Vec<(u64, &UserId, &allot_core::LicenseKey)>> =
            std::collections::BTreeMap::new();
        for license in licenses {
            for (seq, user, group, _) in org.waiting(license) {
                lines.entry(group).or_default().push((seq, user, license));
            }
        }
        let lines = lines.into_iter().filter_map(|(group, mut line)| {
            line.sort();
            let name = org.groups.get(group).map(|g| g.name.clone()).unwrap_or_default();
            let (_, user, license) = line.first()?;
            let first = (user.to_string(), license.to_string());
            Some(WaitingLine { group: group.to_string(), name, waiting: line.len(), first })
        });
        Ok(lines.collect())
    }

    /// The group's members waiting for one of its rule's licenses (no unit was free), as
    /// (user, license), first served first.
    pub fn group_waiting(&self, group: &str) -> ApiResult<Vec<(String, String)>> {
        let group = self.group_id(group)?;
        let books = self.app().books.read();
        let Some(org) = books.org(self.org().as_str()) else { return Err(self.gone()) };
        let Some(found) = org.groups.get(&group) else { return Err(self.missing("group", group.as_str())) };
        let mut waiting: Vec<(u64, String, String)> = found
            .rule
            .licenses
            .iter()
            .flat_map(|license| {
                let line = org.waiting(license).into_iter().filter(|(_, _, g, _)| **g == group);
                line.map(|(seq, user, _, _)| (seq, user.to_string(), license.to_string())).collect::<Vec<_>>()
            })
            .collect();
        waiting.sort();
        Ok(waiting.into_iter().map(|(_, user, license)| (user, license)).collect())
    }

    /// Adds a member, who inherits the group's licenses if units are free, else waits in order.
    pub async fn add_member(&self, group: &str, user: &str) -> ApiResult<MemberList> {
        let (group_id, user) = (self.group_id(group)?, self.user_id(user)?);
        self.change(&[Command::AddMember { org: self.org().clone(), group: group_id, user }]).await?;
        self.members(group)
    }

    /// Makes `wanted` the group's members: those not in it leave, the others join in order.
    pub async fn replace_members(&self, group: &str, wanted: Vec<UserId>) -> ApiResult<MemberList> {
        let (org, group_id) = (self.org().clone(), self.group_id(group)?);
        self.change_current(move |books| {
            let current: Vec<UserId> = books
                .org(org.as_str())
                .and_then(|o| o.groups.get(&group_id))
                .map(|g| g.members.values().cloned().collect())
                .unwrap_or_default();
            let (org, group) = (&org, &group_id);
            let leave = current.iter().filter(|u| !wanted.contains(u));
            let join = wanted.iter().filter(|u| !current.contains(u));
            let mut commands: Vec<Command> = leave
                .map(|user| Command::RemoveMember { org: org.clone(), group: group.clone(), user: user.clone() })
                .collect();
            commands.extend(join.map(|user| Command::AddMember {
                org: org.clone(),
                group: group.clone(),
                user: user.clone(),
            }));
            Ok(commands)
        })
        .await?;
        self.members(group)
    }

    /// One change to a group, all or nothing: renamed (when `name` is given), `leave`
    /// leave (those who are not members change nothing), then `join` join in order.
    pub async fn edit_group(
        &self,
        group: &str,
        name: Option<String>,
        join: Vec<UserId>,
        leave: Vec<UserId>,
    ) -> ApiResult<()> {
        let (org, group_id) = (self.org().clone(), self.group_id(group)?);
        self.change_current(move |books| {
            let members = books.org(org.as_str()).and_then(|o| o.groups.get(&group_id)).map(|g| &g.members);
            let is_member = |user: &UserId| members.is_some_and(|m| m.values().any(|u| u == user));
            let (org, group) = (&org, &group_id);
            let renamed = name.iter().map(|name| Command::RenameGroup {
                org: org.clone(),
                group: group.clone(),
                name: name.clone(),
            });
            let leaving = leave.iter().filter(|user| is_member(user)).cloned();
            let leaving = leaving.map(|user| Command::RemoveMember { org: org.clone(), group: group.clone(), user });
            let joining =
                join.iter().cloned().map(|user| Command::AddMember { org: org.clone(), group: group.clone(), user });
            Ok(renamed.chain(leaving).chain(joining).collect())
        })
        .await?;
        Ok(())
    }

    pub async fn remove_member(&self, group: &str, user: &str) -> ApiResult<()> {
        let (group, user) = (self.group_id(group)?, self.user_id(user)?);
        self.change(&[Command::RemoveMember { org: self.org().clone(), group, user }]).await.map(drop)
    }
}
