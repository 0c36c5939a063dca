//! allot's license model and planner. Pure: no IO, no clock, no async. Callers pass the
//! current time in, which keeps the planner deterministic and property-testable.

pub mod catalogue;
pub mod change;
pub mod command;
pub mod cow;
pub mod ids;
pub mod ledger;
pub mod planner;
pub mod profile;
pub mod state;
pub mod violation;

pub use catalogue::{Catalogue, Product, ProductKind};
pub use change::{Change, Scope};
pub use command::{Command, DirectLicense};
pub use ids::{
    Capability, GroupId, InvalidId, LicenseKey, OrgId, OrgKey, ProductCode, ServiceType, TenantId, Timestamp, UserId,
};
pub use ledger::{Actor, LedgerEntry};
pub use planner::{MAX_QUANTITY, Plan, PoolDelta, plan};
pub use profile::{ContactCenterProfile, GroupProfile, ScimProfile};
pub use state::{
    CheckOutcome, CheckReason, DirectoryProfile, Grant, Holding, Pool, Role, Rule, Source, State, UserProfile, Via,
};
pub use violation::{Violation, ViolationCode};

#[cfg(test)]
mod tests;
