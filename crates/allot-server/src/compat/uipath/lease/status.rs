//! `user-license/status`: whether user licensing is on for the organization. allot always
//! licenses users (its tenants' service licenses say `userLicensingEnabled: true`), so
//! the status is `true`, stored nowhere, and cannot be turned off.

use allot_api::ErrorCode;
use axum::Json;

use crate::compat::uipath::{Account, PmLicense};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBytes, Read, Write, parse_json};

/// Always `true`.
pub async fn get_status(_account: Account<PmLicense, Read>) -> Json<bool> {
    Json(true)
}

/// `true` is what it already is (200 `true`); `false` is refused with 409.
pub async fn set_status(_account: Account<PmLicense, Write>, JsonBytes(body): JsonBytes) -> ApiResult<Json<bool>> {
    let enabled: bool = parse_json(&body)?;
    if enabled {
        Ok(Json(true))
    } else {
        Err(ApiError::conflict(ErrorCode::Conflict, "allot always licenses users: user licensing cannot be turned off"))
    }
}
