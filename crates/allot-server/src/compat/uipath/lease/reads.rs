//! UiPath's reads of an organization's books, each a function of the organization as it
//! stands (called under one read of the books, see `OrgScope::read_org`).

use std::collections::BTreeSet;

use allot_core::state::{Org, User};
use allot_core::{GroupId, LicenseKey, Pool, ServiceType, Source, TenantId, UserId};

use super::page::PageParams;
use super::shapes::{ExplicitAllocation, GroupAllocation, LicenseAllocation, MemberAllocation, Paged};
use super::views;

/// The explicit allocations of the listed users that hold something directly.
pub fn explicit_of(org: &Org, wanted: &[UserId]) -> Vec<ExplicitAllocation> {
    let held = wanted.iter().filter_map(|id| org.users.get_key_value(id)).filter(|(_, u)| views::has_direct(u));
    held.map(|(id, u)| views::explicit(id, u)).collect()
}

/// Every user's explicit allocation, for those holding something directly.
pub fn all_explicit(org: &Org) -> Vec<ExplicitAllocation> {
    let held = org.users.iter().filter(|(_, u)| views::has_direct(u));
    held.map(|(id, u)| views::explicit(id, u)).collect()
}

/// A page of the users holding something directly, by id (the default), name or email.
pub fn explicit_page(org: &Org, params: &PageParams) -> Paged<ExplicitAllocation> {
    let direct = |u: &User| views::codes_from(u, &Source::Direct);
    let held = org.users.iter().filter(|(_, u)| {
        let codes = direct(u);
        !codes.is_empty() && params.keeps(codes.iter().map(String::as_str))
    });
    let (total_count, page) = if params.sorts_by("name") {
        params.sorted(held, |(_, u)| u.profile.name.to_lowercase())
    } else if params.sorts_by("email") {
        params.sorted(held, |(_, u)| u.profile.email.clone().unwrap_or_default().to_lowercase())
    } else {
        params.in_order(held)
    };
    Paged { total_count, results: page.into_iter().map(|(id, u)| views::explicit(id, u)).collect() }
}

/// What each listed user holds: an entry for its direct bundles and one for those it
/// inherits, each only if it holds some; unknown users are left out.
pub fn allocations_of(org: &Org, wanted: &[UserId]) -> Vec<LicenseAllocation> {
    let mut found = Vec::new();
    for (id, user) in wanted.iter().filter_map(|id| org.users.get_key_value(id)) {
        let (direct, inherited): (Vec<_>, Vec<_>) = user.holdings.iter().partition(|(_, h)| h.source == Source::Direct);
        for (held, inherited_from_group) in [(direct, false), (inherited, true)] {
            if !held.is_empty() {
                found.push(LicenseAllocation {
                    user_id: id.to_string(),
                    use_external_license: held.iter().all(|(_, h)| h.external),
                    user_bundle_codes: held.iter().map(|(p, h)| h.license(p).to_string()).collect(),
                    inherited_from_group,
                });
            }
        }
    }
    found
}

/// The distinct codes users hold directly, in code order.
pub fn explicit_codes(org: &Org) -> Vec<String> {
    let direct = org.users.values().flat_map(|u| views::codes_from(u, &Source::Direct));
    direct.collect::<BTreeSet<_>>().into_iter().collect()
}

/// Every code `user` holds, however it holds it.
pub fn held_codes(org: &Org, user: &UserId) -> Vec<String> {
    let held = org.users.get(user).map(|u| u.holdings.iter().map(|(p, h)| h.license(p).to_string()).collect());
    held.unwrap_or_default()
}

/// Every code some group rule allocates, and whether all such rules are external.
pub fn all_rules(org: &Org) -> (Vec<String>, bool) {
    let allocating: Vec<_> = org.groups.values().filter(|g| !g.rule.licenses.is_empty()).collect();
    let codes: BTreeSet<String> =
        allocating.iter().flat_map(|g| g.rule.licenses.iter().map(ToString::to_string)).collect();
    (codes.into_iter().collect(), !allocating.is_empty() && allocating.iter().all(|g| g.rule.external))
}

/// The distinct codes of all group rules, in code order.
pub fn rule_codes(org: &Org) -> Vec<String> {
    all_rules(org).0
}

/// A page of the groups whose rule allocates something, by id (the default) or name.
pub fn group_page(org: &Org, params: &PageParams) -> Paged<GroupAllocation> {
    let ruled = org.groups.values().filter(|g| {
        let codes: Vec<String> = g.rule.licenses.iter().map(ToString::to_string).collect();
        !codes.is_empty() && params.keeps(codes.iter().map(String::as_str))
    });
    let (total_count, page) =
        if params.sorts_by("name") { params.sorted(ruled, |g| g.name.to_lowercase()) } else { params.in_order(ruled) };
    Paged { total_count, results: page.into_iter().map(|g| views::group_allocation(org, g)).collect() }
}

/// The allocations of the listed groups; unknown ones are left out.
pub fn groups_of(org: &Org, wanted: &[GroupId]) -> Vec<GroupAllocation> {
    wanted.iter().filter_map(|g| org.groups.get(g)).map(|g| views::group_allocation(org, g)).collect()
}

/// A page of a group's members, in order of joining (the default), by name or by id.
pub fn member_page(org: &Org, group: &GroupId, params: &PageParams) -> Paged<MemberAllocation> {
    let Some(found) = org.groups.get(group) else { return Paged { total_count: 0, results: vec![] } };
    let members = found.members.values().filter_map(|id| org.users.get_key_value(id));
    let (total_count, page) = if params.sorts_by("name") {
        params.sorted(members, |(_, u)| u.profile.name.to_lowercase())
    } else if params.sorts_by("id") {
        params.sorted(members, |(id, _)| (*id).clone())
    } else {
        params.in_order(members)
    };
    Paged { total_count, results: page.into_iter().map(|(id, u)| views::member(id, u, group)).collect() }
}

/// The group's members.
pub fn members_of(org: &Org, group: &GroupId) -> BTreeSet<UserId> {
    org.groups.get(group).map(|g| g.members.values().cloned().collect()).unwrap_or_default()
}

/// A tenant's pool as it stands.
pub type TenantPool = (TenantId, ServiceType, LicenseKey, Pool);

/// The pools of the tenants `clients` names (all tenants when it names none); unknown
/// ids are left out.
pub fn tenant_pools(org: &Org, clients: &[String]) -> Vec<TenantPool> {
    let named = |id: &TenantId| clients.is_empty() || clients.iter().any(|c| c.eq_ignore_ascii_case(id.as_str()));
    let mut pools = Vec::new();
    for tenant in org.tenants.values().filter(|t| named(&t.id)) {
        let held = tenant.pools.iter().filter(|(_, p)| !p.is_empty());
        pools.extend(
            held.map(|((service, license), pool)| (tenant.id.clone(), service.clone(), license.clone(), *pool)),
        );
    }
    pools
}
