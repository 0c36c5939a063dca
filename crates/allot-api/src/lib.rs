//! The native API's wire types: what a request carries and what an answer holds, with
//! their OpenAPI schemas. Free of the HTTP server, so that clients (the CLI, the tests)
//! speak the same types the server answers with.

pub mod admins;
pub mod groups;
pub mod history;
pub mod orgs;
pub mod tenants;
pub mod users;

pub use admins::{AdminList, AdminView, CreateAdmin};
pub use groups::{AddMember, CreateGroup, GroupList, GroupView, MemberList, MemberView};
pub use orgs::{CreateOrg, OrgList, OrgView, UpdateOrg};
pub use tenants::{CreateTenant, ServicePools, TenantList, TenantView};
pub use users::{CreateUser, PageQuery, Role, SetPassword, UpdateUser, UserPage, UserQuery, UserView};
pub mod change;
pub mod clients;
pub mod common;
pub mod error;
pub mod ledger;
pub mod licenses;
pub mod plans;
pub mod pools;
pub mod products;
pub mod schema;

pub use change::ChangeView;
pub use clients::{
    ClientList, ClientView, CreateClient, CreateScimToken, CreatedClient, CreatedScimToken, ScimTokenList,
    ScimTokenView,
};
pub use common::{Problem, ScopeKind, ScopeView, ViolationView, rfc3339};
pub use error::ErrorCode;
pub use history::{Holder, Holders, HoldersQuery, Usage, UsagePoint, UsageQuery};
pub use ledger::{LedgerEntryView, LedgerPage, LedgerParams};
pub use licenses::{
    CheckAnswer, GroupRule, GroupRuleView, HeldLicense, LicenseSpec, Reason, SetUserLicenses, UserLicenses, Via,
    Waiting,
};
pub use plans::{HoldingChangeView, PlanChange, PlanRequest, PlanView, PoolChangeView};
pub use pools::{PoolList, PoolRow, PoolSetting, SetPools};
pub use products::{CapabilityView, ProductKind, ProductList, ProductView};
