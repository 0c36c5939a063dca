//! Identifiers, parsed once at the edge so the rest of the code never sees a bad one.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} `{value}` is invalid: {why}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub value: String,
    pub why: &'static str,
}

fn check_id(kind: &'static str, value: &str, max: usize, allowed: fn(char) -> bool) -> Result<(), InvalidId> {
    let invalid = |why| InvalidId { kind, value: value.chars().take(140).collect(), why };
    if value.is_empty() {
        return Err(invalid("it is empty"));
    }
    if value.len() > max {
        return Err(invalid("it is too long"));
    }
    if !value.chars().all(allowed) {
        return Err(invalid("it contains characters other than letters, digits and - _ . @ +"));
    }
    if value == "." || value == ".." {
        return Err(invalid("a URL path cannot name it"));
    }
    Ok(())
}

fn id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+')
}

fn code_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_')
}

/// An id newtype over `$store`: `String`, or `Arc<String>` for codes that many holdings
/// share, where a clone is a reference count and the handle one pointer (a holding names
/// three such codes, and a million users hold a few holdings each).
macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal, $allowed:expr) => {
        string_id!($(#[$doc])* $name, $kind, $max, $allowed, String);
    };
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:literal, $allowed:expr, $store:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name($store);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, InvalidId> {
                check_id($kind, value, $max, $allowed)?;
                Ok(Self(value.to_owned().into()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// A map keyed by ids is searched by the spelling itself, with no id built for it
        /// (the order and hash are the string's).
        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = std::borrow::Cow::<str>::deserialize(deserializer)?;
                Self::parse(&raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_id!(
    /// An organization id as its creator spelled it (e.g. `song-one`).
    OrgId, "organization id", 128, id_char
);
string_id!(
    /// A user id, unique within its organization.
    UserId, "user id", 128, id_char
);
string_id!(
    /// A group id, unique within its organization.
    GroupId, "group id", 128, id_char, std::sync::Arc<String>
);
string_id!(
    /// A tenant id, unique within its organization.
    TenantId, "tenant id", 128, id_char
);
string_id!(
    /// A service type of a tenant (`orchestrator`, `aicenter`, ...).
    ServiceType, "service type", 64, code_char, std::sync::Arc<String>
);
string_id!(
    /// A product code as the catalogue spells it (`RPADEVNU`, `analytics`).
    ProductCode, "license code", 64, code_char, std::sync::Arc<String>
);
string_id!(
    /// A capability of a product (`creator`, `viewer`, `enabled`).
    Capability, "capability", 64, code_char, std::sync::Arc<String>
);

impl OrgId {
    /// The key organizations are compared by: case-insensitive, with `-` and `_` equal,
    /// so `song_one` finds `song-one` (compat/uipath.md).
    pub fn key(&self) -> OrgKey {
        OrgKey::of(&self.0)
    }
}

/// The canonical form of an organization id; see [`OrgId::key`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgKey(String);

impl OrgKey {
    pub fn of(raw: &str) -> Self {
        Self(Self::canonical(raw).into_owned())
    }

    /// The key's spelling of `raw`, borrowed when `raw` is already canonical (as ids in
    /// paths usually are), to look an organization up without building its key.
    pub fn canonical(raw: &str) -> std::borrow::Cow<'_, str> {
        if raw.bytes().any(|b| b.is_ascii_uppercase() || b == b'_') {
            std::borrow::Cow::Owned(raw.to_ascii_lowercase().replace('_', "-"))
        } else {
            std::borrow::Cow::Borrowed(raw)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for OrgKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A license: a product code, and for products with capabilities, one capability
/// (`analytics:creator`). Each license has its own pool.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LicenseKey {
    pub product: ProductCode,
    pub capability: Option<Capability>,
}

impl LicenseKey {
    pub fn product(product: ProductCode) -> Self {
        Self { product, capability: None }
    }

    /// Parses `CODE` or `code:capability`. Spelling is checked here; whether the code is in
    /// the catalogue is the catalogue's business ([`crate::Catalogue::resolve`]).
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        match value.split_once(':') {
            None => Ok(Self::product(ProductCode::parse(value)?)),
            Some((product, capability)) => {
                Ok(Self { product: ProductCode::parse(product)?, capability: Some(Capability::parse(capability)?) })
            }
        }
    }
}

impl fmt::Display for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.capability {
            None => write!(f, "{}", self.product),
            Some(capability) => write!(f, "{}:{}", self.product, capability),
        }
    }
}

impl Serialize for LicenseKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LicenseKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Unix time in milliseconds. The core never reads a clock: callers pass `now` in.
pub type Timestamp = i64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_dot_dot_are_not_ids_because_a_url_path_cannot_name_them() {
        for id in [".", ".."] {
            assert_eq!(OrgId::parse(id).unwrap_err().why, "a URL path cannot name it");
            assert!(UserId::parse(id).is_err() && GroupId::parse(id).is_err() && TenantId::parse(id).is_err());
        }
        assert!(OrgId::parse("...").is_ok() && UserId::parse(".a").is_ok());
    }

    #[test]
    fn organization_keys_ignore_case_and_treat_dash_and_underscore_alike() {
        let a = OrgId::parse("Song_One").unwrap();
        let b = OrgId::parse("song-one").unwrap();
        assert_eq!(a.key(), b.key());
        assert_ne!(a, b);
    }

    #[test]
    fn ids_reject_empty_long_and_odd_characters() {
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse(&"x".repeat(129)).is_err());
        assert!(UserId::parse("a/b").is_err());
        assert!(UserId::parse("singer-77").is_ok());
        assert!(ProductCode::parse("UNATT-HOSTING").is_ok());
        assert!(ProductCode::parse("a.b").is_err());
    }

    #[test]
    fn license_keys_round_trip_with_and_without_capability() {
        for raw in ["RPADEVNU", "analytics:creator"] {
            assert_eq!(LicenseKey::parse(raw).unwrap().to_string(), raw);
        }
        assert!(LicenseKey::parse("analytics:").is_err());
        assert!(LicenseKey::parse(":creator").is_err());
    }
}
