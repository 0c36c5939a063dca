//! The service layer every surface calls: the native API, the UiPath and Vonage dialects,
//! and the console, the CLI and SCIM to come. A surface authenticates the caller and
//! translates shapes; here the caller is authorized once (access.rs) into a scope, and the
//! scope reads the books and the store, and writes through the committer.

pub mod access;
mod groups;
mod orgs;
mod scope;
mod tenants;
mod users;

pub use access::{Access, Family, Need};
pub use orgs::organizations;
pub use scope::{Denied, HostScope, OrgScope};
