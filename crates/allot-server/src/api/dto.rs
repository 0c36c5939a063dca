//! Request fields the native API parses on the way in.

use allot_core::Timestamp;
use time::OffsetDateTime;

use crate::error::ApiError;
use allot_api::ErrorCode;

/// Parses an optional RFC 3339 timestamp from a request.
pub fn parse_time(field: &str, value: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    let Some(value) = value else { return Ok(None) };
    let parsed = OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339).map_err(|e| {
        ApiError::bad_request(ErrorCode::InvalidBody, format!("{field}: `{value}` is not an RFC 3339 time: {e}"))
    })?;
    Ok(Some(i64::try_from(parsed.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)))
}
