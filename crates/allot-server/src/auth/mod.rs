//! Authentication and authorization: opaque bearer tokens stored only as SHA-256,
//! people with roles, API clients with scopes.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use allot_core::{OrgKey, Timestamp};
use allot_store::{Store, Subject, TokenKind, TokenRecord};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine as _;
use rand::RngCore as _;
use sha2::{Digest, Sha256};

use crate::app::App;
use crate::config::AuthConfig;
use crate::error::{ApiError, ApiResult};

pub mod oauth;
pub mod password;
pub mod session;
mod throttle;

pub use password::Passwords;
use throttle::Throttle;

/// Scopes of the native API.
pub const READ: &str = "allot:read";
pub const WRITE: &str = "allot:write";

/// Every scope an API client may be granted: the native API's and the dialects'.
pub const KNOWN_SCOPES: &[&str] = allot_api::clients::SCOPES;

/// The realm host administrators log in to.
pub const HOST_REALM: &str = "";

/// A random token with a readable prefix; only its hash is ever stored.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    crate::hex(&digest)
}

/// Who is calling, from a valid bearer token. Shared with the token cache: a request
/// takes a reference, not a copy of the token's strings (the check's profile showed the copy).
#[derive(Debug, Clone)]
pub struct Principal(Arc<Identity>);

#[derive(Debug)]
pub struct Identity {
    pub subject: Subject,
    pub scopes: Vec<String>,
}

impl std::ops::Deref for Principal {
    type Target = Identity;

    fn deref(&self) -> &Identity {
        &self.0
    }
}

impl Principal {
    pub fn new(subject: Subject, scopes: Vec<String>) -> Self {
        Self(Arc::new(Identity { subject, scopes }))
    }
}

impl Identity {
    pub fn is_host_admin(&self) -> bool {
        matches!(self.subject, Subject::HostAdmin { .. })
    }

    /// The organization a principal belongs to; none for host administrators.
    pub fn home_org(&self) -> Option<&OrgKey> {
        match &self.subject {
            Subject::HostAdmin { .. } => None,
            Subject::OrgUser { org, .. } | Subject::Client { org, .. } => Some(org),
        }
    }

    /// The name the ledger records as the actor.
    pub fn actor_name(&self) -> String {
        match &self.subject {
            Subject::HostAdmin { username } => format!("host:{username}"),
            Subject::OrgUser { org, user } => format!("user:{org}/{user}"),
            Subject::Client { client_id, .. } => format!("client:{client_id}"),
        }
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    pub fn require_host_admin(&self) -> ApiResult<()> {
        if self.is_host_admin() { Ok(()) } else { Err(ApiError::forbidden("only a host administrator may do this")) }
    }
}

impl FromRequestParts<App> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)
            .ok_or_else(|| ApiError::unauthorized("send a bearer token: Authorization: Bearer <token>"))?;
        // A write is authenticated by the database itself: a token revoked on another
        // process a moment ago changes nothing. Reads may use what it said 5 s ago.
        let write = !matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD);
        let vouched = if write { Vouched::Now } else { Vouched::Recently };
        app.auth.authenticate(&app.store, token, app.clock.now(), vouched).await
    }
}

/// How fresh the store's word on a token must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vouched {
    /// Asked now (writes).
    Now,
    /// Asked within the last 5 seconds (reads).
    Recently,
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case).
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The address of the caller, when the server knows it.
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())))
    }
}

/// Tokens issued at once by a login.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
}

pub struct Auth {
    pub config: AuthConfig,
    pub passwords: Passwords,
    throttle: Throttle,
    /// Access tokens seen, by hash, with when the store last vouched for them: a request
    /// needs the database to authenticate only every few seconds per token.
    cache: RwLock<HashMap<String, Cached>>,
}

/// A token the store vouched for, as a request needs it.
#[derive(Clone)]
struct Cached {
    principal: Principal,
    expires_at: Timestamp,
    vouched: Instant,
}

impl Cached {
    fn of(record: TokenRecord) -> Self {
        let principal = Principal::new(record.subject, record.scopes);
        Self { principal, expires_at: record.expires_at, vouched: Instant::now() }
    }
}

const CACHE_LIMIT: usize = 100_000;
/// A cached token is checked against the store again after this long, so a revocation on
/// another process reaches this one.
const REVALIDATE_AFTER: Duration = Duration::from_secs(5);

impl Auth {
    pub fn new(config: &AuthConfig) -> Result<Self, String> {
        Ok(Self {
            config: config.clone(),
            passwords: Passwords::new(config)?,
            throttle: Throttle::new(config),
            cache: RwLock::new(HashMap::new()),
        })
    }

    pub async fn authenticate(
        &self,
        store: &impl Store,
        token: &str,
        now: Timestamp,
        fresh: Vouched,
    ) -> ApiResult<Principal> {
        let hash = token_hash(token);
        let cached = self.cache.read().unwrap_or_else(|p| p.into_inner()).get(&hash).cloned();
        let token = match cached {
            Some(token) if fresh == Vouched::Recently && token.vouched.elapsed() < REVALIDATE_AFTER => token,
            cached => match store.token(&hash).await {
                Ok(Some(record)) if matches!(record.kind, TokenKind::Access | TokenKind::Scim) => {
                    self.remember(hash.clone(), record)
                }
                Ok(_) => {
                    self.cache.write().unwrap_or_else(|p| p.into_inner()).remove(&hash);
                    return Err(ApiError::unauthorized("the token is not valid"));
                }
                // The database is away: a token it vouched for recently still holds.
                Err(error) => match cached {
                    Some(token) => token,
                    None => return Err(error.into()),
                },
            },
        };
        if token.expires_at <= now {
            self.cache.write().unwrap_or_else(|p| p.into_inner()).remove(&hash);
            return Err(ApiError::unauthorized("the token has expired"));
        }
        Ok(token.principal)
    }

    fn remember(&self, hash: String, record: TokenRecord) -> Cached {
        let token = Cached::of(record);
        let mut cache = self.cache.write().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(hash, token.clone());
        token
    }

    /// Forgets every token of `subject`, in the cache and in the store.
    pub async fn revoke(&self, store: &impl Store, subject: &Subject) -> ApiResult<()> {
        self.forget(|s| s == subject);
        store.revoke_tokens(subject).await?;
        Ok(())
    }

    /// Revokes one access or refresh token (a logout): this process stops honouring it at
    /// once, the others when they next ask the store (within [`REVALIDATE_AFTER`]).
    pub async fn revoke_token(&self, store: &impl Store, token: &str) -> ApiResult<()> {
        let hash = token_hash(token);
        self.cache.write().unwrap_or_else(|p| p.into_inner()).remove(&hash);
        store.revoke_token(&hash).await?;
        Ok(())
    }

    /// Forgets the cached token whose hash is `hash` (the store removed it).
    pub fn forget_hash(&self, hash: &str) {
        self.cache.write().unwrap_or_else(|p| p.into_inner()).remove(hash);
    }

    /// Forgets the cached tokens whose subject `revoked` says the store revoked (with the
    /// change that revoked them), so this process stops honouring them at once.
    pub fn forget(&self, revoked: impl Fn(&Subject) -> bool) {
        self.cache.write().unwrap_or_else(|p| p.into_inner()).retain(|_, token| !revoked(&token.principal.subject));
    }

    /// Issues an access token (and a refresh token for people) for `subject`.
    pub async fn issue(
        &self,
        store: &impl Store,
        subject: Subject,
        scopes: Vec<String>,
        access_ttl_secs: u64,
        with_refresh: bool,
        now: Timestamp,
    ) -> ApiResult<Issued> {
        let access_token = new_token("allot_at_");
        let record = TokenRecord {
            hash: token_hash(&access_token),
            kind: TokenKind::Access,
            subject: subject.clone(),
            scopes: scopes.clone(),
            expires_at: now + millis(access_ttl_secs),
        };
        store.insert_token(record.clone()).await?;
        self.remember(record.hash.clone(), record);
        let refresh_token = if with_refresh {
            let token = new_token("allot_rt_");
            store
                .insert_token(TokenRecord {
                    hash: token_hash(&token),
                    kind: TokenKind::Refresh,
                    subject,
                    scopes: scopes.clone(),
                    expires_at: now + millis(self.config.refresh_token_ttl_secs),
                })
                .await?;
            Some(token)
        } else {
            None
        };
        Ok(Issued { access_token, expires_in: access_ttl_secs, refresh_token, scopes })
    }

    /// Checks a password login, throttled per account and per address. `realm` is
    /// [`HOST_REALM`] or an organization key.
    pub async fn check_password(
        &self,
        store: &impl Store,
        realm: &str,
        username: &str,
        password: &str,
        addr: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), LoginFailure> {
        self.throttle.reserve(store, realm, username, addr, now).await?;
        let hash = store.password_hash(realm, username).await.map_err(|e| LoginFailure::Error(e.into()))?;
        if self.passwords.verify(password, hash).await.map_err(LoginFailure::Error)? {
            self.throttle.succeeded(store, realm, username, addr).await
        } else {
            Err(LoginFailure::BadCredentials)
        }
    }

    /// Checks an API client's secret against `matches`, throttled like a password.
    pub async fn check_client_secret(
        &self,
        store: &impl Store,
        client_id: &str,
        matches: impl FnOnce() -> bool,
        addr: Option<IpAddr>,
        now: Timestamp,
    ) -> Result<(), LoginFailure> {
        self.throttle.reserve(store, CLIENT_REALM, client_id, addr, now).await?;
        if matches() {
            self.throttle.succeeded(store, CLIENT_REALM, client_id, addr).await
        } else {
            Err(LoginFailure::BadCredentials)
        }
    }
}

/// The realm API clients' secrets are counted in; no organization key has an `@`.
pub const CLIENT_REALM: &str = "@client";

pub enum LoginFailure {
    BadCredentials,
    /// Refused with a reason that teaches the caller, never whether an account exists.
    Refused(&'static str),
    /// Seconds until another attempt is allowed.
    Throttled(u64),
    Error(ApiError),
}

pub fn millis(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX)
}
