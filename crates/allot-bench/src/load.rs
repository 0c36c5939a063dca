//! The load generator: N keep-alive HTTP/1.1 connections, each sending its requests back to
//! back until the time is up, in the manner of `wrk`. Each connection writes its requests
//! out as bytes once, then per request makes one write and reads the answer into its own
//! buffer, parsed with `httparse`: one task and two system calls, so the generator takes as
//! little as it can of the CPU the server shares with it. The same generator drives allot
//! and its baselines.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

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

impl Stats {
    /// These figures, if requests were made and every one was answered with a 2xx.
    pub fn all_answered(self, what: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(self.errors == 0, "{} {what} failed; the first: {:?}", self.errors, self.first_error);
        anyhow::ensure!(self.requests > 0, "no {what} were made");
        Ok(self)
    }
}

/// A request to send: method, path and query, bearer token, JSON body.
pub struct Call {
    method: &'static str,
    path: String,
    token: Option<String>,
    body: Option<String>,
}

impl Call {
    pub fn get(path: impl Into<String>, token: Option<&str>) -> Self {
        Self { method: "GET", path: path.into(), token: token.map(str::to_owned), body: None }
    }

    pub fn put(path: impl Into<String>, token: &str, body: &serde_json::Value) -> Self {
        Self { method: "PUT", path: path.into(), token: Some(token.to_owned()), body: Some(body.to_string()) }
    }

    /// The request as it goes on the wire to `host`.
    fn bytes(&self, host: &SocketAddr) -> Vec<u8> {
        let mut head = format!("{} {} HTTP/1.1\r\nhost: {host}\r\n", self.method, self.path);
        if let Some(token) = &self.token {
            head.push_str(&format!("authorization: Bearer {token}\r\n"));
        }
        if let Some(body) = &self.body {
            head.push_str(&format!("content-type: application/json\r\ncontent-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        head.push_str(self.body.as_deref().unwrap_or_default());
        head.into_bytes()
    }
}

/// Runs `connections` connections, connection n to `servers[n % servers.len()]`, each
/// sending the requests `calls(n)` in turn, over and over, for `duration`. A request
/// succeeds on a 2xx answer read whole.
pub async fn run(
    servers: &[SocketAddr],
    connections: usize,
    duration: Duration,
    calls: impl Fn(usize) -> Vec<Call>,
) -> Stats {
    let started = Instant::now();
    let deadline = started + duration;
    let loops: Vec<_> = (0..connections)
        .map(|n| {
            let server = servers[n % servers.len()];
            let requests: Vec<Vec<u8>> = calls(n).iter().map(|call| call.bytes(&server)).collect();
            tokio::spawn(connection(server, requests, deadline))
        })
        .collect();
    let (mut latencies, mut errors, mut first_error) = (Vec::new(), 0, None);
    for handle in loops {
        if let Ok(run) = handle.await {
            latencies.extend(run.latencies);
            errors += run.errors;
            first_error = first_error.or(run.first_error);
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

/// One connection's run: each request's latency in microseconds, and its failures.
#[derive(Default)]
struct Run {
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

/// Sends `requests` in turn until `deadline`, on one connection, opened again after a failure.
async fn connection(server: SocketAddr, requests: Vec<Vec<u8>>, deadline: Instant) -> Run {
    let mut run = Run::default();
    let (mut stream, mut buffer) = (None, Vec::with_capacity(16 * 1024));
    for request in requests.iter().cycle() {
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        if stream.is_none() {
            stream = connect(server).await;
        }
        let answered = match stream.as_mut() {
            Some(stream) => exchange(stream, request, &mut buffer).await,
            None => Err(format!("cannot connect to {server}")),
        };
        if let Err(error) = answered {
            run.errors += 1;
            run.first_error.get_or_insert(error);
            stream = None;
        }
        run.latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    run
}

async fn connect(server: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect(server).await.ok()?;
    stream.set_nodelay(true).ok()?;
    Some(stream)
}

/// Writes `request` and reads its answer whole into `buffer`: Ok on a 2xx status, else the
/// status and body.
async fn exchange(stream: &mut TcpStream, request: &[u8], buffer: &mut Vec<u8>) -> Result<(), String> {
    stream.write_all(request).await.map_err(|e| e.to_string())?;
    buffer.clear();
    let (status, head, length) = loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = response.parse(buffer).map_err(|e| e.to_string())? {
            break (response.code.unwrap_or_default(), head, content_length(response.headers)?);
        }
        read_more(stream, buffer).await?;
    };
    while buffer.len() < head + length {
        read_more(stream, buffer).await?;
    }
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("{status} {}", String::from_utf8_lossy(&buffer[head..head + length])))
    }
}

/// The body's length: the servers measured answer with `content-length`, never in chunks.
fn content_length(headers: &[httparse::Header<'_>]) -> Result<usize, String> {
    let header = headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-length"));
    let value = header.ok_or("an answer without content-length")?.value;
    std::str::from_utf8(value).ok().and_then(|v| v.trim().parse().ok()).ok_or_else(|| "a bad content-length".into())
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    buffer.reserve(8 * 1024);
    match stream.read_buf(buffer).await {
        Ok(0) => Err("the server closed the connection".into()),
        Ok(_) => Ok(()),
        Err(error) => Err(error.to_string()),
    }
}
