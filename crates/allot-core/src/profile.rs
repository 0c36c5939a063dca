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

/// What an identity provider (SCIM) records of a user beyond the directory entry: its own
/// id for the user, the parts of the name the entry has no field for, every address, and
/// when SCIM created and last changed the user.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScimProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// `name` as SCIM gives it (`formatted`, `middleName`, `honorificPrefix`, ...), the
    /// given and family names aside, which are the entry's name and surname.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<serde_json::Value>,
    /// `emails` as given; the primary one (or the first) is also the user's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emails: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<crate::Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<crate::Timestamp>,
}

/// What an identity provider (SCIM) records of a group: its own id for the group, and when
/// SCIM created and last changed it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GroupProfile {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<crate::Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<crate::Timestamp>,
}
