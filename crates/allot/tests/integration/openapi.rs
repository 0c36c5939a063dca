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

#[test]
fn every_native_error_is_documented_as_problem_json_and_every_secured_operation_answers_401() {
    let document: serde_json::Value = serde_json::to_value(allot_server::openapi()).unwrap();
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation["responses"].as_object() else { continue };
            operations += 1;
            if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(responses.contains_key("401"), "{method} {path} documents no 401");
            }
            for (status, response) in responses {
                if status.parse::<u16>().unwrap() >= 400 {
                    let content = response["content"].as_object().unwrap();
                    let keys: Vec<&String> = content.keys().collect();
                    assert_eq!(keys, ["application/problem+json"], "{method} {path} {status}");
                    let schema = &content["application/problem+json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/Problem", "{method} {path} {status}");
                }
            }
        }
    }
    assert!(operations > 30, "only {operations} native operations");
}
