//! A change event as the ledger and plans carry it: the shape of `allot_core::Change` on
//! the wire. The server sends the core type itself; these types state its shape for the
//! OpenAPI document and for clients, and a test holds them to it: every variant the core
//! writes reads back here with no field left over, and writes out the same JSON.
//! Times in change events are Unix milliseconds, as the ledger stores them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::products::ProductView;
use crate::users::Role;

/// One change event, by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeView {
    ProductAdded {
        product: ProductView,
    },
    ProductRemoved {
        product: ProductView,
    },
    OrgCreated {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        name: String,
    },
    OrgRenamed {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        before: String,
        after: String,
    },
    OrgDeleted {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        name: String,
    },
    UserCreated {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::UserId)]
        user: String,
        profile: Profile,
    },
    UserUpdated {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::UserId)]
        user: String,
        before: Profile,
        after: Profile,
    },
    UserDeleted {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::UserId)]
        user: String,
        profile: Profile,
    },
    GroupCreated {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        name: String,
    },
    GroupDeleted {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        name: String,
    },
    GroupRenamed {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        before: String,
        after: String,
    },
    /// An identity provider's (SCIM's) record of the group set, changed or dropped (`null`).
    GroupProfileSet {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        before: Option<GroupProfileView>,
        after: Option<GroupProfileView>,
    },
    TenantCreated {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::TenantId)]
        tenant: String,
        name: String,
    },
    TenantDeleted {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::TenantId)]
        tenant: String,
        name: String,
    },
    /// `seq` orders the group's members: who joined first is served first.
    MemberAdded {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        #[schema(value_type = crate::schema::UserId)]
        user: String,
        seq: u64,
    },
    MemberRemoved {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        #[schema(value_type = crate::schema::UserId)]
        user: String,
        seq: u64,
    },
    /// A group's rule: the licenses its members inherit.
    RuleSet {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::GroupId)]
        group: String,
        before: RuleView,
        after: RuleView,
    },
    /// A pool's grant at a scope.
    PoolSet {
        scope: PoolScope,
        #[schema(value_type = crate::schema::License)]
        license: String,
        before: GrantView,
        after: GrantView,
    },
    /// A user's holding of one product: absent before it was taken, or after it was released.
    HoldingSet {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::UserId)]
        user: String,
        #[schema(value_type = crate::schema::ProductCode)]
        product: String,
        before: Option<HoldingView>,
        after: Option<HoldingView>,
    },
}

/// A user's name, email and role.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub role: Role,
    /// What a directory records beyond these (UiPath's identity API, Vonage's users).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<Box<DirectoryView>>,
}

/// A user's directory entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectoryView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Inactive (archived) users cannot log in.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inactive: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub bypass_basic_auth_restriction: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invitation_accepted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_id: Option<i64>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub attributes: std::collections::BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_center: Option<ContactCenterView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim: Option<ScimProfileView>,
    /// The direct licenses the user held when deactivated, which a reactivation may give back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub released: Vec<ReleasedLicense>,
}

/// A direct license a deactivation released.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleasedLicense {
    #[schema(value_type = crate::schema::License)]
    pub license: String,
    pub external: bool,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
}

/// What an identity provider (SCIM) records of a user beyond the directory entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimProfileView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// SCIM's `name`, as given, without its given and family names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub name: Option<serde_json::Value>,
    /// SCIM's `emails`, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub emails: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
}

/// What an identity provider (SCIM) records of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupProfileView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<i64>,
}

/// What Vonage's User Admin API records of a user beyond the directory: the role (a
/// license, held while the user is active) and the agent configuration kept as sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactCenterView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_external_id: Option<String>,
    /// `Admin`, `Supervisor`, `Wallboard` or `Agent`.
    pub role: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub act_as_agent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub agent_configuration: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleView {
    #[schema(value_type = Vec<crate::schema::License>)]
    pub licenses: Vec<String>,
    /// Members' holdings are recorded but draw no unit.
    pub external: bool,
}

/// Where a pool sits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PoolScope {
    Host,
    Org {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
    },
    Tenant {
        #[schema(value_type = crate::schema::OrgId)]
        org: String,
        #[schema(value_type = crate::schema::TenantId)]
        tenant: String,
        #[schema(value_type = crate::schema::ServiceType)]
        service: String,
    },
}

/// A pool's grant: a quantity, usable from `valid_from` (inclusive) until `valid_until`
/// (exclusive), in Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantView {
    #[schema(value_type = crate::schema::Quantity)]
    pub quantity: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
}

/// A holding: the capability held (for products with capabilities), where it comes from,
/// and its validity window in Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldingView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::schema::ProductCode>)]
    pub capability: Option<String>,
    pub source: SourceView,
    /// Recorded but drawing no unit.
    pub external: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<i64>,
}

/// Where a holding comes from: held directly, or inherited from `group`'s rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "group", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceView {
    Direct,
    #[schema(value_type = crate::schema::GroupId)]
    Group(String),
}

#[cfg(test)]
mod tests {
    use allot_core::catalogue::CapabilityInfo;
    use allot_core::{
        Capability, Change, GroupId, Holding, LicenseKey, OrgId, Product, ProductCode, ProductKind, Rule, Scope,
        ServiceType, Source, TenantId, UserId, UserProfile,
    };

    use super::*;

    /// Every variant, with optional fields both set and left out. The match makes a new
    /// variant fail to compile until it is sampled here.
    fn every_change() -> Vec<Change> {
        let org = OrgId::parse("acme").unwrap();
        let user = UserId::parse("ada").unwrap();
        let group = GroupId::parse("devs").unwrap();
        let tenant = TenantId::parse("prod").unwrap();
        let code = ProductCode::parse("analytics").unwrap();
        let license = LicenseKey::parse("analytics:creator").unwrap();
        let unit = Product {
            code: ProductCode::parse("UNATT").unwrap(),
            name: "Unattended Robot".into(),
            kind: ProductKind::Unit,
            service_type: Some(ServiceType::parse("orchestrator").unwrap()),
            capabilities: Vec::new(),
            not_for: Vec::new(),
        };
        let levels = Product {
            code: code.clone(),
            name: "Analytics".into(),
            kind: ProductKind::User,
            service_type: None,
            capabilities: vec![CapabilityInfo {
                code: Capability::parse("creator").unwrap(),
                name: "Creator".into(),
                overflow: Some(Capability::parse("viewer").unwrap()),
            }],
            not_for: vec![LicenseKey::parse("vccrole:agent").unwrap()],
        };
        let plain = UserProfile { name: String::new(), email: None, role: allot_core::Role::Member, directory: None };
        let agent = allot_core::ContactCenterProfile {
            sso_external_id: Some("ada-sso".into()),
            role: "Agent".into(),
            act_as_agent: true,
            agent_configuration: Some(serde_json::json!({"webrtc": true, "capacity": {"live": 5}})),
        };
        let directory = allot_core::DirectoryProfile {
            user_name: Some("ada".into()),
            surname: Some("Lovelace".into()),
            display_name: Some("Ada L.".into()),
            inactive: true,
            bypass_basic_auth_restriction: true,
            invitation_accepted: true,
            legacy_id: Some(7),
            attributes: [("team".to_owned(), "blue".to_owned())].into(),
            contact_center: Some(Box::new(agent)),
            scim: Some(Box::new(allot_core::ScimProfile {
                external_id: Some("00u1".into()),
                name: Some(serde_json::json!({"formatted": "Ada Lovelace"})),
                emails: Some(serde_json::json!([{"value": "ada@example.com", "primary": true}])),
                created: Some(1),
                modified: Some(2),
            })),
            released: vec![allot_core::DirectLicense {
                license: license.clone(),
                external: false,
                valid_from: None,
                valid_until: Some(3),
            }],
        };
        let full = UserProfile {
            name: "Ada".into(),
            email: Some("ada@example.com".into()),
            role: allot_core::Role::Admin,
            directory: Some(Box::new(directory)),
        };
        let rule = Rule { licenses: vec![license.clone()], external: true };
        let grant = allot_core::Grant { quantity: 5, valid_from: Some(1), valid_until: Some(2) };
        let direct = Holding::new(None, Source::Direct, false);
        let inherited =
            Holding::new(license.capability.clone(), Source::Group(group.clone()), true).valid(Some(1), None);
        let changes = vec![
            Change::ProductAdded { product: unit.clone() },
            Change::ProductRemoved { product: levels },
            Change::OrgCreated { org: org.clone(), name: "Acme".into() },
            Change::OrgRenamed { org: org.clone(), before: "Acme".into(), after: "ACME".into() },
            Change::OrgDeleted { org: org.clone(), name: "ACME".into() },
            Change::UserCreated { org: org.clone(), user: user.clone(), profile: plain.clone() },
            Change::UserUpdated { org: org.clone(), user: user.clone(), before: plain, after: full.clone() },
            Change::UserDeleted { org: org.clone(), user: user.clone(), profile: full },
            Change::GroupCreated { org: org.clone(), group: group.clone(), name: "Developers".into() },
            Change::GroupRenamed {
                org: org.clone(),
                group: group.clone(),
                before: "Developers".into(),
                after: "Builders".into(),
            },
            Change::GroupProfileSet {
                org: org.clone(),
                group: group.clone(),
                before: None,
                after: Some(allot_core::GroupProfile {
                    external_id: Some("g1".into()),
                    created: Some(1),
                    modified: None,
                }),
            },
            Change::GroupDeleted { org: org.clone(), group: group.clone(), name: "Developers".into() },
            Change::TenantCreated { org: org.clone(), tenant: tenant.clone(), name: "Production".into() },
            Change::TenantDeleted { org: org.clone(), tenant: tenant.clone(), name: "Production".into() },
            Change::MemberAdded { org: org.clone(), group: group.clone(), user: user.clone(), seq: 1 },
            Change::MemberRemoved { org: org.clone(), group: group.clone(), user: user.clone(), seq: 1 },
            Change::RuleSet { org: org.clone(), group, before: Rule::default(), after: rule },
            Change::PoolSet { scope: Scope::Host, license: license.clone(), before: Default::default(), after: grant },
            Change::PoolSet {
                scope: Scope::Org { org: org.clone() },
                license: license.clone(),
                before: grant,
                after: grant,
            },
            Change::PoolSet {
                scope: Scope::Tenant { org: org.clone(), tenant, service: unit.service_type.clone().unwrap() },
                license,
                before: grant,
                after: Default::default(),
            },
            Change::HoldingSet {
                org: org.clone(),
                user: user.clone(),
                product: code.clone(),
                before: None,
                after: Some(direct),
            },
            Change::HoldingSet { org, user, product: code, before: Some(inherited), after: None },
        ];
        for change in &changes {
            match change {
                Change::ProductAdded { .. }
                | Change::ProductRemoved { .. }
                | Change::OrgCreated { .. }
                | Change::OrgRenamed { .. }
                | Change::OrgDeleted { .. }
                | Change::UserCreated { .. }
                | Change::UserUpdated { .. }
                | Change::UserDeleted { .. }
                | Change::GroupCreated { .. }
                | Change::GroupDeleted { .. }
                | Change::GroupRenamed { .. }
                | Change::GroupProfileSet { .. }
                | Change::TenantCreated { .. }
                | Change::TenantDeleted { .. }
                | Change::MemberAdded { .. }
                | Change::MemberRemoved { .. }
                | Change::RuleSet { .. }
                | Change::PoolSet { .. }
                | Change::HoldingSet { .. } => {}
            }
        }
        changes
    }

    #[test]
    fn every_change_the_core_writes_reads_back_as_a_change_view_and_writes_out_the_same() {
        let changes = every_change();
        let kinds: std::collections::BTreeSet<&str> = changes.iter().map(Change::kind).collect();
        assert_eq!(kinds.len(), 19, "every variant is sampled");
        for change in changes {
            let written = serde_json::to_value(&change).unwrap();
            let view: ChangeView = serde_json::from_value(written.clone())
                .unwrap_or_else(|e| panic!("{} does not read as a ChangeView: {e}\n{written:#}", change.kind()));
            assert_eq!(serde_json::to_value(&view).unwrap(), written, "{}", change.kind());
        }
    }
}
