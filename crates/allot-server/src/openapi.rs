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
