//! UiPath's views of an organization's books: what a user holds directly (its "explicit
//! allocation"), what it inherits from each group, and a group's allocation.

use std::collections::{BTreeMap, BTreeSet};

use allot_core::state::{Group, Org, User};
use allot_core::{GroupId, Source, UserId};

use super::shapes::{ExplicitAllocation, GroupAllocation, GroupInheritance, MemberAllocation};

/// The codes `user` holds from `source`, as the catalogue spells them.
pub fn codes_from(user: &User, source: &Source) -> Vec<String> {
    user.holdings.iter().filter(|(_, h)| h.source == *source).map(|(p, h)| h.license(p).to_string()).collect()
}

/// Whether `user` holds something directly (UiPath: has an explicit allocation).
pub fn has_direct(user: &User) -> bool {
    user.holdings.iter().any(|(_, h)| h.source == Source::Direct)
}

/// A user's explicit allocation: its direct holdings.
pub fn explicit(id: &UserId, user: &User) -> ExplicitAllocation {
    let direct: Vec<_> = user.holdings.iter().filter(|(_, h)| h.source == Source::Direct).collect();
    ExplicitAllocation {
        id: id.to_string(),
        email: user.profile.email.as_deref().map(str::to_owned),
        name: Some(user.profile.name.clone()),
        surname: user.profile.surname().map(str::to_owned),
        // allot records holdings, not their use: a license's last use is unknown.
        last_in_use: None,
        user_bundle_licenses: codes_from(user, &Source::Direct),
        // A direct set is external as a whole (U sets one flag for all its codes).
        use_external_license: !direct.is_empty() && direct.iter().all(|(_, h)| h.external),
        // Deleting a user releases its holdings, so allot never keeps an orphan's.
        orphan: false,
    }
}

/// A member of a group and what it holds through that group.
pub fn member(id: &UserId, user: &User, group: &GroupId) -> MemberAllocation {
    MemberAllocation {
        id: id.to_string(),
        email: user.profile.email.as_deref().map(str::to_owned),
        name: Some(user.profile.name.clone()),
        surname: user.profile.surname().map(str::to_owned),
        display_name: Some(user.profile.display_name()),
        last_in_use: None,
        user_bundle_licenses: codes_from(user, &Source::Group(group.clone())),
        orphan: false,
    }
}

/// A group's rule as an allocation; `userBundleLeases` counts the members holding each
/// code through it.
pub fn group_allocation(org: &Org, group: &Group) -> GroupAllocation {
    let source = Source::Group(group.id.clone());
    let mut leases: BTreeMap<String, i64> = group.rule.licenses.iter().map(|l| (l.to_string(), 0)).collect();
    for user in group.members.values().filter_map(|id| org.users.get(id)) {
        for code in codes_from(user, &source) {
            *leases.entry(code).or_default() += 1;
        }
    }
    GroupAllocation {
        id: group.id.to_string(),
        name: Some(group.name.clone()),
        user_bundle_licenses: group.rule.licenses.iter().map(ToString::to_string).collect(),
        user_bundle_leases: leases,
        use_external_license: group.rule.external,
        // A group's deletion deletes its rule: allot keeps no orphaned rules.
        orphan: false,
    }
}

/// A group's rule as `UserExplicitAllocationDto`, which UiPath answers for a group too.
pub fn group_as_explicit(group: &Group) -> ExplicitAllocation {
    ExplicitAllocation {
        id: group.id.to_string(),
        email: None,
        name: Some(group.name.clone()),
        surname: None,
        last_in_use: None,
        user_bundle_licenses: group.rule.licenses.iter().map(ToString::to_string).collect(),
        use_external_license: group.rule.external,
        orphan: false,
    }
}

/// What `user` holds through each of its groups now, one entry per group it draws from.
pub fn inherited(user: &User) -> Vec<GroupInheritance> {
    let groups: BTreeSet<&GroupId> = user
        .holdings
        .iter()
        .filter_map(|(_, h)| match &h.source {
            Source::Group(g) => Some(g),
            Source::Direct => None,
        })
        .collect();
    groups
        .into_iter()
        .map(|group| {
            let source = Source::Group(group.clone());
            let held: Vec<_> = user.holdings.iter().filter(|(_, h)| h.source == source).collect();
            GroupInheritance {
                group: group.to_string(),
                use_external_license: held.iter().all(|(_, h)| h.external),
                user_bundle_codes: held.iter().map(|(p, h)| h.license(p).to_string()).collect(),
            }
        })
        .collect()
}

/// The rules of every group `user` belongs to that allocates something.
pub fn rules(org: &Org, user: &User) -> Vec<GroupInheritance> {
    let groups = user.groups.keys().filter_map(|g| org.groups.get(g)).filter(|g| !g.rule.licenses.is_empty());
    groups
        .map(|g| GroupInheritance {
            group: g.id.to_string(),
            use_external_license: g.rule.external,
            user_bundle_codes: g.rule.licenses.iter().map(ToString::to_string).collect(),
        })
        .collect()
}
