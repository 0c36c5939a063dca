//! UiPath's identity API (`definitions/identity.yaml`): the groups and users of an
//! organization, its `partitionGlobalId` (its id or its global id). Paths without one
//! take the organization from the body's `partitionGlobalId`, else the path's `/{org}`
//! prefix, else the caller's own organization.

mod groups;
mod shapes;
mod users;
mod views;

use allot_core::state::Org;
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::{App, Caller};
use crate::error::{ApiError, ApiResult};
use crate::prefix::OrgPrefix;
use crate::service::OrgScope;
use allot_api::ErrorCode;
use shapes::{IdentityError, IdentityResult};

pub fn routes() -> Router<App> {
    Router::new()
        // One path, three meanings: GET lists an organization's groups and DELETE deletes
        // some of them; PUT updates one group.
        .route("/identity_/api/Group/{id}", get(groups::list).put(groups::update).delete(groups::delete_many))
        .route("/identity_/api/Group/{org}/{group}", get(groups::one).delete(groups::delete))
        .route("/identity_/api/Group", post(groups::create))
        .route("/identity_/api/User", post(users::create).delete(users::delete_many))
        .route("/identity_/api/User/BulkCreate", post(users::create_many))
        .route("/identity_/api/User/users/{org}", get(users::list))
        .route("/identity_/api/User/{user}", get(users::one).put(users::update).delete(users::delete))
        .route("/identity_/api/User/{user}/changepassword", post(users::change_password))
}

/// The organization a body names (`partitionGlobalId`), else the path's `/{org}` prefix,
/// else the caller's own.
fn body_org(caller: &Caller, prefix: Option<&OrgPrefix>, named: Option<&str>) -> ApiResult<String> {
    match named.filter(|n| !n.is_empty()) {
        Some(named) => Ok(named.to_owned()),
        None => super::user_org(caller, prefix),
    }
}

/// Reads the organization in the books, once the awaits are done.
fn read_org<T>(scope: &OrgScope, read: impl FnOnce(&Org) -> ApiResult<T>) -> ApiResult<T> {
    let books = scope.app().books.read();
    books.org(scope.org().as_str()).map_or_else(|| Err(scope.gone()), read)
}

/// How the user operations answer: an IdentityResult, with `succeeded: false` and the
/// reason for a bad request (400), as the definitions give both; other errors as usual.
pub enum Failed {
    Api(ApiError),
    /// A failure in ASP.NET Identity's own words (its code and description).
    Identity {
        code: &'static str,
        description: &'static str,
    },
}

impl Failed {
    /// A password change whose current password is wrong.
    fn mismatch() -> Self {
        Self::Identity { code: "PasswordMismatch", description: "Incorrect password." }
    }
}

impl From<ApiError> for Failed {
    fn from(error: ApiError) -> Self {
        Self::Api(error)
    }
}

fn failure(code: &str, description: &str) -> Response {
    let error = IdentityError { code: Some(code.to_owned()), description: Some(description.to_owned()) };
    (StatusCode::BAD_REQUEST, Json(IdentityResult { succeeded: false, errors: Some(vec![error]) })).into_response()
}

impl IntoResponse for Failed {
    fn into_response(self) -> Response {
        match self {
            // A weak password is UiPath's 400 too (ASP.NET Identity's `PasswordTooShort`).
            Self::Api(error)
                if error.status() == StatusCode::BAD_REQUEST || error.code() == ErrorCode::WeakPassword =>
            {
                failure(error.code().as_str(), error.detail())
            }
            Self::Api(error) => error.into_response(),
            Self::Identity { code, description } => failure(code, description),
        }
    }
}

/// An IdentityResult operation's answer.
pub type Identity = Result<Json<IdentityResult>, Failed>;

fn succeeded() -> Identity {
    Ok(Json(IdentityResult::success()))
}
