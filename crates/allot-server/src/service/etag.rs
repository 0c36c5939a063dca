//! ETag and If-Match for pools, group rules and a user's direct holdings: a write with a
//! stale `If-Match` answers 412 and changes nothing. The tag is a hash of the resource's
//! state, and the comparison runs under the writer lock, just before the commit.

use allot_core::{LicenseKey, Pool, ProductCode, Source, State};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use allot_api::ErrorCode;

/// A resource whose writes may be conditional.
#[derive(Debug, Clone)]
pub enum Resource {
    HostPools,
    OrgPools(String),
    ServicePools { org: String, tenant: allot_core::TenantId, service: allot_core::ServiceType },
    GroupRule { org: String, group: allot_core::GroupId },
    DirectLicenses { org: String, user: allot_core::UserId },
}

fn tag(value: &impl Serialize) -> String {
    let digest = Sha256::digest(serde_json::to_vec(value).unwrap_or_default());
    format!("\"{}\"", crate::hex(&digest[..12]))
}

fn pools<'a>(pools: impl Iterator<Item = (&'a LicenseKey, &'a Pool)>) -> Vec<(String, Pool)> {
    pools.filter(|(_, p)| !p.is_empty()).map(|(l, p)| (l.to_string(), *p)).collect()
}

impl Resource {
    /// The resource's current tag.
    pub fn etag(&self, books: &State) -> String {
        match self {
            Resource::HostPools => tag(&pools(books.host_pools().iter())),
            Resource::OrgPools(org) => tag(&books.org(org).map(|o| pools(o.pools.iter()))),
            Resource::ServicePools { org, tenant, service } => tag(&books
                .org(org)
                .and_then(|o| o.tenants.get(tenant))
                .map(|t| pools(t.pools.iter().filter(|((s, _), _)| s == service).map(|((_, l), p)| (l, p))))),
            Resource::GroupRule { org, group } => {
                tag(&books.org(org).and_then(|o| o.groups.get(group)).map(|g| &g.rule))
            }
            Resource::DirectLicenses { org, user } => {
                let direct: Option<Vec<(&ProductCode, &allot_core::Holding)>> = books
                    .org(org)
                    .and_then(|o| o.users.get(user))
                    .map(|u| u.holdings.iter().filter(|(_, h)| h.source == Source::Direct).collect());
                tag(&direct)
            }
        }
    }
}

/// The `If-Match` header of a write, if any.
#[derive(Debug, Clone, Default)]
pub struct IfMatch(Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.headers.get(header::IF_MATCH) {
            None => Ok(IfMatch(None)),
            Some(value) => match value.to_str().map(str::trim) {
                Ok(tag) if !tag.is_empty() => Ok(IfMatch(Some(tag.to_owned()))),
                _ => Err(ApiError::bad_request(ErrorCode::InvalidHeader, "If-Match must be an ETag or `*`")),
            },
        }
    }
}

impl IfMatch {
    /// Passes when there is no `If-Match`, when it is `*`, or when it names the current tag.
    pub fn require(&self, resource: &Resource, books: &State) -> ApiResult<()> {
        let Some(wanted) = &self.0 else { return Ok(()) };
        let current = resource.etag(books);
        // Strong comparison (RFC 9110): a weak tag never matches.
        let matches = wanted == "*" || wanted.split(',').map(str::trim).any(|t| t == current);
        if matches {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::PRECONDITION_FAILED,
                ErrorCode::PreconditionFailed,
                format!("If-Match {wanted} does not match the current ETag {current}: read the resource again"),
            ))
        }
    }
}

/// A JSON answer with the resource's ETag.
pub struct Tagged<T>(pub String, pub T);

impl<T: Serialize> IntoResponse for Tagged<T> {
    fn into_response(self) -> Response {
        let mut response = axum::Json(self.1).into_response();
        if let Ok(value) = HeaderValue::from_str(&self.0) {
            response.headers_mut().insert(header::ETAG, value);
        }
        response
    }
}
