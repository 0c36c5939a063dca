//! The token endpoint of `identity.token.yaml`.

use super::*;

#[tokio::test]
async fn the_password_grant_names_an_api_client_of_the_users_organization() {
    let (t, host, _) = setup().await;
    let app = app_client(&t, &host, "song-one").await;
    let (id, secret) = (app.client_id.as_str(), app.client_secret.as_str());
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let request = t.http.post(t.url(path)).form(&form);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let form = |secret: Option<&str>| {
        let mut form = vec![
            ("grant_type", "password".to_owned()),
            ("username", "boss".to_owned()),
            ("password", ORG_ADMIN_PASSWORD.to_owned()),
            ("client_id", id.to_owned()),
        ];
        form.extend(secret.map(|s| ("client_secret", s.to_owned())));
        form
    };
    let (status, body) = post("/song-one/identity_/connect/token", form(None)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_request")), "client_secret is required");
    let (status, body) = post("/song-one/identity_/connect/token", form(Some("wrong"))).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    // Without an organization in the path, the client's is the user's.
    let (status, body) = post("/identity_/connect/token", form(Some(secret))).await;
    assert_eq!(status, 200, "{body:#}");
    assert!(body["refresh_token"].is_string());

    t.client(&host).create_org(&allot_api::CreateOrg { id: "other".into(), name: None }).await.unwrap();
    t.client(&host).create_user("other", &person("boss", Role::Admin, ORG_ADMIN_PASSWORD)).await.unwrap();
    let (status, body) = post("/other/identity_/connect/token", form(Some(secret))).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")), "another organization's client");
    // The native endpoint keeps its password grant without a client.
    let native = t.token_form(&[
        ("grant_type", "password"),
        ("username", "admin"),
        ("password", crate::harness::ADMIN_PASSWORD),
    ]);
    native.await.expect(200);
}

/// The token endpoint's answer (RFC 6749 §5.1, as compat/uipath.md gives it); a refresh
/// token only for a person's grant.
fn token_answer() -> Shape {
    object_with_optional(
        vec![("access_token", Str), ("expires_in", Int), ("token_type", Str), ("scope", Str), ("refresh_token", Str)],
        &["refresh_token"],
    )
}

#[tokio::test]
async fn tokens_answer_the_same_fields_for_every_grant_with_all_fields_or_only_the_required_ones() {
    let (t, host, _) = setup().await;
    let app = app_client(&t, &host, "song-one").await;
    let send = |form: Vec<(&'static str, String)>| {
        let request = t.http.post(t.url("/song-one/identity_/connect/token")).form(&form);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let client = |scope: Option<&str>| {
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("client_id", app.client_id.clone()),
            ("client_secret", app.client_secret.clone()),
        ];
        form.extend(scope.map(|s| ("scope", s.to_owned())));
        form
    };
    // Only the required fields: the client's own scopes, and no refresh token.
    let (status, only_required) = send(client(None)).await;
    assert_eq!(status, 200, "{only_required:#}");
    assert_shape(&only_required, &token_answer());
    assert_eq!(
        (only_required["token_type"].as_str(), only_required["scope"].as_str()),
        (Some("Bearer"), Some("PM.User.Read"))
    );
    assert!(only_required.get("refresh_token").is_none(), "client credentials get no refresh token");
    let (status, every_field) = send(client(Some("PM.User.Read"))).await;
    assert_eq!(status, 200, "{every_field:#}");
    assert_shape(&every_field, &token_answer());

    // A person's grant with every field: a refresh token too.
    let person = identity_login(&t, "song-one", &app, "boss", ORG_ADMIN_PASSWORD).await;
    assert_shape(&person, &token_answer());
    assert!(person["refresh_token"].is_string() && person["expires_in"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn authenticate_without_a_tenancy_is_a_host_admins_login_and_answers_the_abp_envelope() {
    let t = spawn_app().await;
    let envelope = object(vec![
        ("result", nullable(Str)),
        ("targetUrl", nullable(Str)),
        ("success", Bool),
        ("error", nullable(object(vec![("code", Int), ("message", Str), ("details", nullable(Str))]))),
        ("unAuthorizedRequest", Bool),
        ("__abp", Bool),
    ]);
    let body = json!({"UsernameOrEmailAddress": "admin", "Password": crate::harness::ADMIN_PASSWORD});
    let ok = t.send(Method::POST, "/api/account/authenticate", None, Some(body)).await.expect(200);
    assert_shape(&ok, &envelope);
    let token = ok["result"].as_str().expect("the token is the result");
    t.get(token, "/api/v1/orgs").await.expect(200);
    let wrong = json!({"UsernameOrEmailAddress": "admin", "Password": "not the password"});
    let refused = t.send(Method::POST, "/api/account/authenticate", None, Some(wrong)).await;
    assert_eq!(refused.status, 401);
    assert_shape(&refused.body, &envelope);
    assert_eq!((refused.body["success"].as_bool(), refused.body["result"].is_null()), (Some(false), true));
}

#[tokio::test]
async fn the_discovery_document_names_the_token_endpoint_under_the_organization() {
    let t = spawn_app().await;
    let response = t.http.get(t.url("/song-one/identity_/.well-known/openid-configuration")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let discovery: Value = response.json().await.unwrap();
    assert_shape(
        &discovery,
        &object(vec![
            ("issuer", Str),
            ("token_endpoint", Str),
            ("grant_types_supported", array(Str)),
            ("scopes_supported", array(Str)),
            ("token_endpoint_auth_methods_supported", array(Str)),
            ("response_types_supported", array(Str)),
        ]),
    );
    assert!(discovery["token_endpoint"].as_str().unwrap().ends_with("/song-one/identity_/connect/token"));
    let grants = discovery["grant_types_supported"].as_array().unwrap();
    for grant in ["client_credentials", "password", "refresh_token"] {
        assert!(grants.contains(&json!(grant)), "{grant}");
    }
}
