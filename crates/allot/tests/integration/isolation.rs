//! One organization never sees another's data: its ids answer 404, as if absent.

use std::future::Future;
use std::pin::Pin;

use allot_api::{CreateClient, CreateTenant, ErrorCode, LedgerParams, PageQuery, PlanRequest, UpdateOrg, UpdateUser};
use allot_client::Call;
use serde::de::DeserializeOwned;

use crate::harness::{group, licenses, member, pools, refused, rule, spawn_app};

type Sent = Pin<Box<dyn Future<Output = allot_client::Result<()>> + Send>>;

/// A call of any answer, sent for its refusal.
fn sent<T: DeserializeOwned + std::fmt::Debug + Send + 'static>(call: Call<T>) -> Sent {
    Box::pin(async move { call.await.map(drop) })
}

fn scopes(name: &str, scope: &str) -> CreateClient {
    CreateClient { name: name.to_owned(), scopes: vec![scope.to_owned()] }
}

#[tokio::test]
async fn an_org_admin_of_a_gets_404_on_every_id_of_b() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let a = t.org_with(&admin, "org-a", &[("ATTUNU", 2), ("UNATT", 2)], &["alice"]).await;
    let _b = t.org_with(&admin, "org-b", &[("ATTUNU", 2), ("UNATT", 2)], &["bob"]).await;
    let host = t.client(&admin);
    host.create_group("org-b", &group("gb")).await.unwrap();
    host.create_tenant("org-b", &CreateTenant { id: "tb".into(), name: None }).await.unwrap();
    let client = host.create_client("org-b", &scopes("b", "allot:read")).await.unwrap();
    let client_id = client.client_id.as_str();

    let c = t.client(&a);
    let b = "org-b";
    let requests: Vec<(&str, Sent)> = vec![
        ("GET org", sent(c.org(b))),
        ("PATCH org", sent(c.update_org(b, &UpdateOrg { name: "mine".into() }))),
        ("DELETE org", sent(c.delete_org(b))),
        ("GET users", sent(c.users(b, &PageQuery::default()))),
        ("POST users", sent(c.create_user(b, &member("mole")))),
        ("GET user", sent(c.user(b, "bob"))),
        ("PATCH user", sent(c.update_user(b, "bob", &UpdateUser { name: Some("x".into()), ..UpdateUser::default() }))),
        ("DELETE user", sent(c.delete_user(b, "bob"))),
        ("PUT password", sent(c.set_password(b, "bob", "a long enough password"))),
        ("GET user licenses", sent(c.user_licenses(b, "bob"))),
        ("PUT user licenses", sent(c.set_user_licenses(b, "bob", &licenses(&["ATTUNU"])))),
        ("GET check", sent(c.check(b, "bob", "ATTUNU"))),
        ("GET groups", sent(c.groups(b))),
        ("POST groups", sent(c.create_group(b, &group("g2")))),
        ("GET group", sent(c.group(b, "gb"))),
        ("DELETE group", sent(c.delete_group(b, "gb"))),
        ("GET members", sent(c.members(b, "gb"))),
        ("POST members", sent(c.add_member(b, "gb", "bob"))),
        ("DELETE member", sent(c.remove_member(b, "gb", "bob"))),
        ("GET rule", sent(c.group_rule(b, "gb"))),
        ("PUT rule", sent(c.set_group_rule(b, "gb", &rule(&[])))),
        ("GET tenants", sent(c.tenants(b))),
        ("POST tenants", sent(c.create_tenant(b, &CreateTenant { id: "t2".into(), name: None }))),
        ("GET tenant", sent(c.tenant(b, "tb"))),
        ("DELETE tenant", sent(c.delete_tenant(b, "tb"))),
        ("GET service pools", sent(c.service_pools(b, "tb", "orchestrator"))),
        ("PUT service pools", sent(c.set_service_pools(b, "tb", "orchestrator", &pools(&[("UNATT", 1)])))),
        ("GET pools", sent(c.org_pools(b))),
        ("POST plans", sent(c.plan(b, &PlanRequest { apply: false, changes: vec![], after: None }))),
        ("GET ledger", sent(c.ledger(b, &LedgerParams::default()))),
        ("GET clients", sent(c.clients(b))),
        ("POST clients", sent(c.create_client(b, &scopes("x", "allot:read")))),
        ("DELETE client", sent(c.delete_client(b, client_id))),
        // The same organization under another spelling is still organization B.
        ("GET user as ORG_B", sent(c.user("ORG_B", "bob"))),
    ];
    for (what, request) in requests {
        assert_eq!(refused(request.await), (404, ErrorCode::NotFound), "{what}");
    }
    // A's list of organizations shows only A; B's data is intact.
    assert_eq!(c.orgs().await.unwrap().organizations.len(), 1);
    assert_eq!(host.user(b, "bob").await.unwrap().name, "bob");
    // A's own client cannot reach B either.
    let mine = c.create_client("org-a", &scopes("a", "allot:write")).await.unwrap();
    let tokens = t.anonymous().client_credentials(&mine.client_id, &mine.client_secret, None).await.unwrap();
    let machine = t.client(&tokens.access_token);
    assert_eq!(refused(machine.users(b, &PageQuery::default()).await), (404, ErrorCode::NotFound));
    machine.users("org-a", &PageQuery::default()).await.unwrap();
}
