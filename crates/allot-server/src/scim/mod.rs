//! SCIM 2.0 (RFC 7643, RFC 7644): identity providers provisioning an organization's users
//! and groups. So far: the filter language and the error answer; the endpoints follow.

pub mod filter;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// SCIM's own media type, for answers and errors alike.
pub const MEDIA_TYPE: &str = "application/scim+json";

/// An error as SCIM answers one (RFC 7644, section 3.12).
#[derive(Debug, Clone)]
pub struct ScimError {
    pub status: StatusCode,
    /// `invalidFilter`, `uniqueness`, `invalidValue`, `invalidPath`, `noTarget`, `mutability`, ...
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

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
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, scim_type: Some("invalidFilter"), detail: detail.into() }
    }
}

impl From<filter::InvalidFilter> for ScimError {
    fn from(error: filter::InvalidFilter) -> Self {
        Self::invalid_filter(error.0)
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
        response
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
