//! The OpenAPI document, generated from the routes; `openapi.json` at the repository root
//! is a committed copy that a test keeps equal.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "allot",
        description = "Self-hosted license allocation: pools per scope, holdings, plans and an append-only ledger.\n\nEvery answer carries an `allot-revision` header. Every endpoint also takes `?min_revision=R`: the answer then reflects revision R or later, or is 503 with Retry-After if this process cannot reach R within a second.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Tokens"),
        (name = "organizations"), (name = "users"), (name = "groups"), (name = "tenants"),
        (name = "products", description = "The license catalogue"),
        (name = "pools", description = "Quantities per scope: host, organization, tenant service"),
        (name = "licenses", description = "Holdings, group rules and the check"),
        (name = "plans", description = "Validate or apply a batch of changes"),
        (name = "ledger", description = "Every applied change"),
        (name = "clients", description = "API clients of an organization"),
        (name = "health")
    )
)]
pub struct ApiDoc;

/// Every native write takes an `Idempotency-Key`; the document says so for each of them.
pub fn describe_idempotency(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ObjectBuilder, Required, ResponseBuilder, Type};
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for operation in [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten() {
            let parameter = ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Quoted or bare. The first answer for a key is replayed to retries for 24 hours; \
                     a request refused without changing anything keeps nothing.",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build();
            operation.parameters.get_or_insert_with(Vec::new).push(parameter);
            let responses = &mut operation.responses.responses;
            responses.entry("409".into()).or_insert_with(|| {
                ResponseBuilder::new()
                    .description("`idempotency_in_progress`: the first request with this key is still running")
                    .into()
            });
            responses.entry("422".into()).or_insert_with(|| {
                ResponseBuilder::new()
                    .description("`idempotency_key_reused`: the key was used with another method, path or body")
                    .into()
            });
        }
    }
}

/// Every error of the native API is RFC 9457 problem+json: each answer of 400 and above
/// says so, and every operation that takes a token documents the 401 of a missing or
/// invalid one. (`/oauth/token` answers OAuth's own error shape, as it documents.)
pub fn describe_problems(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    let problem = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let responses = &mut operation.responses.responses;
            if secured {
                responses.entry("401".into()).or_insert_with(|| {
                    ResponseBuilder::new().description("`unauthorized`: no valid bearer token").into()
                });
            }
            for (status, response) in responses.iter_mut() {
                let error = status.parse::<u16>().is_ok_and(|s| s >= 400);
                if let (true, RefOr::T(response)) = (error, response) {
                    response.content.shift_remove("application/json");
                    response.content.insert("application/problem+json".into(), problem());
                }
            }
        }
    }
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
