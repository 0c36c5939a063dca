//! The service layer every surface calls: the native API, the UiPath and Vonage dialects,
//! and the console, the CLI and SCIM to come. A surface authenticates the caller and
//! translates shapes; here the caller is authorized once (access.rs) into a scope, and the
//! scope reads the books and the store, and writes through the committer.

pub mod access;
mod admins;
mod clients;
mod contact_center;
pub mod etag;
mod groups;
mod history;
mod licenses;
mod lifetimes;
mod orgs;
mod plans;
mod pools;
mod products;
mod scope;
mod tenants;
mod users;

pub use access::{Access, Family, Need};
pub use admins::{BOOTSTRAP_ADMIN, forget_bootstrap_password};
pub use contact_center::UserRecord;
pub use groups::GroupPage;
pub use lifetimes::{Lifetime, Lifetimes};
pub use orgs::organizations;
pub use pools::{Ending, HeldPool, HeldService};
pub use products::{capability_products, products, spelled};
pub use scope::{Denied, HostScope, OrgScope, Refusal, authorized, authorized_home, check};
pub use users::{HeldBy, UserFilter};
