//! The OpenAPI document is generated from the code and committed; they must not differ.

use crate::harness::spawn_app;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../allot-server/openapi.json");

#[tokio::test]
async fn the_committed_openapi_document_matches_the_code() {
    let generated = allot_server::openapi().to_pretty_json().unwrap() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == generated,
        "crates/allot-server/openapi.json differs from the code; regenerate it with UPDATE_OPENAPI=1 cargo nextest run openapi"
    );
    let document: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[tokio::test]
async fn the_server_serves_its_openapi_document_and_docs_page() {
    let t = spawn_app().await;
    let served: serde_json::Value =
        t.http.get(t.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(served["paths"]["/api/v1/orgs/{org}/plans"]["post"].is_object());
    let docs = t.http.get(t.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger-ui"));
    let bundle = t.http.get(t.url("/docs/swagger-ui-bundle.js")).send().await.unwrap();
    assert_eq!(bundle.status(), 200, "Swagger UI's assets are served from the binary");
}
