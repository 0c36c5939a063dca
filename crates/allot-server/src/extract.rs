//! Strict extractors: bodies and queries that do not parse answer problem+json naming the
//! problem (unknown fields, wrong types, oversize), never axum's plain-text rejections.

use std::marker::PhantomData;
use std::ops::Deref;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::app::Caller;
use crate::error::ApiError;
use crate::service::{Access, HostScope, Need, OrgScope};
use allot_api::ErrorCode;

/// A JSON body. Unknown fields are refused by the types (`deny_unknown_fields`).
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let JsonBytes(bytes) = JsonBytes::from_request(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

/// A body sent as JSON, not yet parsed: for the dialects, which parse their own shapes.
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let sent_as_json = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(is_json);
        if !sent_as_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BodyTooLarge, "the body is larger than 1 MiB")
            } else {
                ApiError::bad_request(ErrorCode::InvalidBody, rejection.body_text())
            }
        })?;
        Ok(JsonBytes(bytes))
    }
}

/// Whether a Content-Type names JSON: `application/json`, a structured-syntax suffix
/// `application/<subtype>+json` (RFC 6839), or `text/json` (which .NET clients send, and
/// UiPath's definitions list), with any parameters. Not `application/jsonx`, not
/// `text/html+json`. None of these is a type a cross-site form can send without a preflight.
pub fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence == "text/json" {
        return true;
    }
    let Some(subtype) = essence.strip_prefix("application/") else {
        return false;
    };
    let is_token = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b));
    subtype == "json" || subtype.strip_suffix("+json").is_some_and(is_token)
}

/// Parses JSON, naming the path of a bad field in the message.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        let code = if inner.is_syntax() || inner.is_eof() { ErrorCode::MalformedJson } else { ErrorCode::InvalidBody };
        let detail = if path == "." { inner.to_string() } else { format!("{path}: {inner}") };
        ApiError::bad_request(code, detail)
    })?;
    deserializer.end().map_err(|e| ApiError::bad_request(ErrorCode::MalformedJson, e.to_string()))?;
    Ok(value)
}

/// Query parameters, with the same care.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_from(query).map(Query)
    }
}

fn serde_urlencoded_from<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}").parse().map_err(|_| bad_query("the query string is malformed"))?,
    )
    .map(|q| q.0)
    .map_err(|rejection| bad_query(rejection.body_text().trim_start_matches("Failed to deserialize query string: ")))
}

fn bad_query(detail: &str) -> ApiError {
    ApiError::bad_request(ErrorCode::InvalidQuery, detail.to_owned())
}

/// Path parameters. Ids that do not parse name nothing that exists: 404, as an unknown id.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<crate::App> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &crate::App) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, app).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(rejection) => {
                Err(ApiError::not_found(format!("there is nothing at {}: {}", parts.uri.path(), rejection.body_text())))
            }
        }
    }
}

/// What a native route needs of its organization: [`Read`] or [`Write`].
pub trait Needs {
    const ACCESS: Access;
}

pub struct Read;
pub struct Write;

impl Needs for Read {
    const ACCESS: Access = Access::Read;
}

impl Needs for Write {
    const ACCESS: Access = Access::Write;
}

/// The organization of a native route's `{org}`, authorized for `A`: the caller is
/// authenticated, the rule of service/access.rs allows `A`, and another organization's id
/// answers 404 like an unknown one. Handlers take it and call the service on it.
pub struct Org<A>(pub OrgScope, PhantomData<A>);

impl<A> Deref for Org<A> {
    type Target = OrgScope;

    fn deref(&self) -> &OrgScope {
        &self.0
    }
}

/// A route's path parameters, by name, for the extractors that pick what they need.
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    pub fn get(&self, name: &str) -> Option<String> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, value)| value.clone())
    }
}

impl FromRequestParts<crate::App> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &crate::App) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, app)
            .await
            .map_err(|rejection| ApiError::not_found(rejection.body_text()))?;
        Ok(Self(params.iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect()))
    }
}

impl<A: Needs> FromRequestParts<crate::App> for Org<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &crate::App) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, app).await?;
        let org = PathParams::from_request_parts(parts, app).await?.get("org");
        let org = org.ok_or_else(|| ApiError::internal("a route with Org<_> has no {org}"))?;
        Ok(Org(OrgScope::authorize(app, caller, &org, Need::native(A::ACCESS))?, PhantomData))
    }
}

/// The host, for its administrators only (403 for anyone else).
pub struct Host(pub HostScope);

impl Deref for Host {
    type Target = HostScope;

    fn deref(&self) -> &HostScope {
        &self.0
    }
}

impl FromRequestParts<crate::App> for Host {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &crate::App) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, app).await?;
        HostScope::authorize(app, caller).map(Host)
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn only_json_and_json_suffixes_are_json() {
        for json in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/problem+json",
            "application/vnd.newvoicemedia.v4+json; charset=UTF-8",
            "text/json; charset=utf-8",
        ] {
            assert!(is_json(json), "{json}");
        }
        for other in [
            "application/jsonx",
            "text/html+json",
            "text/jsonx",
            "application/+json",
            "application/json-patch",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
        ] {
            assert!(!is_json(other), "{other}");
        }
    }
}
