//! The load generator: N keep-alive connections, each sending requests back to back until
//! the time is up. The same generator drives allot and its baselines, so their ratio is fair.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a run measured.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Runs `connections` loops of `request(connection, sequence)` for `duration`; a request
/// answers whether it succeeded.
pub async fn run<F, Fut>(connections: usize, duration: Duration, request: F) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let request = Arc::new(request);
    let started = Instant::now();
    let deadline = started + duration;
    let loops: Vec<_> = (0..connections)
        .map(|connection| {
            let request = request.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut sequence) = (Vec::new(), 0u64, 0u64);
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    if !request(connection, sequence).await {
                        errors += 1;
                    }
                    latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    sequence += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for handle in loops {
        if let Ok((mine, failed)) = handle.await {
            latencies.extend(mine);
            errors += failed;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(index).map_or(0.0, |micros| f64::from(*micros) / 1000.0)
    };
    Stats {
        requests: latencies.len() as u64,
        errors,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
    }
}
