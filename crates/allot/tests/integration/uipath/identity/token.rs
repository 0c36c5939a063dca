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
