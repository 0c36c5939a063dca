//! ETag and If-Match: a write against a stale tag answers 412 and changes nothing.

use allot_api::{CreateTenant, ErrorCode};
use allot_client::Call;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::harness::{group, licenses, pools, refused, rule, spawn_app};

/// A resource as JSON, less the revision it was read at.
fn state(resource: &impl Serialize) -> serde_json::Value {
    let mut state = serde_json::to_value(resource).unwrap();
    state["revision"] = serde_json::Value::Null;
    state
}

/// Writes `first` with the current tag, then `second` with the stale one, then with `*`.
async fn a_stale_tag_is_refused<T>(
    what: &str,
    read: impl Fn() -> Call<T>,
    first: impl Fn() -> Call<T>,
    second: impl Fn() -> Call<T>,
) where
    T: Serialize + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let tag = read().answer().await.unwrap().etag.unwrap();
    let new_tag = first().if_match(&tag).answer().await.unwrap().etag;
    assert_ne!(new_tag.as_deref(), Some(tag.as_str()), "{what}: a current tag applies and the write moves it");
    let before = read().answer().await.unwrap();
    assert_eq!(before.etag, new_tag, "{what}: GET answers the same tag");
    assert_eq!(refused(second().if_match(&tag).await), (412, ErrorCode::PreconditionFailed), "{what}");
    let after = read().await.unwrap();
    assert_eq!(state(&after), state(&before.body), "{what}: a refused write changes nothing");
    second().if_match("*").await.unwrap_or_else(|e| panic!("{what}: * matches any current state: {e}"));
}

#[tokio::test]
async fn a_stale_if_match_gets_412_and_changes_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 5), ("UNATT", 5)], &["a", "b"]).await;
    let client = t.client(&boss);
    client.create_group("acme", &group("g")).await.unwrap();
    client.create_tenant("acme", &CreateTenant { id: "t".into(), name: None }).await.unwrap();
    a_stale_tag_is_refused(
        "a user's licenses",
        || client.user_licenses("acme", "a"),
        || client.set_user_licenses("acme", "a", &licenses(&["ATTUNU"])),
        || client.set_user_licenses("acme", "a", &licenses(&[])),
    )
    .await;
    a_stale_tag_is_refused(
        "a group's rule",
        || client.group_rule("acme", "g"),
        || client.set_group_rule("acme", "g", &rule(&["ATTUNU"])),
        || client.set_group_rule("acme", "g", &rule(&[])),
    )
    .await;
    a_stale_tag_is_refused(
        "a tenant's pools",
        || client.service_pools("acme", "t", "orchestrator"),
        || client.set_service_pools("acme", "t", "orchestrator", &pools(&[("UNATT", 2)])),
        || client.set_service_pools("acme", "t", "orchestrator", &pools(&[("UNATT", 1)])),
    )
    .await;
    // The organization's pools, by the host admin.
    let host = t.client(&admin);
    let tag = host.org_pools("acme").answer().await.unwrap().etag.unwrap();
    client.set_user_licenses("acme", "b", &licenses(&["ATTUNU"])).await.unwrap();
    let raise = host.set_org_pools("acme", &pools(&[("ATTUNU", 9)])).if_match(&tag).await;
    assert_eq!(refused(raise), (412, ErrorCode::PreconditionFailed), "an allocation in between moves the pools' tag");
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await.0, 5);
}
