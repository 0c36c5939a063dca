//! The load generator: N keep-alive HTTP/1.1 connections, each sending its requests back to
//! back until the time is up, in the manner of `wrk`. Each connection writes its next
//! request into a buffer of its own (its path drawn at random and formatted in place),
//! makes one write, and reads the answer into its own buffer, parsed
//! with `httparse`: one task and two system calls, so the generator takes as little as it
//! can of the CPU the server shares with it. The same generator drives allot and its
//! baselines, so both sides pay the same for it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What a run measured. A request is answered when its answer is a 2xx, or a 409: a
/// refusal (no unit left) is the server doing its job, so it is counted, not failed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    /// Requests answered (2xx and 409).
    pub requests: u64,
    /// Of those, the 409s.
    pub refused: u64,
    /// Requests that failed: another status, or the connection broke.
    pub errors: u64,
    /// What the first failed request answered.
    pub first_error: Option<String>,
    /// How long the run took, from the first request to the last answer.
    pub seconds: f64,
    /// Requests answered per second.
    pub per_second: f64,
    /// Latencies of the answered requests.
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Stats {
    /// These figures, if requests were answered and none failed.
    pub fn answered(self, what: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(self.errors == 0, "{} {what} failed; the first: {:?}", self.errors, self.first_error);
        anyhow::ensure!(self.requests > 0, "no {what} were answered");
        Ok(self)
    }
}

/// A request's line, host and authorization headers, without the blank line that ends
/// the head: the path is formatted in place, so a drawn path costs no allocation.
pub fn write_head(
    out: &mut Vec<u8>,
    method: &str,
    host: &SocketAddr,
    path: std::fmt::Arguments<'_>,
    token: Option<&str>,
) {
    use std::io::Write as _;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{method} {path} HTTP/1.1\r\nhost: {host}\r\n");
    if let Some(token) = token {
        let _ = write!(out, "authorization: Bearer {token}\r\n");
    }
}

/// A connection's requests: each call writes the next one into the (empty) buffer given.
pub type Requests = Box<dyn FnMut(&mut Vec<u8>) + Send>;

/// Runs `connections` connections, connection n to `servers[n % servers.len()]`, each
/// sending the requests `requests(n, server)` for `duration`. Fails when a connection's
/// task fails (panics): its requests would otherwise be missing from the figures unseen.
pub async fn run(
    servers: &[SocketAddr],
    connections: usize,
    duration: Duration,
    requests: impl Fn(usize, SocketAddr) -> Requests,
) -> anyhow::Result<Stats> {
    let started = Instant::now();
    let deadline = started + duration;
    let loops: Vec<_> = (0..connections)
        .map(|n| {
            let server = servers[n % servers.len()];
            tokio::spawn(connection(server, requests(n, server), deadline))
        })
        .collect();
    let (mut latencies, mut refused, mut errors, mut first_error) = (Vec::new(), 0, 0, None);
    for handle in loops {
        let run = handle.await.context("a load connection's task failed")?;
        latencies.extend(run.latencies);
        refused += run.refused;
        errors += run.errors;
        first_error = first_error.or(run.first_error);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let index = ((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1));
        latencies.get(index).map_or(0.0, |micros| f64::from(*micros) / 1000.0)
    };
    Ok(Stats {
        requests: latencies.len() as u64,
        refused,
        errors,
        first_error,
        seconds,
        per_second: latencies.len() as f64 / seconds,
        p50_ms: percentile(0.50),
        p99_ms: percentile(0.99),
    })
}

/// One connection's run: each answered request's latency in microseconds, its refusals
/// and its failures.
#[derive(Default)]
struct Run {
    latencies: Vec<u32>,
    refused: u64,
    errors: u64,
    first_error: Option<String>,
}

/// What an answer was.
enum Answer {
    Done,
    Refused,
}

/// Sends `requests` until `deadline`, on one connection, opened again after a failure.
async fn connection(server: SocketAddr, mut requests: Requests, deadline: Instant) -> Run {
    let mut run = Run::default();
    let (mut stream, mut request, mut buffer) = (None, Vec::with_capacity(1024), Vec::with_capacity(16 * 1024));
    loop {
        request.clear();
        requests(&mut request);
        let sent = Instant::now();
        if sent >= deadline {
            break;
        }
        if stream.is_none() {
            stream = connect(server).await;
        }
        let answered = match stream.as_mut() {
            Some(stream) => exchange(stream, &request, &mut buffer).await,
            None => Err(format!("cannot connect to {server}")),
        };
        match answered {
            Ok(answer) => {
                run.refused += u64::from(matches!(answer, Answer::Refused));
                run.latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
            }
            Err(error) => {
                run.errors += 1;
                run.first_error.get_or_insert(error);
                stream = None;
            }
        }
    }
    run
}

async fn connect(server: SocketAddr) -> Option<TcpStream> {
    let stream = TcpStream::connect(server).await.ok()?;
    stream.set_nodelay(true).ok()?;
    Some(stream)
}

/// Writes `request` and reads its answer whole into `buffer`: a 2xx or a 409, else the
/// status and body as the error.
async fn exchange(stream: &mut TcpStream, request: &[u8], buffer: &mut Vec<u8>) -> Result<Answer, String> {
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
    match status {
        200..300 => Ok(Answer::Done),
        409 => Ok(Answer::Refused),
        _ => Err(format!("{status} {}", String::from_utf8_lossy(&buffer[head..head + length]))),
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

/// A small, fast pseudo-random generator (SplitMix64), seeded: a draw costs a few
/// nanoseconds of the CPU the server shares with the generator, and no dependency.
pub struct Draw(u64);

impl Draw {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// A number in `0..bound`, `bound` > 0 (the modulo's bias is negligible at these bounds).
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) % bound as u64) as usize
    }
}
