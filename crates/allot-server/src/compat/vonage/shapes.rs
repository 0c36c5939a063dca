//! Vonage's user object, as the User Admin API's Create, Update and Get pages show it, and
//! the mapping of its role to allot's role licenses.

use allot_core::catalogue::{AGENT, AGENT_OVERAGE, ROLE_PRODUCT};
use allot_core::state::Holdings;
use allot_core::{Capability, LicenseKey, ProductCode};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::VonageError;
use crate::service::UserRecord;

/// A user sent to `POST /users` or `PATCH /users/{userId}`: every field optional here, as a
/// PATCH sends only what changes; Create checks the required ones.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserBody {
    pub username: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub sso_external_id: Option<String>,
    pub active: Option<bool>,
    pub user_account_configuration: Option<AccountBody>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountBody {
    pub role: Option<String>,
    pub act_as_agent: Option<bool>,
    /// Telephony, capacity, recording...: kept as sent, never acted on.
    pub agent_configuration: Option<Map<String, Value>>,
}

/// A user as Vonage answers it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserAnswer {
    pub user_id: String,
    pub username: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub active: bool,
    pub locked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso_external_id: Option<String>,
    pub user_account_configuration: AccountAnswer,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Whether the user draws a role license now: active users do, archived ones do not.
    pub chargeable: bool,
    pub act_as_agent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_configuration: Option<Value>,
}

/// `GET /users`: a page of users and where it is.
#[derive(Debug, Serialize)]
pub struct UsersPage {
    pub meta: Meta,
    pub users: Vec<UserAnswer>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    pub page: usize,
    pub count: usize,
    pub page_count: usize,
    pub total_count: usize,
}

/// Vonage's roles, as the pages spell them, with the capability of the role product each is.
const ROLES: [(&str, &str); 4] =
    [("Admin", "admin"), ("Supervisor", "supervisor"), ("Wallboard", "wallboard"), ("Agent", AGENT)];

/// A role as sent (any case), in the pages' spelling, or 400.
pub fn role(raw: &str) -> Result<&'static str, VonageError> {
    ROLES.iter().find(|(name, _)| name.eq_ignore_ascii_case(raw)).map(|(name, _)| *name).ok_or_else(|| {
        VonageError::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid role '{raw}'. Valid values: Admin, Supervisor, Wallboard, Agent"),
        )
    })
}

/// The role product's code.
pub fn role_product() -> Option<ProductCode> {
    ProductCode::parse(ROLE_PRODUCT).ok()
}

/// The license a role is.
pub fn role_license(role: &str) -> Option<LicenseKey> {
    let (_, capability) = ROLES.iter().find(|(name, _)| *name == role)?;
    Some(LicenseKey { product: role_product()?, capability: Some(Capability::parse(capability).ok()?) })
}

/// The role a held role license is: an overage Agent is an Agent.
fn held_role(holdings: &Holdings) -> Option<String> {
    let held = holdings.get(&role_product()?)?.capability.clone()?;
    let capability = if held.as_str() == AGENT_OVERAGE { AGENT } else { held.as_str() };
    ROLES.iter().find(|(_, c)| *c == capability).map(|(name, _)| (*name).to_owned())
}

/// A Vonage role's name for a license's capability, for messages.
pub fn role_name(license: &LicenseKey) -> Option<&'static str> {
    let capability = license.capability.as_ref()?.as_str();
    let capability = if capability == AGENT_OVERAGE { AGENT } else { capability };
    (license.product.as_str() == ROLE_PRODUCT).then_some(())?;
    ROLES.iter().find(|(_, c)| *c == capability).map(|(name, _)| *name)
}

impl From<&UserRecord> for UserAnswer {
    fn from(user: &UserRecord) -> Self {
        let account = user.profile.contact_center();
        let role = held_role(&user.holdings).or_else(|| account.map(|a| a.role.clone()).filter(|r| !r.is_empty()));
        UserAnswer {
            user_id: user.id.to_string(),
            username: user.profile.user_name().map_or_else(|| user.id.to_string(), str::to_owned),
            name: user.profile.name.clone(),
            email: user.profile.email.as_deref().map(str::to_owned),
            active: user.profile.is_active(),
            locked: false,
            sso_external_id: account.and_then(|a| a.sso_external_id.clone()),
            user_account_configuration: AccountAnswer {
                chargeable: held_role(&user.holdings).is_some(),
                role,
                act_as_agent: account.is_some_and(|a| a.act_as_agent),
                agent_configuration: account.and_then(|a| a.agent_configuration.clone()),
            },
        }
    }
}
