//! Server configuration: defaults, then a TOML file, then `ALLOT_*` environment
//! variables, then flags (the layering is done by the `allot` binary).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Directory for the embedded database and the bootstrap password file.
    pub data_dir: PathBuf,
    /// Database URL: `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`. Empty means
    /// `<data_dir>/allot.db`.
    pub database: String,
    /// `json` (one object per line) or `text`.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `allot_server=debug,info`.
    pub log_level: String,
    /// Password for the bootstrap host admin `admin` on first start; random when empty.
    pub admin_password: Secret,
    /// How often to look for changes other processes committed to the same database, in ms.
    pub sync_interval_ms: u64,
    /// How long a read with `?min_revision=R` may wait for revision R, in ms, before 503.
    pub min_revision_wait_ms: u64,
    /// How long a stored plan may be applied by id, in seconds.
    pub plan_ttl_secs: u64,
    /// How long the first answer for an Idempotency-Key is replayed, in seconds.
    pub idempotency_ttl_secs: u64,
    /// How often to purge expired tokens, plans and idempotency keys, in seconds; 0: never.
    pub housekeeping_interval_secs: u64,
    /// Most rows of each kind one housekeeping tick purges.
    pub housekeeping_batch: u32,
    pub auth: AuthConfig,
    pub limits: Limits,
    /// Requests per client and surface (`native`, `uipath`, `vonage`).
    pub rate_limits: crate::rate_limit::RateLimits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./allot-data"),
            database: String::new(),
            log_format: "json".into(),
            log_level: "info".into(),
            admin_password: Secret::default(),
            sync_interval_ms: 200,
            min_revision_wait_ms: 1000,
            plan_ttl_secs: 15 * 60,
            idempotency_ttl_secs: 24 * 3600,
            housekeeping_interval_secs: 60,
            housekeeping_batch: 1000,
            auth: AuthConfig::default(),
            limits: Limits::default(),
            rate_limits: Default::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &redact_url(&self.database))
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("admin_password", &self.admin_password)
            .field("sync_interval_ms", &self.sync_interval_ms)
            .field("min_revision_wait_ms", &self.min_revision_wait_ms)
            .field("plan_ttl_secs", &self.plan_ttl_secs)
            .field("idempotency_ttl_secs", &self.idempotency_ttl_secs)
            .field("housekeeping_interval_secs", &self.housekeeping_interval_secs)
            .field("housekeeping_batch", &self.housekeeping_batch)
            .field("auth", &self.auth)
            .field("limits", &self.limits)
            .field("rate_limits", &self.rate_limits)
            .finish()
    }
}

/// The database a configuration names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl Config {
    /// The database the server uses: `database`, or `<data_dir>/allot.db` when empty.
    pub fn database(&self) -> Result<Database, String> {
        let url = self.database.as_str();
        if url.is_empty() {
            return Ok(Database::Sqlite(self.data_dir.join("allot.db")));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Database::Postgres(url.to_owned()));
        }
        url.strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .map(|p| Database::Sqlite(PathBuf::from(p)))
            .ok_or_else(|| {
                format!("unsupported database URL `{}`: use sqlite://PATH or postgres://...", redact_url(url))
            })
    }
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***{}", &url[..scheme], &url[at..]),
        _ => url.to_owned(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of access tokens from /oauth/token, in seconds.
    pub access_token_ttl_secs: u64,
    /// Lifetime of refresh tokens, in seconds (single use).
    pub refresh_token_ttl_secs: u64,
    /// A console session ends after this many seconds without a request...
    pub session_idle_secs: u64,
    /// ...and this many after sign-in, however busy.
    pub session_max_secs: u64,
    /// Failed logins allowed per account and address within `lockout_secs` before that
    /// address is locked out of the account; past as many from anywhere, each waits longer.
    pub max_failed_logins: u32,
    /// Failed logins allowed per client address within `lockout_secs`.
    pub max_failed_logins_per_address: u32,
    pub lockout_secs: u64,
    /// Argon2id memory cost in KiB (OWASP: 19456) and iterations.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    /// How many passwords may be hashed at once; more wait, so a login burst cannot exhaust memory.
    pub max_concurrent_hashes: usize,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: 3600,
            refresh_token_ttl_secs: 60 * 24 * 3600,
            session_idle_secs: 30 * 60,
            session_max_secs: 12 * 3600,
            max_failed_logins: 5,
            max_failed_logins_per_address: 50,
            lockout_secs: 900,
            argon2_memory_kib: 19456,
            argon2_iterations: 2,
            max_concurrent_hashes: 2,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Most items one request may change: users of a batch, pools, members, changes.
    pub max_items: usize,
    /// Largest `limit` of a page.
    pub max_page: u32,
    /// How long a client may take to send a request's headers, in seconds; hyper also
    /// counts the wait for the first byte, so an idle connection is closed after this too.
    pub header_read_timeout_secs: u64,
    /// How long a client may take to send a request's whole body, in seconds (408 after).
    pub body_read_timeout_secs: u64,
    /// How long a connection may wait for its next request, in seconds.
    pub idle_timeout_secs: u64,
    /// Connections served at once. Past it the longest-idle connection is closed for the
    /// new one; when every connection is busy with a request, the new one is answered 503.
    /// Keep it below the process's open-file limit (`ulimit -n`, often 1024).
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_items: 10_000,
            max_page: 1000,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            idle_timeout_secs: 5,
            max_connections: 900,
        }
    }
}

/// A string that never shows in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { f.write_str("\"\"") } else { f.write_str("\"***\"") }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let config = Config {
            admin_password: Secret("hunter2".into()),
            database: "postgres://allot:pw@db/allot".into(),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && !shown.contains(":pw@"), "{shown}");
    }
}
