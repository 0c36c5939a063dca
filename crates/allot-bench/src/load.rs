//! The load generator: N keep-alive HTTP/1.1 connections, each sending requests back to back
//! until the time is up, in the manner of `wrk`. Requests are built from bytes prepared in
//! advance and sent on hyper's bare connection, so the generator costs little of the CPU the
//! server shares with it. The same generator drives allot and its baselines.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

/// What a run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    /// What the first failed request answered.
    pub first_error: Option<String>,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// A request to send: method, path and query, bearer token, JSON body.
#[derive(Clone)]
pub struct Call {
    pub method: hyper::Method,
    pub path: String,
    pub token: Option<String>,
    pub body: Option<Bytes>,
}

impl Call {
    pub fn get(path: impl Into<String>, token: Option<&str>) -> Self {
        Self { method: hyper::Method::GET, path: path.into(), token: token.map(str::to_owned), body: None }
    }

    pub fn put(path: impl Into<String>, token: &str, body: &serde_json::Value) -> Self {
        Self {
            method: hyper::Method::PUT,
            path: path.into(),
            token: Some(token.to_owned()),
            body: Some(Bytes::from(body.to_string())),
        }
    }

    fn request(&self, host: &str) -> Request<Full<Bytes>> {
        let mut request = Request::builder().method(self.method.clone()).uri(&self.path).header("host", host);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if self.body.is_some() {
            request = request.header("content-type", "application/json");
        }
        request.body(Full::new(self.body.clone().unwrap_or_default())).unwrap_or_default()
    }
}

/// Runs `connections` connections, connection n to `servers[n % servers.len()]`, each
/// sending `call(connection, sequence)` back to back for `duration`. A request succeeds on
/// a 2xx answer read whole.
pub async fn run<F>(servers: &[SocketAddr], connections: usize, duration: Duration, call: F) -> Stats
where
    F: Fn(usize, u64) -> Arc<Call> + Send + Sync + 'static,
{
    let call = Arc::new(call);
    let started = Instant::now();
    let deadline = started + duration;
    let loops: Vec<_> = (0..connections)
        .map(|connection| {
            let (call, server) = (call.clone(), servers[connection % servers.len()]);
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut sequence) = (Vec::new(), 0u64, 0u64);
                let mut first_error = None;
                let host = server.to_string();
                let mut sender = None;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    if sender.is_none() {
                        sender = connect(server).await;
                    }
                    let sent_ok = match sender.as_mut() {
                        Some(sender) => send(sender, call(connection, sequence).request(&host)).await,
                        None => Err(format!("cannot connect to {server}")),
                    };
                    if let Err(error) = sent_ok {
                        errors += 1;
                        first_error.get_or_insert(error);
                        sender = None;
                    }
                    latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    sequence += 1;
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0, None);
    for handle in loops {
        if let Ok((mine, failed, error)) = handle.await {
            latencies.extend(mine);
            errors += failed;
            first_error = first_error.or(error);
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
        first_error,
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(server: SocketAddr) -> Option<Sender> {
    let stream = tokio::net::TcpStream::connect(server).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.ok()?;
    tokio::spawn(connection);
    Some(sender)
}

async fn send(sender: &mut Sender, request: Request<Full<Bytes>>) -> Result<(), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if status.is_success() { Ok(()) } else { Err(format!("{status} {}", String::from_utf8_lossy(&body))) }
}
