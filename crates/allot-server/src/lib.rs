//! allot's HTTP server: the native API, authentication, problem+json errors, OpenAPI,
//! health and metrics.

use std::path::Path;

use allot_api::ErrorCode;
use allot_store::{Backend, Store};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

pub mod api;
pub mod app;
pub mod auth;
pub mod books;
pub mod checkpoints;
pub mod clock;
pub mod compat;
pub mod config;
pub mod connections;
pub mod console;
pub mod error;
pub mod extract;
pub mod health;
pub mod housekeeping;
pub mod idempotency;
pub mod logs;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod prefix;
pub mod rate_limit;
pub mod scim;
pub mod service;
pub mod start;
pub mod stored;

pub use app::App;
pub use clock::Clock;
pub use config::{Config, Database};

use crate::error::ApiError;
use crate::start::StartError;

/// The OpenAPI document of every route, as served at `/api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes_with_doc().1
}

fn routes_with_doc() -> (Router<App>, utoipa::openapi::OpenApi) {
    let (routes, mut doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(auth::oauth::token))
        .routes(routes!(auth::oauth::revoke))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .nest("/api/v1", api::router())
        .split_for_parts();
    openapi::describe_requests(&mut doc);
    openapi::describe_problems(&mut doc);
    (routes, doc)
}

/// The whole HTTP application.
pub fn router(app: App) -> Router {
    let (routes, doc) = routes_with_doc();
    let max_body = app.config.limits.max_body_bytes;
    routes
        .merge(SwaggerUi::new("/docs").url("/api/v1/openapi.json", doc))
        .merge(compat::uipath::router())
        .merge(compat::vonage::router())
        .merge(scim::router())
        .merge(console::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(app.clone(), middleware::observe))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(app)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(format!("there is nothing at {}", uri.path()))
}

async fn method_not_allowed() -> Response {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::MethodNotAllowed, "this path does not take that method")
        .into_response()
}

/// Opens the store a configuration names, bringing its schema up to date.
pub async fn open_store(config: &Config) -> Result<Backend, StartError> {
    match config.database().map_err(StartError::Config)? {
        Database::Sqlite(path) => allot_store::SqliteStore::open(&path)
            .map(Backend::Sqlite)
            .map_err(|source| StartError::OpenSqlite { path, source }),
        Database::Postgres(url) => {
            allot_store::PgStore::open(&url).await.map(Backend::Postgres).map_err(StartError::OpenPostgres)
        }
    }
}

/// On first start, creates host admin `admin`: with `ALLOT_ADMIN_PASSWORD` (the config's
/// `admin_password`) if set, else a random one-time password that is printed once and
/// written to `<data_dir>/admin-password`, readable only by its owner.
pub async fn bootstrap_admin(app: &App) -> Result<Option<String>, StartError> {
    if app.store.has_host_admin().await? {
        return Ok(None);
    }
    let configured = app.config.admin_password.0.clone();
    let password = if configured.is_empty() { auth::new_token("") } else { configured.clone() };
    auth::password::check_strength(&password).map_err(|e| StartError::AdminPassword(e.detail().to_owned()))?;
    let hash = app.auth.passwords.hash(&password).await.map_err(|e| StartError::Hash(e.detail().to_owned()))?;
    // The file first: a password stored but never written down would lock everyone out.
    let file = app.config.data_dir.join("admin-password");
    if configured.is_empty() {
        write_secret_file(&file, &password)?;
    }
    if let Err(error) = app.store.set_password_hash(auth::HOST_REALM, "admin", &hash).await {
        if configured.is_empty() {
            let _ = std::fs::remove_file(&file);
        }
        return Err(error.into());
    }
    Ok(configured.is_empty().then_some(password))
}

/// Writes `secret` to `path`, readable only by its owner, creating the directory (the data
/// directory need not exist when the database lives elsewhere).
fn write_secret_file(path: &Path, secret: &str) -> Result<(), StartError> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StartError::CreateDir { path: dir.to_owned(), source })?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = |source| StartError::WriteFile { path: path.to_owned(), source };
    let mut file = options.open(path).map_err(write)?;
    writeln!(file, "{secret}").map_err(write)
}

/// Serves until `shutdown` resolves, then finishes the requests in flight. Meanwhile
/// follows what other processes commit to the same database, and purges what expired.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let follower = {
        let app = app.clone();
        let interval = std::time::Duration::from_millis(app.config.sync_interval_ms.max(10));
        tokio::spawn(async move { app.books.follow(interval, &app.clock).await })
    };
    let housekeeper = (app.config.housekeeping_interval_secs > 0).then(|| {
        let app = app.clone();
        let interval = std::time::Duration::from_secs(app.config.housekeeping_interval_secs);
        tokio::spawn(async move { housekeeping::run(&app, interval).await })
    });
    // Prefixes come off before routing, so this layer wraps the router rather than its routes.
    let settings = connections::Settings::from(&app.config.limits);
    let service = tower::Layer::layer(&axum::middleware::from_fn(prefix::strip_org_prefix), router(app));
    let served = connections::serve(listener, service, settings, shutdown).await;
    follower.abort();
    if let Some(housekeeper) = housekeeper {
        housekeeper.abort();
    }
    served
}

/// Lower-case hexadecimal of `bytes` (token hashes, ETags, generated ids).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// A UUID's usual spelling (8-4-4-4-12 lower-case hex digits) of its 16 bytes.
pub fn uuid_text(bytes: &[u8; 16]) -> String {
    let hex = hex(bytes);
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// A random (version 4) UUID: the id of a user or group a vendor's API makes without one,
/// as the vendors' are.
pub fn random_uuid() -> String {
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid_text(&bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_two_digits_per_byte() {
        assert_eq!(super::hex(&[0x00, 0x0f, 0xab, 0xff]), "000fabff");
        assert_eq!(super::hex(&[]), "");
    }

    #[test]
    fn random_uuids_are_version_4_and_differ() {
        let id = super::random_uuid();
        assert!(crate::compat::uipath::ids::is_uuid(&id), "{id}");
        assert_eq!(&id[14..15], "4", "{id}");
        assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"), "{id}");
        assert_ne!(id, super::random_uuid());
    }
}
