//! The schemas of the values the server checks: ids, codes, times, quantities, passwords,
//! headers. Wire fields stay `String` or `i64`; these types only give them their exact
//! OpenAPI schema (`#[schema(value_type = schema::UserId)]`), each stated once and
//! referenced by name, so the document says what the server enforces.

use std::borrow::Cow;

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// An id of an organization, user, group or tenant: what `allot_core`'s id types accept.
/// `.` and `..` are refused: a URL path could not name them.
pub const ID_PATTERN: &str = r"^(?!\.\.?$)[A-Za-z0-9._@+-]{1,128}$";
/// A product code, capability or service type.
pub const CODE_PATTERN: &str = r"^[A-Za-z0-9_-]{1,64}$";
/// A license: a product code, and for products with capabilities `code:capability`.
pub const LICENSE_PATTERN: &str = r"^[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_-]{1,64})?$";
/// An `Idempotency-Key`: 1 to 255 visible ASCII characters, bare or in double quotes.
pub const IDEMPOTENCY_KEY_PATTERN: &str = r#"^"?[!#-~]([!-~]{0,253}[!#-~])?"?$"#;

/// A marker type whose schema is `$kind`, described, then built on by `$build`.
macro_rules! value_schema {
    ($(#[$doc:meta])* $name:ident, $kind:expr, $description:expr, |$builder:ident| $build:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let $builder = ObjectBuilder::new().schema_type($kind).description(Some($description));
                $build.into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

macro_rules! string_schema {
    ($(#[$doc:meta])* $name:ident, $description:expr, |$builder:ident| $build:expr) => {
        value_schema!($(#[$doc])* $name, Type::String, $description, |$builder| $build);
    };
}

fn id(builder: ObjectBuilder, example: &str) -> ObjectBuilder {
    builder.pattern(Some(ID_PATTERN)).min_length(Some(1)).max_length(Some(128)).examples([example])
}

string_schema!(
    /// An organization id.
    OrgId,
    "Letters, digits and `- _ . @ +`, 1 to 128; compared case-insensitively with `-` and `_` equal.",
    |b| id(b, "acme")
);
string_schema!(UserId, "Letters, digits and `- _ . @ +`, 1 to 128; unique in its organization.", |b| id(b, "bob"));
string_schema!(GroupId, "Letters, digits and `- _ . @ +`, 1 to 128; unique in its organization.", |b| id(b, "devs"));
string_schema!(TenantId, "Letters, digits and `- _ . @ +`, 1 to 128; unique in its organization.", |b| id(b, "prod"));
string_schema!(ServiceType, "A tenant service (`orchestrator`, `aicenter`, ...).", |b| b
    .pattern(Some(CODE_PATTERN))
    .min_length(Some(1))
    .max_length(Some(64))
    .examples(["orchestrator"]));
string_schema!(ProductCode, "A product code of the catalogue.", |b| b
    .pattern(Some(CODE_PATTERN))
    .min_length(Some(1))
    .max_length(Some(64))
    .examples(["RPADEVPRONU"]));
string_schema!(
    /// A license: what a pool counts and a holding holds.
    License,
    "A product code, or `code:capability` for products with capabilities.",
    |b| b.pattern(Some(LICENSE_PATTERN)).min_length(Some(1)).max_length(Some(129)).examples(["RPADEVPRONU"])
);
string_schema!(Time, "An RFC 3339 time.", |b| b.format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))));
string_schema!(Password, "12 to 256 characters.", |b| b.min_length(Some(12)).max_length(Some(256)));
string_schema!(IdempotencyKey, "1 to 255 visible ASCII characters, bare or in double quotes.", |b| b
    .pattern(Some(IDEMPOTENCY_KEY_PATTERN)));
string_schema!(Name, "A display name: 1 to 200 characters, not only spaces.", |b| b
    .min_length(Some(1))
    .max_length(Some(200))
    .pattern(Some(r"\S")));

value_schema!(
    /// A revision of the books: the ledger's position after a commit. No `int64` format:
    /// revisions are unsigned 64-bit numbers.
    Revision,
    Type::Integer,
    "A revision of the books.",
    |b| b.minimum(Some(0)).maximum(Some(u64::MAX))
);

value_schema!(
    /// A number of units: what a pool holds.
    Quantity,
    Type::Integer,
    "A number of units, 0 to 10^12.",
    |b| b
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .maximum(Some(allot_core::MAX_QUANTITY))
);

/// Reads a quantity: an integer, or a number without a fraction (`5.0`), which JSON Schema
/// counts as the integer 5.
pub fn quantity<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    struct Units;

    impl serde::de::Visitor<'_> for Units {
        type Value = i64;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a whole number of units")
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<i64, E> {
            Ok(value)
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<i64, E> {
            i64::try_from(value).map_err(|_| E::custom(format!("{value} units is more than any pool holds")))
        }

        fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<i64, E> {
            // Exact for every quantity a pool can hold (up to 10^12, well within 2^53).
            if value.fract() == 0.0 && value.abs() < 9.0e15 {
                #[allow(clippy::cast_possible_truncation)]
                return Ok(value as i64);
            }
            Err(E::custom(format!("{value} is not a whole number of units")))
        }
    }

    deserializer.deserialize_any(Units)
}

string_schema!(ClientId, "An API client's id, as its creation answered.", |b| b
    .pattern(Some("^allot_ci_[0-9a-f]{24}$"))
    .examples(["allot_ci_0123456789abcdef01234567"]));
string_schema!(PlanId, "A stored plan's id, as its validation answered.", |b| b
    .pattern(Some("^pl_[0-9a-f]{32}$"))
    .examples(["pl_0123456789abcdef0123456789abcdef"]));

string_schema!(
    /// A scope an API client may be granted.
    Scope,
    "`allot:read` and `allot:write` for the native API; `PM.*` for UiPath's, `users:*` for Vonage's.",
    |b| b.enum_values(Some(crate::clients::SCOPES.iter().copied()))
);

string_schema!(Cursor, "A ledger position: `revision.seq`, the `next` of a previous page.", |b| b
    .pattern(Some(r"^[0-9]{1,19}\.[0-9]{1,9}$"))
    .examples(["12.0"]));
