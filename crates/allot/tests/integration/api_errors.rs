//! Bad input gets a 4xx problem+json that names the problem, and changes nothing.

use allot_api::{CreateOrg, ErrorCode, LedgerParams, LicenseSpec, PageQuery, SetUserLicenses};
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{give, held, pools, refused, spawn_app};

#[tokio::test]
async fn malformed_json_unknown_fields_and_wrong_types_are_named() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let raw = t
        .http
        .post(t.url("/api/v1/orgs"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body("{\"id\": \"x\" \"name\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(raw.headers()["content-type"], "application/problem+json");
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["code"], "malformed_json");

    let unknown = t.post(&admin, "/api/v1/orgs", json!({"id": "x", "colour": "red"})).await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (400, "invalid_body"));
    assert!(unknown.body["detail"].as_str().unwrap().contains("unknown field `colour`"), "{}", unknown.body);

    let wrong = t.put(&admin, "/api/v1/host/pools", json!({"pools": [{"license": "UNATT", "quantity": "ten"}]})).await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body["detail"].as_str().unwrap().starts_with("pools[0].quantity"), "{}", wrong.body);

    let host = t.client(&admin);
    let negative = host.set_host_pools(&pools(&[("UNATT", -1)])).await;
    assert_eq!(refused(negative).0, 400);
    let no_type = t.http.post(t.url("/api/v1/orgs")).bearer_auth(&admin).body("{}").send().await.unwrap();
    assert_eq!(no_type.status(), 415);
    assert!(host.orgs().await.unwrap().organizations.is_empty(), "nothing was created");
}

#[tokio::test]
async fn bodies_over_one_mib_and_requests_over_10000_items_are_refused() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a"]).await;
    let huge = CreateOrg { id: "x".into(), name: Some("n".repeat(1024 * 1024 + 1)) };
    assert_eq!(refused(t.client(&admin).create_org(&huge).await), (413, ErrorCode::BodyTooLarge));

    let users: Vec<String> = (0..10_001).map(|i| format!("u{i}")).collect();
    let users: Vec<&str> = users.iter().map(String::as_str).collect();
    let error = t.client(&boss).plan("acme", &give(&users, &["ATTUNU", "TSTNU"], false)).await.unwrap_err();
    assert_eq!((error.status().unwrap().as_u16(), error.code()), (413, Some(ErrorCode::TooManyItems)));
    assert!(error.problem().unwrap().detail.contains("10001"), "{error}");
}

#[tokio::test]
async fn page_limits_over_1000_and_bad_queries_are_refused() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1)], &["a"]).await;
    let client = t.client(&boss);
    let users = client.users("acme", &PageQuery { limit: Some(1001), after: None }).await.map(drop);
    let ledger = client.ledger("acme", &LedgerParams { limit: Some(5000), ..LedgerParams::default() }).await.map(drop);
    for (what, answer) in [("users", users), ("ledger", ledger)] {
        let error = answer.unwrap_err();
        assert_eq!((error.status().unwrap().as_u16(), error.code()), (400, Some(ErrorCode::InvalidQuery)), "{what}");
        assert!(error.problem().unwrap().detail.contains("1000"), "{what}: {error}");
    }
    let banana = client.ledger("acme", &LedgerParams { after: Some("banana".into()), ..LedgerParams::default() }).await;
    assert_eq!(refused(banana).0, 400);
    // Queries no typed request can carry.
    let answer = t.get(&boss, "/api/v1/orgs/acme/ledger?limit=ten").await;
    assert_eq!((answer.status.as_u16(), answer.code()), (400, "invalid_query"));
    let answer = t.get(&boss, "/api/v1/orgs/acme/ledger?colour=red").await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_problems() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let answer = t.get(&admin, "/api/v1/nothing-here").await;
    assert_eq!((answer.status.as_u16(), answer.code()), (404, "not_found"));
    assert_eq!(answer.content_type(), "application/problem+json");
    let answer = t.send(Method::PATCH, "/api/v1/products", Some(&admin), Some(json!({}))).await;
    assert_eq!((answer.status.as_u16(), answer.code()), (405, "method_not_allowed"));
}

#[tokio::test]
async fn violations_carry_stable_codes_and_statuses() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("ATTUNU", 1), ("UNATT", 1)], &["a"]).await;
    let dated = |from: Option<&str>, until: &str| LicenseSpec {
        valid_from: from.map(str::to_owned),
        valid_until: Some(until.to_owned()),
        ..held("ATTUNU")
    };
    let cases = [
        (held("NOPE"), 422, ErrorCode::UnknownLicense),
        (held("UNATT"), 409, ErrorCode::WrongLicenseKind),
        (held("ACNU"), 409, ErrorCode::NotPurchased),
        (dated(Some("2030-01-02T00:00:00Z"), "2030-01-01T00:00:00Z"), 422, ErrorCode::InvalidDates),
        (dated(None, "tomorrow"), 400, ErrorCode::InvalidBody),
        (held("bad code!"), 400, ErrorCode::InvalidBody),
    ];
    let client = t.client(&boss);
    for (spec, status, code) in cases {
        let what = format!("{spec:?}");
        let answer = client.set_user_licenses("acme", "a", &SetUserLicenses { licenses: vec![spec] }).await;
        assert_eq!(refused(answer), (status, code), "{what}");
    }
    let ghost = client.set_user_licenses("acme", "ghost", &SetUserLicenses { licenses: vec![] }).await;
    assert_eq!(refused(ghost), (404, ErrorCode::NotFound));
    let lowered = t.client(&admin).set_host_pools(&pools(&[("ATTUNU", 0)])).await;
    assert_eq!(refused(lowered), (409, ErrorCode::QuantityInUse));
    assert_eq!(t.org_pool(&boss, "acme", "ATTUNU").await, (1, 0));
}

#[tokio::test]
async fn a_path_with_invalid_utf8_answers_problem_json() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    for path in ["/api/v1/orgs/%ff/users", "/api/v1/orgs/%ff", "/api/v1/orgs/%ff/users/%fe/licenses/ATTUNU"] {
        let answer = t.get(&admin, path).await;
        assert_eq!(answer.status, 404, "{path}: {:#}", answer.body);
        assert_eq!(answer.content_type(), "application/problem+json", "{path}");
        assert_eq!(answer.code(), "not_found", "{path}");
    }
}

/// A raw request with this Content-Type: status, `allot-revision`, content type and body.
pub async fn sent_as(
    t: &crate::harness::TestApp,
    method: Method,
    path: &str,
    token: &str,
    content_type: &str,
    body: &str,
) -> (u16, String, String, Value) {
    let response = t
        .http
        .request(method, t.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (revision, kind) = (header("allot-revision"), header("content-type"));
    (status, revision, kind, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn json_look_alike_content_types_are_refused_415_and_change_nothing() {
    let t = spawn_app().await;
    let admin = t.admin().await;
    let body = r#"{"id": "acme"}"#;
    let (_, before, _, _) = sent_as(&t, Method::GET, "/api/v1/orgs", &admin, "application/json", "").await;
    for look_alike in ["application/jsonx", "text/html+json", "text/jsonx", "application/+json", "text/plain"] {
        let (status, revision, kind, answer) =
            sent_as(&t, Method::POST, "/api/v1/orgs", &admin, look_alike, body).await;
        assert_eq!((status, answer["code"].as_str()), (415, Some("unsupported_media_type")), "{look_alike}: {answer}");
        assert_eq!(kind, "application/problem+json", "{look_alike}");
        assert_eq!(revision, before, "{look_alike} moved the revision");
    }
    assert!(t.client(&admin).orgs().await.unwrap().organizations.is_empty(), "nothing was created");
    // JSON with parameters, and a real +json suffix, are JSON.
    let charset = sent_as(&t, Method::POST, "/api/v1/orgs", &admin, "application/json; charset=utf-8", body).await;
    assert_eq!(charset.0, 201, "{}", charset.3);
    let suffix = r#"{"id": "acme-2"}"#;
    let vendor = sent_as(&t, Method::POST, "/api/v1/orgs", &admin, "application/vnd.allot+json", suffix).await;
    assert_eq!(vendor.0, 201, "{}", vendor.3);
    let dotnet = sent_as(&t, Method::POST, "/api/v1/orgs", &admin, "text/json", r#"{"id": "acme-3"}"#).await;
    assert_eq!(dotnet.0, 201, "text/json, as .NET clients send it: {}", dotnet.3);
}

#[tokio::test]
async fn percent_encoded_dot_ids_are_refused_and_change_nothing() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let t = spawn_app().await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("RPADEVNU", 5)], &["ann"]).await;
    let (_, before, _, _) = sent_as(&t, Method::GET, "/api/v1/orgs/acme", &boss, "application/json", "").await;
    // Sent raw: a URL library would resolve these as dot segments before sending.
    for id in ["%2E", "%2e%2E", ".%2e"] {
        let mut stream = tokio::net::TcpStream::connect(t.addr).await.unwrap();
        let request = format!(
            "DELETE /api/v1/orgs/acme/users/{id} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {admin}\r\nConnection: close\r\n\r\n",
            t.addr
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 404"), "{id}: {answer}");
        let lower = answer.to_ascii_lowercase();
        assert!(lower.contains("content-type: application/problem+json"), "{id}: {answer}");
        assert!(lower.contains(&format!("allot-revision: {before}\r\n")), "{id} moved the revision: {answer}");
    }
    let native = t.client(&admin);
    assert!(native.user("acme", "ann").await.is_ok(), "ann is still there");
}
