//! SCIM 2.0 (RFC 7643, RFC 7644) at `/scim/v2`: identity providers provisioning an
//! organization's users and groups. The organization is the bearer token's own (an API
//! client with scope `scim`, or a long-lived SCIM token made for one); every write goes
//! through the planner and the ledger like any other change, the SCIM client as its actor.

pub mod discovery;
pub mod filter;
pub mod groups;
pub mod patch;
pub mod users;

use std::marker::PhantomData;

use allot_core::state::Org;
use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Digest as _;

use crate::app::{App, Caller};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::service::Denied;
use crate::service::OrgScope;
use crate::service::access::{Access, Family, Need};
use allot_api::ErrorCode;

/// SCIM's own media type, for answers and errors alike.
pub const MEDIA_TYPE: &str = "application/scim+json";

const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The most resources a page holds (`count` beyond it is lowered to it), as the service
/// provider's configuration says.
pub const MAX_RESULTS: usize = 1000;

pub fn router() -> Router<App> {
    let scim = Router::new()
        .route("/ServiceProviderConfig", get(discovery::service_provider_config))
        .route("/ResourceTypes", get(discovery::resource_types))
        .route("/ResourceTypes/{name}", get(discovery::resource_type))
        .route("/Schemas", get(discovery::schemas))
        .route("/Schemas/{urn}", get(discovery::schema))
        .route("/Users", get(users::list).post(users::create))
        .route("/Users/{id}", get(users::get).put(users::replace).patch(users::patch).delete(users::delete))
        .route("/Groups", get(groups::list).post(groups::create))
        .route("/Groups/{id}", get(groups::get).put(groups::replace).patch(groups::patch).delete(groups::delete));
    Router::new().nest("/scim/v2", scim)
}

/// An error as SCIM answers one (RFC 7644, section 3.12).
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    /// `invalidFilter`, `uniqueness`, `invalidValue`, `invalidPath`, `noTarget`, `mutability`, ...
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

pub type ScimResult<T> = Result<T, ScimError>;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    schemas: [&'static str; 1],
    /// The HTTP status, as a string (as the RFC's examples send it).
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scim_type: Option<&'static str>,
    detail: &'a str,
}

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<&'static str>, detail: impl Into<String>) -> Self {
        Self { status, scim_type, detail: detail.into() }
    }

    pub fn bad_request(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidFilter", detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidValue", detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request("invalidSyntax", detail)
    }

    /// The native API's error, in SCIM's terms.
    pub fn from_api(error: &ApiError) -> Self {
        let scim_type = match error.code() {
            ErrorCode::AlreadyExists => Some("uniqueness"),
            ErrorCode::InvalidBody | ErrorCode::InvalidId | ErrorCode::MalformedJson => Some("invalidValue"),
            _ => None,
        };
        let status = match error.code() {
            ErrorCode::AlreadyExists => StatusCode::CONFLICT,
            _ => error.status(),
        };
        Self::new(status, scim_type, error.detail())
    }
}

impl From<filter::InvalidFilter> for ScimError {
    fn from(error: filter::InvalidFilter) -> Self {
        Self::invalid_filter(error.0)
    }
}

impl From<ApiError> for ScimError {
    fn from(error: ApiError) -> Self {
        Self::from_api(&error)
    }
}

impl From<Denied> for ScimError {
    fn from(denied: Denied) -> Self {
        Self::from_api(&ApiError::from(denied))
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            schemas: ["urn:ietf:params:scim:api:messages:2.0:Error"],
            status: self.status.as_u16().to_string(),
            scim_type: self.scim_type,
            detail: &self.detail,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Reading, the default, or writing ([`Write`]).
pub struct Read;
pub struct Write;

pub trait Needs {
    const ACCESS: Access;
}

impl Needs for Read {
    const ACCESS: Access = Access::Read;
}

impl Needs for Write {
    const ACCESS: Access = Access::Write;
}

/// The token's own organization, authorized for SCIM by the one access rule
/// (service/access.rs): API clients by scope `scim`, people by role.
pub struct Provisioner<A = Read> {
    scope: OrgScope,
    needs: PhantomData<A>,
}

impl<A> std::ops::Deref for Provisioner<A> {
    type Target = OrgScope;

    fn deref(&self) -> &OrgScope {
        &self.scope
    }
}

impl<A: Needs + Send + Sync> FromRequestParts<App> for Provisioner<A> {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ScimError> {
        let principal = Principal::from_request_parts(parts, app).await.map_err(ScimError::from)?;
        let request_id =
            parts.extensions.get::<crate::middleware::RequestId>().map(|r| r.0.clone()).unwrap_or_default();
        let caller = Caller { principal, request_id, idempotency: None };
        let scope = OrgScope::authorize_home(app, caller, Need::new(Family::Scim, A::ACCESS))?;
        Ok(Self { scope, needs: PhantomData })
    }
}

impl<A> Provisioner<A> {
    /// Runs `read` on the organization's books as they are now.
    pub fn read_org<T>(&self, read: impl FnOnce(&Org) -> ScimResult<T>) -> ScimResult<T> {
        let books = self.app().books.read();
        let org = books.org(self.org().as_str()).ok_or_else(|| ScimError::from(self.gone()))?;
        read(org)
    }
}

/// A request's JSON body, sent as `application/scim+json` or `application/json`.
pub struct Body(pub Value);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ScimError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ScimError> {
        let kind = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let essence = kind.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if !matches!(essence.as_str(), MEDIA_TYPE | "application/json") {
            return Err(ScimError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                None,
                format!("send {MEDIA_TYPE} (or application/json), not `{kind}`"),
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| ScimError::new(e.status(), None, e.body_text()))?;
        serde_json::from_slice(&bytes).map(Body).map_err(|e| ScimError::invalid_syntax(format!("the body: {e}")))
    }
}

/// A listing's or a read's query.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    pub filter: Option<String>,
    pub start_index: Option<String>,
    pub count: Option<String>,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

fn names(list: &Option<String>) -> Vec<String> {
    let list = list.as_deref().unwrap_or_default();
    let plain = |name: &str| {
        let name = name.trim();
        // `urn:...:User:name.givenName` names `name.givenName`.
        let name =
            if name.to_ascii_lowercase().starts_with("urn:") { name.rsplit(':').next().unwrap_or(name) } else { name };
        name.to_ascii_lowercase()
    };
    list.split(',').map(plain).filter(|n| !n.is_empty()).collect()
}

impl ListQuery {
    fn number(text: &Option<String>, name: &str) -> ScimResult<Option<i64>> {
        text.as_deref()
            .map(|t| {
                t.trim().parse::<i64>().map_err(|_| ScimError::invalid_value(format!("{name}: `{t}` is not a number")))
            })
            .transpose()
    }

    /// `resource` with only the attributes asked for (and `schemas`, `id` always), or
    /// without those excluded.
    pub fn project(&self, resource: Value) -> ScimResult<Value> {
        let (only, except) = (names(&self.attributes), names(&self.excluded_attributes));
        let Value::Object(object) = resource else { return Ok(resource) };
        let keep = |name: &str| {
            let name = name.to_ascii_lowercase();
            let always = name == "id" || name == "schemas";
            always
                || ((only.is_empty() || only.iter().any(|o| o == &name || o.starts_with(&format!("{name}."))))
                    && !except.contains(&name))
        };
        let mut out = Map::new();
        for (key, value) in object {
            if !keep(&key) {
                continue;
            }
            let lower = key.to_ascii_lowercase();
            let subs: Vec<&str> = only.iter().filter_map(|o| o.strip_prefix(&format!("{lower}."))).collect();
            let value = match (value, subs.is_empty() || only.contains(&lower)) {
                (Value::Object(inner), false) => Value::Object(
                    inner.into_iter().filter(|(k, _)| subs.contains(&k.to_ascii_lowercase().as_str())).collect(),
                ),
                (value, _) => value,
            };
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// What a lookup by `id`, user name (or display name) or external id compares without
/// building the resource: Okta and Entra look each user up this way before creating it.
pub struct FastKey<'a> {
    pub id: &'a str,
    /// The attribute `name` is (lower case): `username` for users, `displayname` for groups.
    pub name_attribute: &'static str,
    pub name: &'a str,
    pub external_id: Option<&'a str>,
}

/// `attr eq "value"` on one of the attributes a [`FastKey`] holds, decided from the key.
fn fast_match(filter: &filter::Filter, key: &FastKey) -> Option<bool> {
    let filter::Filter::Compare(path, filter::Op::Eq, filter::Operand::String(wanted)) = filter else { return None };
    if path.sub.is_some() {
        return None;
    }
    match path.name.as_str() {
        "id" => Some(key.id == wanted),
        name if name == key.name_attribute => Some(key.name.eq_ignore_ascii_case(wanted)),
        "externalid" => Some(key.external_id == Some(wanted.as_str())),
        _ => None,
    }
}

/// A ListResponse of the resources `filter` lets through, a page from `startIndex` (from 1).
pub fn listing<'a, F: FnOnce() -> Value>(
    query: &ListQuery,
    resources: impl Iterator<Item = (FastKey<'a>, F)>,
    case_exact: fn(&str) -> bool,
) -> ScimResult<Value> {
    let filter = query.filter.as_deref().filter(|f| !f.trim().is_empty()).map(filter::parse).transpose()?;
    let start = ListQuery::number(&query.start_index, "startIndex")?.unwrap_or(1).max(1) as usize;
    let count = ListQuery::number(&query.count, "count")?.unwrap_or(100).clamp(0, MAX_RESULTS as i64) as usize;
    let (mut total, mut page) = (0usize, Vec::new());
    for (key, build) in resources {
        let passes = match &filter {
            None => true,
            Some(filter) => match fast_match(filter, &key) {
                Some(answer) => answer,
                None => {
                    let resource = build();
                    let passes = filter.matches(&resource, &case_exact)?;
                    if passes {
                        total += 1;
                        if total >= start && page.len() < count {
                            page.push(query.project(resource)?);
                        }
                    }
                    continue;
                }
            },
        };
        if passes {
            total += 1;
            if total >= start && page.len() < count {
                page.push(query.project(build())?);
            }
        }
    }
    Ok(json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": page.len(),
        "Resources": page,
    }))
}

/// The key of `object` that is `name` in any case, if there is one.
pub fn key_of(object: &Map<String, Value>, name: &str) -> Option<String> {
    object.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// Adds `meta` to a resource: its type, times, location (relative to `/scim/v2`) and its
/// version, a hash of the rest of the resource.
pub fn meta(resource: &mut Map<String, Value>, kind: &str, location: &str, times: (Option<i64>, Option<i64>)) {
    let version = {
        let digest = sha2::Sha256::digest(Value::Object(resource.clone()).to_string().as_bytes());
        let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("W/\"{hex}\"")
    };
    let mut meta = Map::new();
    meta.insert("resourceType".into(), json!(kind));
    if let Some(created) = times.0 {
        meta.insert("created".into(), json!(allot_api::common::rfc3339(created)));
    }
    if let Some(modified) = times.1.or(times.0) {
        meta.insert("lastModified".into(), json!(allot_api::common::rfc3339(modified)));
    }
    meta.insert("location".into(), json!(format!("/scim/v2/{location}")));
    meta.insert("version".into(), json!(version));
    resource.insert("meta".into(), Value::Object(meta));
}

fn version(resource: &Value) -> Option<&str> {
    resource.get("meta")?.get("version")?.as_str()
}

/// Answers `resource` as SCIM does: its media type, and its version as the ETag.
pub fn answer(status: StatusCode, resource: Value) -> ScimResult<Response> {
    let etag = version(&resource).and_then(|v| HeaderValue::from_str(v).ok());
    let mut response = (status, axum::Json(resource)).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    Ok(response)
}

/// 201 with the new resource and its location.
pub fn created(resource: Value) -> ScimResult<Response> {
    let location = resource.get("meta").and_then(|m| m.get("location")).and_then(Value::as_str).map(str::to_owned);
    let mut response = answer(StatusCode::CREATED, resource)?;
    if let Some(location) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Refuses a write whose `If-Match` names another version of `current` (412).
pub fn if_match(headers: &HeaderMap, current: &Value) -> ScimResult<()> {
    let Some(wanted) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let now = version(current).unwrap_or_default();
    let weakless = |v: &str| v.trim().trim_start_matches("W/").to_owned();
    if wanted.trim() == "*" || wanted.split(',').any(|w| weakless(w) == weakless(now)) {
        return Ok(());
    }
    Err(ScimError::new(StatusCode::PRECONDITION_FAILED, None, format!("the resource is at version {now}")))
}

/// Refuses a body whose `id` is not the resource's.
pub fn immutable_id(body: &Value, id: &impl std::fmt::Display) -> ScimResult<()> {
    match body.as_object().and_then(|o| key_of(o, "id").and_then(|k| o.get(&k).cloned())) {
        Some(Value::String(sent)) if sent != id.to_string() => {
            Err(ScimError::bad_request("mutability", format!("id is `{id}` and cannot change")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn an_error_is_answered_in_scims_schema_and_media_type() {
        use axum::response::IntoResponse as _;
        let response = super::ScimError::from(super::filter::parse("userName").unwrap_err()).into_response();
        assert_eq!(response.status(), 400);
        assert_eq!(response.headers()["content-type"], super::MEDIA_TYPE);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
        assert_eq!((body["status"].as_str(), body["scimType"].as_str()), (Some("400"), Some("invalidFilter")));
        assert!(body["detail"].as_str().unwrap().contains("operator"), "{body}");
    }
}
