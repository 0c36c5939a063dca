//! What a client asks for. The planner turns a batch of commands into a plan.

use serde::{Deserialize, Serialize};

use crate::catalogue::Product;
use crate::ids::{GroupId, LicenseKey, OrgId, ProductCode, ServiceType, TenantId, Timestamp, UserId};
use crate::state::{Grant, Rule, UserProfile};

/// A license to hold directly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectLicense {
    pub license: LicenseKey,
    #[serde(default)]
    pub external: bool,
    #[serde(default)]
    pub valid_from: Option<Timestamp>,
    #[serde(default)]
    pub valid_until: Option<Timestamp>,
}

impl DirectLicense {
    pub fn of(license: LicenseKey, external: bool) -> Self {
        Self { license, external, valid_from: None, valid_until: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command")]
pub enum Command {
    AddProduct {
        product: Product,
    },
    SetHostPool {
        license: LicenseKey,
        grant: Grant,
    },
    CreateOrg {
        org: OrgId,
        name: String,
    },
    RenameOrg {
        org: OrgId,
        name: String,
    },
    DeleteOrg {
        org: OrgId,
    },
    CreateUser {
        org: OrgId,
        user: UserId,
        profile: UserProfile,
    },
    UpdateUser {
        org: OrgId,
        user: UserId,
        profile: UserProfile,
    },
    DeleteUser {
        org: OrgId,
        user: UserId,
    },
    CreateGroup {
        org: OrgId,
        group: GroupId,
        name: String,
    },
    DeleteGroup {
        org: OrgId,
        group: GroupId,
    },
    /// Sets (or, with `None`, drops) an identity provider's record of the group.
    SetGroupProfile {
        org: OrgId,
        group: GroupId,
        profile: Option<crate::profile::GroupProfile>,
    },
    /// Gives an active user back the direct licenses their deactivation released, each
    /// whose pool still has a unit for it (the rest are left); then forgets them.
    RestoreLicenses {
        org: OrgId,
        user: UserId,
    },
    RenameGroup {
        org: OrgId,
        group: GroupId,
        name: String,
    },
    AddMember {
        org: OrgId,
        group: GroupId,
        user: UserId,
    },
    RemoveMember {
        org: OrgId,
        group: GroupId,
        user: UserId,
    },
    CreateTenant {
        org: OrgId,
        tenant: TenantId,
        name: String,
    },
    DeleteTenant {
        org: OrgId,
        tenant: TenantId,
    },
    SetOrgPool {
        org: OrgId,
        license: LicenseKey,
        grant: Grant,
    },
    SetTenantPool {
        org: OrgId,
        tenant: TenantId,
        service: ServiceType,
        license: LicenseKey,
        grant: Grant,
    },
    /// The user's direct holdings become exactly `licenses`; inherited ones are untouched.
    SetDirectLicenses {
        org: OrgId,
        user: UserId,
        licenses: Vec<DirectLicense>,
    },
    /// One product of the user: hold it directly as `license`, or (`None`) hold none of it.
    /// With `overflow`, a capability whose pool is used up is drawn from its overflow
    /// capability instead (an Agent beyond the contract, within the maximum overage).
    SetUserLicense {
        org: OrgId,
        user: UserId,
        product: ProductCode,
        license: Option<DirectLicense>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        overflow: bool,
    },
    SetGroupRule {
        org: OrgId,
        group: GroupId,
        rule: Rule,
    },
    /// Ends every holding and pool grant whose `valid_until` is at or before `now`. A
    /// grant that ends takes with it what was drawn from it (tenant grants, holdings that
    /// draw units); units freed from holdings go to waiting group members in order.
    Expire {
        now: Timestamp,
    },
}
