//! The UiPath dialect's identity operations, against UiPath's definitions
//! (`definitions/identity.yaml`, `identity.token.yaml`): every operation with every
//! documented field, and with only the required ones. The definitions' shapes and the
//! helpers are here; the tests, by resource, below.

mod groups;
mod lifetimes;
mod token;
mod users;

use allot_api::{CreateGroup, Role};
use allot_core::OrgId;
use reqwest::Method;
use serde_json::{Value, json};

use super::shape::{
    Bool, DateTime, Int, Shape, Str, Uuid, array, assert_shape, map, nullable, object, object_with_optional, one_of,
};
use super::{ORG_ADMIN_PASSWORD, app_client, grant_org, host_buys, host_login, identity_login, song_one};
use crate::harness::{TestApp, person, spawn_app};

const GROUP_TYPES: &[&str] = &["builtIn", "custom"];
const USER_TYPES: &[&str] = &["user", "robot", "directoryUser", "directoryGroup", "robotAccount", "application"];
const STRONG: &str = "a long enough password";
const STRONGER: &str = "an even longer password";

/// DirectoryUser (DirectoryEntity's fields and its own).
fn directory_user() -> Shape {
    object(vec![
        ("objectType", Str),
        ("source", nullable(Str)),
        ("identifier", nullable(Str)),
        ("name", nullable(Str)),
        ("email", nullable(Str)),
        ("displayName", nullable(Str)),
        ("firstName", nullable(Str)),
        ("lastName", nullable(Str)),
        ("jobTitle", nullable(Str)),
        ("companyName", nullable(Str)),
        ("city", nullable(Str)),
        ("department", nullable(Str)),
        ("extensionUserAttributes", nullable(map(Str))),
        ("externalId", nullable(Str)),
        ("creationTime", DateTime),
    ])
}

fn group_dto() -> Shape {
    object(vec![
        ("id", Uuid),
        ("name", nullable(Str)),
        ("displayName", nullable(Str)),
        ("type", one_of(GROUP_TYPES)),
        ("creationTime", DateTime),
        ("lastModificationTime", nullable(DateTime)),
        ("members", nullable(array(directory_user()))),
    ])
}

fn user_dto() -> Shape {
    user_dto_with(Uuid)
}

/// UserDto, its `id` of `id`'s shape: the seed's users have the guide's ids (`singer-77`),
/// which are not UUIDs.
fn user_dto_with(id: Shape) -> Shape {
    object(vec![
        ("id", id),
        ("userName", nullable(Str)),
        ("email", nullable(Str)),
        ("emailConfirmed", Bool),
        ("name", nullable(Str)),
        ("surname", nullable(Str)),
        ("displayName", nullable(Str)),
        ("creationTime", DateTime),
        ("lastModificationTime", nullable(DateTime)),
        ("lastLoginTime", nullable(DateTime)),
        ("groupIDs", nullable(array(Uuid))),
        ("legacyId", Int),
        ("isActive", Bool),
        ("bypassBasicAuthRestriction", Bool),
        ("type", one_of(USER_TYPES)),
        ("invitationAccepted", Bool),
    ])
}

fn user_page() -> Shape {
    object(vec![("totalCount", Int), ("results", nullable(array(user_dto())))])
}

fn identity_result() -> Shape {
    object(vec![
        ("succeeded", Bool),
        ("errors", nullable(array(object(vec![("code", nullable(Str)), ("description", nullable(Str))])))),
    ])
}

/// song-one's global id, as UiPath names a partition.
fn partition() -> String {
    allot_server::compat::uipath::ids::account_uuid(&OrgId::parse("song-one").unwrap())
}

const ADA: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
const BOB: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
const TEAM: &str = "6ba7b810-9dad-41d1-80b4-00c04fd430c8";

async fn setup() -> (TestApp, String, String) {
    let t = spawn_app().await;
    let host = host_login(&t).await;
    let boss = song_one(&t, &host).await;
    (t, host, boss)
}

#[track_caller]
fn succeeded(answer: crate::harness::Answer) {
    let body = answer.expect(200);
    assert_shape(&body, &identity_result());
    assert_eq!(body, json!({"succeeded": true, "errors": []}));
}

#[track_caller]
fn failed(answer: crate::harness::Answer, code: &str) {
    let body = answer.expect(400);
    assert_shape(&body, &identity_result());
    assert_eq!((&body["succeeded"], &body["errors"][0]["code"]), (&json!(false), &json!(code)), "{body:#}");
}

/// Creates Ada and Bob (UUID ids), members of nothing.
async fn ada_and_bob(t: &TestApp, boss: &str) {
    for (id, name) in [(ADA, "Ada"), (BOB, "Bob")] {
        let user = json!({"id": id, "userName": name.to_lowercase(), "name": name, "partitionGlobalId": partition()});
        succeeded(t.post(boss, "/identity_/api/User", user).await);
    }
}
