//! Error codes: the stable `code` of every problem answer. Clients match on these, so a
//! code never changes meaning.

use allot_core::ViolationCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // The request.
    MalformedJson,
    InvalidBody,
    InvalidQuery,
    InvalidHeader,
    InvalidId,
    UnsupportedMediaType,
    BodyTooLarge,
    /// The body did not arrive within `limits.body_read_timeout_secs`.
    RequestTimeout,
    TooManyItems,
    MethodNotAllowed,
    UnknownScope,
    WeakPassword,
    // Who asks.
    Unauthorized,
    Forbidden,
    TooManyAttempts,
    /// The client sent more requests than its rate limit allows; retry after `Retry-After`.
    RateLimited,
    // What it names.
    NotFound,
    Gone,
    // Safe changes.
    PreconditionFailed,
    IdempotencyKeyReused,
    IdempotencyInProgress,
    IdempotencyInDoubt,
    PlanStale,
    PlanExpired,
    /// `?min_revision=` names a revision the database has not reached.
    RevisionNotFound,
    /// Another writer changed the books while this request was applied; retry it.
    Conflict,
    // The plan's violations (see `ViolationView`).
    LicenseLimitExceeded,
    QuantityInUse,
    NotPurchased,
    Expired,
    UnknownLicense,
    UnknownOrganization,
    UnknownUser,
    UnknownGroup,
    UnknownTenant,
    WrongLicenseKind,
    WrongService,
    ConflictingCapabilities,
    /// The user holds a license the product is refused to (Analytics for an Agent).
    NotEligible,
    AlreadyExists,
    NotAMember,
    /// A license for a user who is deactivated.
    UserInactive,
    OrganizationNotEmpty,
    /// The host would be left without an administrator.
    LastHostAdmin,
    InvalidQuantity,
    InvalidDates,
    // The server.
    Unavailable,
    InternalError,
}

impl ErrorCode {
    /// The code as it is written on the wire.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            MalformedJson => "malformed_json",
            InvalidBody => "invalid_body",
            InvalidQuery => "invalid_query",
            InvalidHeader => "invalid_header",
            InvalidId => "invalid_id",
            UnsupportedMediaType => "unsupported_media_type",
            BodyTooLarge => "body_too_large",
            RequestTimeout => "request_timeout",
            TooManyItems => "too_many_items",
            MethodNotAllowed => "method_not_allowed",
            UnknownScope => "unknown_scope",
            WeakPassword => "weak_password",
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            TooManyAttempts => "too_many_attempts",
            RateLimited => "rate_limited",
            NotFound => "not_found",
            Gone => "gone",
            PreconditionFailed => "precondition_failed",
            IdempotencyKeyReused => "idempotency_key_reused",
            IdempotencyInProgress => "idempotency_in_progress",
            IdempotencyInDoubt => "idempotency_in_doubt",
            PlanStale => "plan_stale",
            PlanExpired => "plan_expired",
            RevisionNotFound => "revision_not_found",
            Conflict => "conflict",
            LicenseLimitExceeded => "license_limit_exceeded",
            QuantityInUse => "quantity_in_use",
            NotPurchased => "not_purchased",
            Expired => "expired",
            UnknownLicense => "unknown_license",
            UnknownOrganization => "unknown_organization",
            UnknownUser => "unknown_user",
            UnknownGroup => "unknown_group",
            UnknownTenant => "unknown_tenant",
            WrongLicenseKind => "wrong_license_kind",
            WrongService => "wrong_service",
            ConflictingCapabilities => "conflicting_capabilities",
            NotEligible => "not_eligible",
            AlreadyExists => "already_exists",
            NotAMember => "not_a_member",
            UserInactive => "user_inactive",
            OrganizationNotEmpty => "organization_not_empty",
            LastHostAdmin => "last_host_admin",
            InvalidQuantity => "invalid_quantity",
            InvalidDates => "invalid_dates",
            Unavailable => "unavailable",
            InternalError => "internal_error",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<ViolationCode> for ErrorCode {
    fn from(code: ViolationCode) -> Self {
        use ErrorCode::*;
        match code {
            ViolationCode::LicenseLimitExceeded => LicenseLimitExceeded,
            ViolationCode::QuantityInUse => QuantityInUse,
            ViolationCode::NotPurchased => NotPurchased,
            ViolationCode::Expired => Expired,
            ViolationCode::UnknownLicense => UnknownLicense,
            ViolationCode::UnknownOrganization => UnknownOrganization,
            ViolationCode::UnknownUser => UnknownUser,
            ViolationCode::UnknownGroup => UnknownGroup,
            ViolationCode::UnknownTenant => UnknownTenant,
            ViolationCode::WrongLicenseKind => WrongLicenseKind,
            ViolationCode::WrongService => WrongService,
            ViolationCode::ConflictingCapabilities => ConflictingCapabilities,
            ViolationCode::NotEligible => NotEligible,
            ViolationCode::AlreadyExists => AlreadyExists,
            ViolationCode::NotAMember => NotAMember,
            ViolationCode::UserInactive => UserInactive,
            ViolationCode::OrganizationNotEmpty => OrganizationNotEmpty,
            ViolationCode::InvalidQuantity => InvalidQuantity,
            ViolationCode::InvalidDates => InvalidDates,
            ViolationCode::Internal => InternalError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_written_as_serde_writes_it_and_violations_keep_their_names() {
        let codes = [
            ErrorCode::MalformedJson,
            ErrorCode::InvalidBody,
            ErrorCode::InvalidQuery,
            ErrorCode::InvalidHeader,
            ErrorCode::InvalidId,
            ErrorCode::UnsupportedMediaType,
            ErrorCode::BodyTooLarge,
            ErrorCode::TooManyItems,
            ErrorCode::MethodNotAllowed,
            ErrorCode::UnknownScope,
            ErrorCode::WeakPassword,
            ErrorCode::Unauthorized,
            ErrorCode::Forbidden,
            ErrorCode::TooManyAttempts,
            ErrorCode::RateLimited,
            ErrorCode::NotFound,
            ErrorCode::Gone,
            ErrorCode::PreconditionFailed,
            ErrorCode::IdempotencyKeyReused,
            ErrorCode::IdempotencyInProgress,
            ErrorCode::IdempotencyInDoubt,
            ErrorCode::PlanStale,
            ErrorCode::PlanExpired,
            ErrorCode::RevisionNotFound,
            ErrorCode::Conflict,
            ErrorCode::LicenseLimitExceeded,
            ErrorCode::QuantityInUse,
            ErrorCode::NotPurchased,
            ErrorCode::Expired,
            ErrorCode::UnknownLicense,
            ErrorCode::UnknownOrganization,
            ErrorCode::UnknownUser,
            ErrorCode::UnknownGroup,
            ErrorCode::UnknownTenant,
            ErrorCode::WrongLicenseKind,
            ErrorCode::WrongService,
            ErrorCode::ConflictingCapabilities,
            ErrorCode::NotEligible,
            ErrorCode::AlreadyExists,
            ErrorCode::NotAMember,
            ErrorCode::UserInactive,
            ErrorCode::OrganizationNotEmpty,
            ErrorCode::LastHostAdmin,
            ErrorCode::InvalidQuantity,
            ErrorCode::InvalidDates,
            ErrorCode::Unavailable,
            ErrorCode::InternalError,
        ];
        for code in codes {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        assert_eq!(ErrorCode::from(ViolationCode::LicenseLimitExceeded).as_str(), "license_limit_exceeded");
        assert_eq!(ErrorCode::from(ViolationCode::Internal).as_str(), ViolationCode::Internal.as_str());
        assert_eq!(ErrorCode::from(ViolationCode::NotEligible).as_str(), ViolationCode::NotEligible.as_str());
    }
}
