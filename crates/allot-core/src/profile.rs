//! What a contact center (Vonage's User Admin API) records of a user beyond allot's own
//! fields. allot acts only on the role (a license) and on archiving (which frees the
//! licenses); the rest is kept and answered back as given.

use serde::{Deserialize, Serialize};

/// A contact center user's account, kept out of line in [`crate::UserProfile`]: most users
/// have none, and a million are held in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContactCenterProfile {
    pub username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso_external_id: Option<String>,
    /// The role as last set (`Admin`, `Supervisor`, `Wallboard`, `Agent`): the license the
    /// user holds while active, remembered while archived.
    pub role: String,
    /// Archived users hold no licenses.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub archived: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub act_as_agent: bool,
    /// Telephony, capacity, recording and the rest, exactly as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_configuration: Option<serde_json::Value>,
}
