//! The access rule, written once for every surface: what a person's role, or an API
//! client's scopes, let it do in its own organization. Host administrators may do anything.

use allot_core::{OrgKey, Role, State};
use allot_store::Subject;

use crate::auth::Principal;

/// How much a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
}

/// What a request touches, as API clients' scopes name it: the native API (`allot:*`),
/// UiPath's scope families (`PM.License`, `PM.Group`, `PM.User`) and Vonage's users
/// (`users:*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Native,
    License,
    Group,
    User,
    Users,
    /// SCIM provisioning (`scim`): users, groups and their members.
    Scim,
}

impl Family {
    /// The scope that grants both reading and writing.
    pub fn scope(self) -> &'static str {
        match self {
            Family::Native => "allot:write",
            Family::License => "PM.License",
            Family::Group => "PM.Group",
            Family::User => "PM.User",
            Family::Users => "users:write",
            Family::Scim => "scim",
        }
    }
}

/// What a request needs: an access to a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need {
    pub family: Family,
    pub access: Access,
}

impl Need {
    pub const fn new(family: Family, access: Access) -> Self {
        Self { family, access }
    }

    pub const fn native(access: Access) -> Self {
        Self::new(Family::Native, access)
    }
}

/// Whether an API client holding `scope` may do `need`. UiPath's `.Write` scopes grant
/// writing alone, as UiPath's do; the others that write also read.
pub fn scope_allows(scope: &str, need: Need) -> bool {
    use Access::{Read, Write};
    use Family::{Group, License, Native, Scim, User, Users};
    match (scope, need.family) {
        ("allot:write", Native) | ("users:write", Users) | ("scim", Scim) => true,
        ("allot:read", Native) | ("users:read", Users) => need.access == Read,
        ("PM.License", License) | ("PM.Group", Group) | ("PM.User", User) => true,
        ("PM.License.Read", License) | ("PM.Group.Read", Group) | ("PM.User.Read", User) => need.access == Read,
        ("PM.License.Write", License) | ("PM.Group.Write", Group) | ("PM.User.Write", User) => need.access == Write,
        _ => false,
    }
}

/// What a person's role lets it do in its own organization, on every surface.
pub fn role_allows(role: Role, access: Access) -> bool {
    match role {
        Role::Admin => true,
        Role::Reader => access == Access::Read,
        Role::Member => false,
    }
}

/// Whether `principal` may do `need` in organization `org` of `state`. A person's role is
/// read from the books; an organization's principals reach no other organization.
pub fn allows(principal: &Principal, state: &State, org: &OrgKey, need: Need) -> bool {
    allows_in(principal, state, org.as_str(), need)
}

/// [`allows`], for an organization named by its key's spelling (`OrgKey::canonical`).
pub fn allows_in(principal: &Principal, state: &State, org: &str, need: Need) -> bool {
    match &principal.subject {
        Subject::HostAdmin { .. } => true,
        Subject::OrgUser { org: home, user } => {
            let role = || Some(state.org(org)?.users.get(user.as_str())?.profile.role);
            home.as_str() == org && role().is_some_and(|role| role_allows(role, need.access))
        }
        Subject::Client { org: home, .. } => {
            home.as_str() == org && principal.scopes.iter().any(|s| scope_allows(s, need))
        }
    }
}

/// Whether `principal` may still change its organization's books as `state` has them: a
/// person must still be there, with a role that writes. Host administrators and API
/// clients are not in the books (their credentials are checked as the request arrives).
pub fn may_write(principal: &Principal, state: &State) -> bool {
    match &principal.subject {
        Subject::OrgUser { org, .. } => allows(principal, state, org, Need::native(Access::Write)),
        Subject::HostAdmin { .. } | Subject::Client { .. } => true,
    }
}

#[cfg(test)]
mod tests {
    use super::Access::{Read, Write};
    use super::Family::{Group, License, Native, Scim, User, Users};
    use super::*;

    const FAMILIES: [Family; 6] = [Native, License, Group, User, Users, Scim];

    /// The families and accesses `scope` grants, every need tried.
    fn granted(scope: &str) -> Vec<(Family, Access)> {
        let needs = FAMILIES.iter().flat_map(|f| [(*f, Read), (*f, Write)]);
        needs.filter(|(f, a)| scope_allows(scope, Need::new(*f, *a))).collect()
    }

    #[test]
    fn each_scope_grants_exactly_its_family() {
        assert_eq!(granted("allot:read"), [(Native, Read)]);
        assert_eq!(granted("allot:write"), [(Native, Read), (Native, Write)]);
        assert_eq!(granted("users:read"), [(Users, Read)]);
        assert_eq!(granted("users:write"), [(Users, Read), (Users, Write)]);
        assert_eq!(granted("scim"), [(Scim, Read), (Scim, Write)]);
        assert_eq!(granted("PM.License"), [(License, Read), (License, Write)]);
        assert_eq!(granted("PM.License.Read"), [(License, Read)]);
        assert_eq!(granted("PM.License.Write"), [(License, Write)]);
        assert_eq!(granted("PM.Group"), [(Group, Read), (Group, Write)]);
        assert_eq!(granted("PM.Group.Read"), [(Group, Read)]);
        assert_eq!(granted("PM.Group.Write"), [(Group, Write)]);
        assert_eq!(granted("PM.User"), [(User, Read), (User, Write)]);
        assert_eq!(granted("PM.User.Read"), [(User, Read)]);
        assert_eq!(granted("PM.User.Write"), [(User, Write)]);
        assert_eq!(granted("PM.Audit.Read"), [], "audit queries are not served");
        assert_eq!(granted("pm.license"), [], "scopes are compared exactly");
        assert_eq!(granted(""), []);
    }

    #[test]
    fn every_known_scope_is_judged_here() {
        for scope in crate::auth::KNOWN_SCOPES {
            assert!(!granted(scope).is_empty() || *scope == "PM.Audit.Read", "{scope} grants nothing");
        }
    }

    #[test]
    fn each_role_grants_its_access() {
        assert!(role_allows(Role::Admin, Read) && role_allows(Role::Admin, Write));
        assert!(role_allows(Role::Reader, Read) && !role_allows(Role::Reader, Write));
        assert!(!role_allows(Role::Member, Read) && !role_allows(Role::Member, Write));
    }

    fn principal(subject: Subject, scopes: &[&str]) -> Principal {
        Principal::new(subject, scopes.iter().map(|s| (*s).to_owned()).collect())
    }

    /// Organization `acme` with an admin, a reader and a member.
    fn books() -> State {
        use allot_core::{Command, OrgId, UserProfile};
        let mut state = State::default();
        let org = OrgId::parse("acme").unwrap();
        let mut commands = vec![Command::CreateOrg { org: org.clone(), name: "Acme".into() }];
        for (user, role) in [("ada", Role::Admin), ("rea", Role::Reader), ("mem", Role::Member)] {
            let profile = UserProfile { role, ..UserProfile::default() };
            commands.push(Command::CreateUser {
                org: org.clone(),
                user: allot_core::UserId::parse(user).unwrap(),
                profile,
            });
        }
        let plan = allot_core::plan(&mut state, &commands, 0);
        assert!(plan.is_possible(), "{:?}", plan.violations);
        state.apply_all(1, &plan.changes).unwrap();
        state
    }

    #[test]
    fn people_reach_their_own_organization_by_role_and_no_other() {
        let state = books();
        let (acme, other) = (OrgKey::of("acme"), OrgKey::of("other"));
        let person = |user: &str| principal(Subject::OrgUser { org: acme.clone(), user: user.into() }, &[]);
        for need in FAMILIES.iter().flat_map(|f| [Need::new(*f, Read), Need::new(*f, Write)]) {
            assert!(allows(&person("ada"), &state, &acme, need), "{need:?}");
            assert_eq!(allows(&person("rea"), &state, &acme, need), need.access == Read, "{need:?}");
            assert!(!allows(&person("mem"), &state, &acme, need), "{need:?}");
            assert!(!allows(&person("ghost"), &state, &acme, need), "a person not in the books: {need:?}");
            assert!(!allows(&person("ada"), &state, &other, need), "another organization: {need:?}");
        }
    }

    #[test]
    fn clients_reach_their_own_organization_by_scope_and_hosts_reach_all() {
        let state = books();
        let (acme, other) = (OrgKey::of("acme"), OrgKey::of("other"));
        let client = principal(Subject::Client { org: acme.clone(), client_id: "c".into() }, &["allot:read"]);
        assert!(allows(&client, &state, &acme, Need::native(Read)));
        assert!(!allows(&client, &state, &acme, Need::native(Write)));
        assert!(!allows(&client, &state, &acme, Need::new(License, Read)));
        assert!(!allows(&client, &state, &other, Need::native(Read)));
        let host = principal(Subject::HostAdmin { username: "admin".into() }, &[]);
        assert!(
            allows(&host, &state, &acme, Need::native(Write)) && allows(&host, &state, &other, Need::new(User, Write))
        );
    }
}
