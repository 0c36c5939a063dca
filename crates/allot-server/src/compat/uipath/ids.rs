//! UiPath names an organization (its `accountId`, `partitionGlobalId`) by a UUID. allot's
//! organizations have readable ids, so each also has a **global id**: a UUID derived from
//! its key (RFC 9562 version 8, from SHA-256), the same on every process, stored nowhere.
//! Paths and bodies may name an organization by either; answers give the global id where
//! UiPath's definitions type the field as a UUID. Groups made natively have such ids too. A
//! tenant's global id, derived alike from its organization's key and its id, names both, as
//! UiPath's tenant ids do.

use allot_core::{GroupId, OrgId, TenantId};
use sha2::{Digest, Sha256};

use crate::app::App;

/// The organization's global id.
pub fn account_uuid(org: &OrgId) -> String {
    global_id(&format!("allot organization {}", org.key().as_str()))
}

/// A group's global id: its id when that is a UUID (groups made through the identity API),
/// else one derived from its organization and id, as for organizations.
pub fn group_uuid(org: &OrgId, group: &GroupId) -> String {
    if is_uuid(group.as_str()) {
        return group.as_str().to_owned();
    }
    global_id(&format!("allot group {} {}", org.key().as_str(), group.as_str()))
}

/// The id of the group of `org` that `named` stands for: its id or its global id; else
/// `named` as given (so an unknown one answers 404 as usual).
pub fn named_group(app: &App, org: &OrgId, named: &str) -> String {
    if !is_uuid(named) {
        return named.to_owned();
    }
    let books = app.books.read();
    let groups = books.org(org.as_str()).map(|o| &o.groups);
    let found = groups.and_then(|g| g.keys().find(|id| group_uuid(org, id).eq_ignore_ascii_case(named)));
    found.map_or_else(|| named.to_owned(), ToString::to_string)
}

/// The tenant's global id (tenant ids are unique only within their organization).
pub fn tenant_uuid(org: &OrgId, tenant: &TenantId) -> String {
    global_id(&format!("allot tenant {} {}", org.key().as_str(), tenant.as_str()))
}

/// An RFC 9562 version 8 UUID from SHA-256 of `name`.
fn global_id(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // variant 0b10
    crate::uuid_text(&bytes)
}

/// Whether `text` is spelled as a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The organization id `named` stands for: the id of the organization whose global id it
/// is, else `named` as given (so an unknown one answers 404 as usual).
pub fn named_org(app: &App, named: &str) -> String {
    if !is_uuid(named) {
        return named.to_owned();
    }
    let books = app.books.read();
    let found = books.orgs().find(|o| account_uuid(&o.id).eq_ignore_ascii_case(named));
    found.map_or_else(|| named.to_owned(), |o| o.id.to_string())
}

/// The organization and tenant whose tenant global id `named` is, if any.
pub fn named_tenant(app: &App, named: &str) -> Option<(OrgId, TenantId)> {
    if !is_uuid(named) {
        return None;
    }
    let books = app.books.read();
    let mut tenants = books.orgs().flat_map(|o| o.tenants.keys().map(move |t| (&o.id, t)));
    let found = tenants.find(|(org, tenant)| tenant_uuid(org, tenant).eq_ignore_ascii_case(named));
    found.map(|(org, tenant)| (org.clone(), tenant.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_are_uuids_stable_and_distinct() {
        let one = OrgId::parse("song-one").unwrap();
        let same = OrgId::parse("Song_One").unwrap();
        let two = OrgId::parse("song-two").unwrap();
        let id = account_uuid(&one);
        assert!(is_uuid(&id), "{id}");
        assert_eq!(&id[14..15], "8", "version 8: {id}");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "RFC variant: {id}");
        assert_eq!(id, account_uuid(&same), "one key, one id");
        assert_ne!(id, account_uuid(&two));
        let prod = TenantId::parse("prod").unwrap();
        let tenant = tenant_uuid(&one, &prod);
        assert!(is_uuid(&tenant) && tenant != id, "{tenant}");
        assert_eq!(tenant, tenant_uuid(&same, &prod));
        assert_ne!(tenant, tenant_uuid(&two, &prod), "one tenant id in two organizations, two global ids");
    }

    #[test]
    fn group_ids_are_uuids_their_own_when_they_are_one() {
        let org = OrgId::parse("song-one").unwrap();
        let native = GroupId::parse("devs").unwrap();
        let id = group_uuid(&org, &native);
        assert!(is_uuid(&id) && &id[14..15] == "8", "{id}");
        assert_ne!(id, group_uuid(&OrgId::parse("song-two").unwrap(), &native), "one per organization");
        let given = GroupId::parse("0f8fad5b-d9cb-469f-a165-70867728950e").unwrap();
        assert_eq!(group_uuid(&org, &given), given.as_str());
    }

    #[test]
    fn uuid_spelling() {
        assert!(is_uuid("feb0dd79-85b6-483b-b297-0e49a1aa5b7d"));
        assert!(!is_uuid("song-one"));
        assert!(!is_uuid("feb0dd79-85b6-483b-b297-0e49a1aa5b7"));
        assert!(!is_uuid("feb0dd79x85b6-483b-b297-0e49a1aa5b7d"));
    }
}
