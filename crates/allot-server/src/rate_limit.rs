//! A per-client rate limit on each API, as Vonage's fair use limit answers: a token bucket
//! per client (its bearer token, or its address when it sends none) and surface, refilled
//! at `per_second` up to `burst`. Past it: 429 with `Retry-After`, in the surface's shape,
//! counted in `/metrics`. Judged in `middleware::observe`, once per request (a refused write
//! judged again on caught-up books is not counted twice). Per process: N processes behind
//! a load balancer allow up to N times the rate.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::header;
use axum::response::{IntoResponse as _, Response};
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::error::ApiError;

/// One surface's limit; `per_second = 0` turns it off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimit {
    /// Requests per second a client may make, on average.
    pub per_second: u32,
    /// Requests a client may make at once before the rate applies.
    pub burst: u32,
}

/// Each surface's limit: off for the native and UiPath APIs, on for Vonage's, whose
/// scripts expect a fair use limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimits {
    pub native: RateLimit,
    pub uipath: RateLimit,
    pub vonage: RateLimit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            native: RateLimit::default(),
            uipath: RateLimit::default(),
            vonage: RateLimit { per_second: 20, burst: 100 },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Surface {
    Native,
    Uipath,
    Vonage,
}

impl Surface {
    pub const ALL: [Surface; 3] = [Surface::Native, Surface::Uipath, Surface::Vonage];

    pub fn label(self) -> &'static str {
        match self {
            Surface::Native => "native",
            Surface::Uipath => "uipath",
            Surface::Vonage => "vonage",
        }
    }

    /// The API a route template belongs to; `None` for health, metrics, the documentation
    /// and paths that match no route, which are no client's API.
    pub fn of(route: &str) -> Option<Surface> {
        let mut segments = route.trim_start_matches('/').split('/');
        match (segments.next()?, segments.next()) {
            ("useradmin" | "Auth", _) => Some(Surface::Vonage),
            ("oauth", _) | ("api", Some("v1")) => Some(Surface::Native),
            ("lrm" | "lease_" | "la" | "identity_" | "api", _) => Some(Surface::Uipath),
            _ => None,
        }
    }

    fn limit(self, limits: &RateLimits) -> RateLimit {
        match self {
            Surface::Native => limits.native,
            Surface::Uipath => limits.uipath,
            Surface::Vonage => limits.vonage,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets past this many are pruned of those refilled to the brim (clients gone quiet),
/// so a stream of new clients cannot grow the map for ever.
const PRUNE_AT: usize = 100_000;

/// Every client's bucket, by surface and a hash of who the client is.
#[derive(Default)]
pub struct Limiter {
    buckets: Mutex<HashMap<(Surface, u64), Bucket>>,
    hasher: std::collections::hash_map::RandomState,
}

impl Limiter {
    /// Takes one request from `client`'s bucket: `None` when it may go ahead, else the
    /// seconds until it may.
    pub fn take(&self, surface: Surface, limit: RateLimit, client: &[u8], now: Instant) -> Option<u64> {
        let key = (surface, self.hasher.hash_one(client));
        let (rate, burst) = (f64::from(limit.per_second), f64::from(limit.burst.max(1)));
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, b| b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst);
        }
        let bucket = buckets.entry(key).or_insert(Bucket { tokens: burst, at: now });
        bucket.tokens = (bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return None;
        }
        Some(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
    }
}

/// Who a request comes from: its bearer token, or its address.
fn client(request: &Request) -> Vec<u8> {
    let bearer = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes().to_vec());
    bearer.unwrap_or_else(|| {
        let addr = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        addr.map(|ip| ip.to_string().into_bytes()).unwrap_or_default()
    })
}

/// The answer to a request past its client's limit on its route's surface, if it is.
pub fn refused(app: &App, route: &str, request: &Request) -> Option<Response> {
    let surface = Surface::of(route)?;
    let limit = surface.limit(&app.config.rate_limits);
    if limit.per_second == 0 {
        return None;
    }
    let retry_after = app.rate_limiter.take(surface, limit, &client(request), Instant::now())?;
    app.metrics.rate_limited(surface);
    Some(match surface {
        Surface::Vonage => crate::compat::vonage::too_many_requests(retry_after),
        Surface::Native | Surface::Uipath => {
            let detail = format!("more than {} requests a second; retry in {retry_after} s", limit.per_second);
            ApiError::rate_limited(detail, retry_after).into_response()
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_one_request_per_refill_and_others_are_not_held_back() {
        let limiter = Limiter::default();
        let limit = RateLimit { per_second: 2, burst: 3 };
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(Surface::Vonage, limit, b"a", start), None);
        }
        assert_eq!(limiter.take(Surface::Vonage, limit, b"a", start), Some(1));
        assert_eq!(limiter.take(Surface::Vonage, limit, b"b", start), None, "another client has its own bucket");
        assert_eq!(limiter.take(Surface::Native, limit, b"a", start), None, "another surface too");
        let later = start + Duration::from_millis(500);
        assert_eq!(limiter.take(Surface::Vonage, limit, b"a", later), None, "half a second refills one");
        assert_eq!(limiter.take(Surface::Vonage, limit, b"a", later), Some(1));
    }

    #[test]
    fn each_route_belongs_to_its_surface_and_operations_to_none() {
        assert_eq!(Surface::of("/useradmin/users/{user}"), Some(Surface::Vonage));
        assert_eq!(Surface::of("/Auth/connect/token"), Some(Surface::Vonage));
        assert_eq!(Surface::of("/api/v1/orgs/{org}/users"), Some(Surface::Native));
        assert_eq!(Surface::of("/oauth/token"), Some(Surface::Native));
        assert_eq!(Surface::of("/api/account/authenticate"), Some(Surface::Uipath));
        assert_eq!(Surface::of("/lease_/api/account/{account}/user-license"), Some(Surface::Uipath));
        for operation in ["/healthz", "/readyz", "/metrics", "/docs/{*rest}", "unmatched"] {
            assert_eq!(Surface::of(operation), None, "{operation}");
        }
    }
}
