//! What a contact center (Vonage's User Admin API) records of a user beyond the directory
//! entry it shares with the other dialects (`user_name` is its username, `inactive` its
//! archiving). allot acts on the role alone (a license held while the user is active); the
//! rest is kept and answered back as given.

use serde::{Deserialize, Serialize};

/// A contact center user's account, in its directory entry ([`crate::DirectoryProfile`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactCenterProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso_external_id: Option<String>,
    /// The role as last set (`Admin`, `Supervisor`, `Wallboard`, `Agent`): the license the
    /// user holds while active, remembered while archived.
    pub role: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub act_as_agent: bool,
    /// Telephony, capacity, recording and the rest, exactly as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_configuration: Option<serde_json::Value>,
}
