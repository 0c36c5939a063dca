//! Prometheus metrics, labelled by route template: a counter and a latency histogram per
//! method, route and status; and what housekeeping purged, per kind. Small enough to keep
//! without an exporter crate.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::housekeeping::Expired;
use crate::rate_limit::Surface;

const BUCKETS: [f64; 14] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

type Key = (String, String, u16);

/// A route's series, by method and status: a few each, searched in turn.
type RouteSeries = Vec<(String, u16, Arc<Series>)>;

#[derive(Default)]
struct Series {
    count: AtomicU64,
    sum_micros: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
}

#[derive(Default)]
pub struct Metrics {
    /// By route template, so a request finds its series with no key built for it.
    series: RwLock<HashMap<String, RouteSeries>>,
    purged: [AtomicU64; Expired::ALL.len()],
    rate_limited: [AtomicU64; Surface::ALL.len()],
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let find = |of: &RouteSeries| of.iter().find(|(m, s, _)| m == method && *s == status).map(|(.., s)| s.clone());
        let existing = self.series.read().unwrap_or_else(|p| p.into_inner()).get(route).and_then(find);
        let series = match existing {
            Some(series) => series,
            None => {
                let mut all = self.series.write().unwrap_or_else(|p| p.into_inner());
                let of = all.entry(route.to_owned()).or_default();
                find(of).unwrap_or_else(|| {
                    let series = Arc::<Series>::default();
                    of.push((method.to_owned(), status, series.clone()));
                    series
                })
            }
        };
        series.count.fetch_add(1, Ordering::Relaxed);
        series.sum_micros.fetch_add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = BUCKETS.iter().position(|le| seconds <= *le) {
            series.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts `count` rows of `kind` that housekeeping purged.
    pub fn purged(&self, kind: Expired, count: u64) {
        self.purged[kind as usize].fetch_add(count, Ordering::Relaxed);
    }

    /// Counts a request refused by `surface`'s rate limit.
    pub fn rate_limited(&self, surface: Surface) {
        self.rate_limited[surface as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, revision: u64) -> String {
        let series: HashMap<Key, Arc<Series>> = {
            let all = self.series.read().unwrap_or_else(|p| p.into_inner());
            let each = all.iter().flat_map(|(route, of)| of.iter().map(move |(m, s, series)| (route, m, s, series)));
            each.map(|(route, method, status, series)| ((method.clone(), route.clone(), *status), series.clone()))
                .collect()
        };
        let mut keys: Vec<&Key> = series.keys().collect();
        keys.sort();
        let mut out = String::new();
        let _ = writeln!(out, "# HELP allot_revision The revision of the books this process serves.");
        let _ = writeln!(out, "# TYPE allot_revision gauge\nallot_revision {revision}");
        let _ = writeln!(out, "# HELP allot_http_requests_total HTTP requests answered.");
        let _ = writeln!(out, "# TYPE allot_http_requests_total counter");
        for key @ (method, route, status) in &keys {
            let count = series[*key].count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "allot_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {count}"
            );
        }
        let _ = writeln!(out, "# HELP allot_http_request_duration_seconds Time to answer HTTP requests.");
        let _ = writeln!(out, "# TYPE allot_http_request_duration_seconds histogram");
        for key @ (method, route, status) in &keys {
            let s = &series[*key];
            let labels = format!("method=\"{method}\",route=\"{route}\",status=\"{status}\"");
            let mut cumulative = 0;
            for (le, bucket) in BUCKETS.iter().zip(&s.buckets) {
                cumulative += bucket.load(Ordering::Relaxed);
                let _ =
                    writeln!(out, "allot_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let count = s.count.load(Ordering::Relaxed);
            let sum = s.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "allot_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "allot_http_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(out, "allot_http_request_duration_seconds_count{{{labels}}} {count}");
        }
        let _ = writeln!(out, "# HELP allot_purged_total Expired rows housekeeping deleted, by kind.");
        let _ = writeln!(out, "# TYPE allot_purged_total counter");
        for kind in Expired::ALL {
            let count = self.purged[kind as usize].load(Ordering::Relaxed);
            let _ = writeln!(out, "allot_purged_total{{kind=\"{}\"}} {count}", kind.label());
        }
        let _ =
            writeln!(out, "# HELP allot_rate_limited_total Requests refused 429 by a client's rate limit, by surface.");
        let _ = writeln!(out, "# TYPE allot_rate_limited_total counter");
        for surface in Surface::ALL {
            let count = self.rate_limited[surface as usize].load(Ordering::Relaxed);
            let _ = writeln!(out, "allot_rate_limited_total{{surface=\"{}\"}} {count}", surface.label());
        }
        out
    }
}
