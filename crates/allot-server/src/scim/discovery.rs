//! What a SCIM client asks before provisioning (RFC 7644, section 4): the features this
//! service provider has, its resource types and their schemas.

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{MAX_RESULTS, Provisioner, ScimError, ScimResult, answer, groups, users};

const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

pub async fn service_provider_config(_: Provisioner) -> ScimResult<Response> {
    answer(
        StatusCode::OK,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "A SCIM token, or an access token of an API client with scope scim",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": "/scim/v2/ServiceProviderConfig"},
        }),
    )
}

fn resource_types_list() -> Vec<Value> {
    let kind = |name: &str, endpoint: &str, schema: &str| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "schema": schema,
            "schemaExtensions": [],
            "meta": {"resourceType": "ResourceType", "location": format!("/scim/v2/ResourceTypes/{name}")},
        })
    };
    vec![kind("User", "/Users", users::SCHEMA), kind("Group", "/Groups", groups::SCHEMA)]
}

pub async fn resource_types(_: Provisioner) -> ScimResult<Response> {
    answer(StatusCode::OK, list(resource_types_list()))
}

pub async fn resource_type(_: Provisioner, Path(name): Path<String>) -> ScimResult<Response> {
    let found = resource_types_list().into_iter().find(|t| t["id"].as_str().is_some_and(|id| id == name));
    answer(
        StatusCode::OK,
        found.ok_or_else(|| ScimError::new(StatusCode::NOT_FOUND, None, format!("no resource type `{name}`")))?,
    )
}

/// An attribute's definition.
fn attribute(name: &str, kind: &str, multi: bool, required: bool, mutability: &str, unique: bool) -> Value {
    json!({
        "name": name,
        "type": kind,
        "multiValued": multi,
        "required": required,
        "caseExact": matches!(name, "id" | "externalId"),
        "mutability": mutability,
        "returned": "default",
        "uniqueness": if unique { "server" } else { "none" },
        "description": "",
    })
}

fn with_subs(mut attribute: Value, subs: Vec<Value>) -> Value {
    attribute["subAttributes"] = Value::Array(subs);
    attribute
}

fn schemas_list() -> Vec<Value> {
    let rw = "readWrite";
    let string = |name: &str| attribute(name, "string", false, false, rw, false);
    let user = vec![
        attribute("userName", "string", false, true, rw, true),
        with_subs(
            attribute("name", "complex", false, false, rw, false),
            ["formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"]
                .into_iter()
                .map(string)
                .collect(),
        ),
        string("displayName"),
        with_subs(
            attribute("emails", "complex", true, false, rw, false),
            vec![
                string("value"),
                string("display"),
                string("type"),
                attribute("primary", "boolean", false, false, rw, false),
            ],
        ),
        attribute("active", "boolean", false, false, rw, false),
        with_subs(
            attribute("groups", "complex", true, false, "readOnly", false),
            vec![
                attribute("value", "string", false, false, "readOnly", false),
                attribute("$ref", "reference", false, false, "readOnly", false),
                attribute("display", "string", false, false, "readOnly", false),
                attribute("type", "string", false, false, "readOnly", false),
            ],
        ),
    ];
    let group = vec![
        attribute("displayName", "string", false, true, rw, true),
        with_subs(
            attribute("members", "complex", true, false, rw, false),
            vec![
                attribute("value", "string", false, false, "immutable", false),
                attribute("$ref", "reference", false, false, "immutable", false),
                attribute("display", "string", false, false, "readOnly", false),
                attribute("type", "string", false, false, "immutable", false),
            ],
        ),
    ];
    let schema = |id: &str, name: &str, attributes: Vec<Value>| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": id,
            "name": name,
            "description": name,
            "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": format!("/scim/v2/Schemas/{id}")},
        })
    };
    vec![schema(users::SCHEMA, "User", user), schema(groups::SCHEMA, "Group", group)]
}

pub async fn schemas(_: Provisioner) -> ScimResult<Response> {
    answer(StatusCode::OK, list(schemas_list()))
}

pub async fn schema(_: Provisioner, Path(urn): Path<String>) -> ScimResult<Response> {
    let found = schemas_list().into_iter().find(|s| s["id"].as_str().is_some_and(|id| id == urn));
    answer(
        StatusCode::OK,
        found.ok_or_else(|| ScimError::new(StatusCode::NOT_FOUND, None, format!("no schema `{urn}`")))?,
    )
}
