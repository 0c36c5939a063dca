//! The OpenAPI document, generated from the routes; `openapi.json` at the repository root
//! is a committed copy that a test keeps equal.

use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Required, ResponseBuilder, Schema, Type};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "allot",
        description = "Self-hosted license allocation: pools per scope, holdings, plans and an append-only ledger.\n\nEvery answer carries an `allot-revision` header. Every endpoint also takes `?min_revision=R`: the answer then reflects revision R or later, or is 503 with Retry-After if this process cannot reach R within a second, or 404 `revision_not_found` if the database has not reached R.",
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
        (name = "admins", description = "Host administrators and login lockouts"),
        (name = "health")
    )
)]
pub struct ApiDoc;

/// The schemas of `allot_api::schema`, which fields, parameters and headers refer to by name.
fn add_value_schemas(openapi: &mut utoipa::openapi::OpenApi) {
    use allot_api::schema::*;
    use utoipa::ToSchema;
    fn add<T: ToSchema>(schemas: &mut std::collections::BTreeMap<String, RefOr<Schema>>) {
        schemas.insert(T::name().into_owned(), T::schema());
    }
    let schemas = &mut openapi.components.get_or_insert_with(Default::default).schemas;
    add::<OrgId>(schemas);
    add::<UserId>(schemas);
    add::<GroupId>(schemas);
    add::<TenantId>(schemas);
    add::<ServiceType>(schemas);
    add::<ProductCode>(schemas);
    add::<License>(schemas);
    add::<ClientId>(schemas);
    add::<PlanId>(schemas);
    add::<Time>(schemas);
    add::<Quantity>(schemas);
    add::<Revision>(schemas);
    add::<Cursor>(schemas);
    add::<Password>(schemas);
    add::<Name>(schemas);
    add::<Scope>(schemas);
    add::<IdempotencyKey>(schemas);
}

/// The schema a path parameter's name stands for: every `{org}` is an organization id.
fn path_parameter_schema(name: &str) -> Option<&'static str> {
    Some(match name {
        "org" => "OrgId",
        "user" | "admin" => "UserId",
        "group" => "GroupId",
        "tenant" => "TenantId",
        "service" => "ServiceType",
        "license" => "License",
        "client_id" => "ClientId",
        "id" => "PlanId",
        _ => return None,
    })
}

/// What the server checks before any route runs, stated on each native operation: typed
/// path parameters, the `Idempotency-Key` of every write, `If-Match`, and the answers any
/// request may get (400 for a malformed query, 401/403 without the right token, 404 for
/// ids that do not exist, 413/415 for a body too large or not JSON, 429 past a rate limit).
pub fn describe_requests(openapi: &mut utoipa::openapi::OpenApi) {
    add_value_schemas(openapi);
    closed_variants(openapi, "PlanChange");
    closed_variants(openapi, "ChangeView");
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let writes = [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in writes.into_iter().flatten() {
            let parameters = operation.parameters.get_or_insert_with(Vec::new);
            parameters.push(
                ParameterBuilder::new()
                    .name("Idempotency-Key")
                    .parameter_in(ParameterIn::Header)
                    .required(Required::False)
                    .description(Some(
                        "The first answer for a key is replayed to retries for 24 hours; \
                         a request refused without changing anything keeps nothing.",
                    ))
                    .schema(Some(Ref::from_schema_name("IdempotencyKey")))
                    .build(),
            );
            let responses = &mut operation.responses.responses;
            respond(responses, "409", "`idempotency_in_progress`: the first request with this key is still running");
            respond(responses, "422", "`idempotency_key_reused`: the key was used with another method, path or body");
            if operation.request_body.is_some() {
                respond(responses, "413", "`body_too_large` or `too_many_items`");
                respond(
                    responses,
                    "408",
                    "`request_timeout`: the body did not arrive within `limits.body_read_timeout_secs`",
                );
                respond(
                    responses,
                    "415",
                    "`unsupported_media_type`: the body is not `application/json` (parameters allowed) or `application/<x>+json`",
                );
            }
        }
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            operation.parameters.get_or_insert_with(Vec::new).push(
                ParameterBuilder::new()
                    .name("min_revision")
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(
                        "Answer from revision R or later: a process behind catches up, waiting up to a second \
                         (then 503); a revision the database has not reached is 404 `revision_not_found`.",
                    ))
                    .schema(Some(Ref::from_schema_name("Revision")))
                    .build(),
            );
            let mut has_path_ids = false;
            // The check answers any user and license, known or not, with a reason.
            let any_user_and_license = operation.operation_id.as_deref() == Some("check");
            for parameter in operation.parameters.iter_mut().flatten() {
                match parameter.parameter_in {
                    ParameterIn::Path => {
                        has_path_ids = true;
                        let answered_for_any = any_user_and_license && parameter.name != "org";
                        if let Some(schema) = path_parameter_schema(&parameter.name).filter(|_| !answered_for_any) {
                            parameter.schema = Some(Ref::from_schema_name(schema).into());
                        }
                    }
                    ParameterIn::Header if parameter.name == "If-Match" => {
                        let etag = ObjectBuilder::new()
                            .schema_type(Type::String)
                            .pattern(Some(r"^[!-~]([ -~]*[!-~])?$"))
                            .description(Some("An ETag this resource answered, or `*`"));
                        parameter.schema = Some(etag.into());
                    }
                    _ => {}
                }
            }
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let responses = &mut operation.responses.responses;
            respond(
                responses,
                "400",
                "`invalid_query`, `invalid_body`, `malformed_json`, `invalid_header` or `invalid_id`",
            );
            if secured {
                respond(responses, "401", "`unauthorized`: no valid bearer token");
                respond(responses, "403", "`forbidden`: the token's role or scopes do not allow this");
            }
            let not_found = if has_path_ids {
                "`not_found`: nothing has this id, or it belongs to another organization; \
                 `revision_not_found`: see `min_revision`"
            } else {
                "`revision_not_found`: see `min_revision`"
            };
            respond(responses, "404", not_found);
            respond(
                responses,
                "429",
                "`rate_limited`: past the client's `rate_limits.native` (off by default); see `Retry-After`",
            );
        }
    }
}

/// Each variant of the `oneOf` schema `name` takes no other properties: the enum denies
/// unknown fields, which utoipa does not carry to its variants.
fn closed_variants(openapi: &mut utoipa::openapi::OpenApi, name: &str) {
    use utoipa::openapi::schema::AdditionalProperties;
    let schemas = &mut openapi.components.get_or_insert_with(Default::default).schemas;
    if let Some(RefOr::T(Schema::OneOf(one_of))) = schemas.get_mut(name) {
        for variant in &mut one_of.items {
            if let RefOr::T(Schema::Object(object)) = variant {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
        }
    }
}

/// Adds `status` to `responses` unless the operation documents it already.
fn respond(responses: &mut ResponseMap, status: &str, description: &str) {
    responses.entry(status.into()).or_insert_with(|| ResponseBuilder::new().description(description).into());
}

/// Every error of the native API is RFC 9457 problem+json: each answer of 400 and above
/// says so. (`/oauth/token` answers OAuth's own error shape, as it documents.)
pub fn describe_problems(openapi: &mut utoipa::openapi::OpenApi) {
    let problem = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    for (path, item) in openapi.paths.paths.iter_mut() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        let operations = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for operation in operations.into_iter().flatten() {
            for (status, response) in operation.responses.responses.iter_mut() {
                let error = status.parse::<u16>().is_ok_and(|s| s >= 400);
                if let (true, RefOr::T(response)) = (error, response) {
                    response.content.shift_remove("application/json");
                    response.content.insert("application/problem+json".into(), problem());
                }
            }
        }
    }
}

type ResponseMap = std::collections::BTreeMap<String, RefOr<utoipa::openapi::Response>>;

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
