//! The accept loop, so that slow and greedy clients cannot hold the server: hyper reads
//! each connection's headers against a timer, a body must arrive within its own deadline,
//! a connection waiting for its next request is closed when idle, and past
//! `max_connections` the longest-idle connection is closed for the new one (a slow client
//! still sending its headers counts as idle); only when every connection is busy with a
//! request is the new one answered 503 with Retry-After.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use allot_api::ErrorCode;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse as _;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt as _;

use crate::config::Limits;
use crate::error::ApiError;
use crate::middleware::REVISION;

/// Connections answered 503 at once; past that a refused connection is simply closed, so
/// a flood cannot make the refusals themselves hold the server.
const REFUSING_AT_ONCE: usize = 32;

/// The timers and the limit, from `limits.*` (each at least 1).
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub header_read: Duration,
    pub body_read: Duration,
    pub idle: Duration,
    pub max_connections: usize,
}

impl From<&Limits> for Settings {
    fn from(limits: &Limits) -> Self {
        Self {
            header_read: Duration::from_secs(limits.header_read_timeout_secs.max(1)),
            body_read: Duration::from_secs(limits.body_read_timeout_secs.max(1)),
            idle: Duration::from_secs(limits.idle_timeout_secs.max(1)),
            max_connections: limits.max_connections.max(1),
        }
    }
}

/// Serves `service` on every connection `listener` accepts until `shutdown` resolves; then
/// stops accepting, closes idle connections, and returns once the requests in flight are
/// answered.
pub async fn serve<S>(
    listener: TcpListener,
    service: S,
    settings: Settings,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let registry = Arc::new(Registry::new(settings.max_connections));
    let refusal = refusal().await;
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(settings.header_read).keep_alive(true);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, addr) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, or a connection reset before it was accepted:
                // neither stops the server.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        match Registry::admit(&registry) {
            Some(conn) => {
                let (builder, service) = (builder.clone(), service.clone());
                tokio::spawn(serve_connection(builder, stream, addr, conn, service, settings));
            }
            None => match refusing.clone().try_acquire_owned() {
                Ok(permit) => {
                    let refusal = refusal.clone();
                    tokio::spawn(async move {
                        refuse(stream, &refusal).await;
                        drop(permit);
                    });
                }
                Err(_) => drop(stream),
            },
        }
    }
    drop(listener);
    registry.close_all();
    registry.drained().await;
    Ok(())
}

/// One connection: hyper with its header timer, our idle timer beside it, and a close
/// (shed or shutdown) that lets a request in flight finish.
async fn serve_connection<S>(
    builder: Arc<http1::Builder>,
    stream: TcpStream,
    addr: SocketAddr,
    conn: Admitted,
    service: S,
    settings: Settings,
) where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let state = conn.state.clone();
    let hyper_service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let (service, state) = (service.clone(), state.clone());
        async move {
            let busy = Busy::start(state);
            let (mut request, timed_out) = with_body_deadline(request, settings.body_read);
            request.extensions_mut().insert(ConnectInfo(addr));
            let response = match service.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let body_late = timed_out.is_some_and(|flag| flag.load(Ordering::Acquire));
            let response = if body_late { body_timed_out(&response, settings.body_read) } else { response };
            // Busy until hyper has sent the whole answer and drops its body.
            Ok::<_, Infallible>(response.map(|inner| Body::new(AnswerBody { inner, _busy: busy })))
        }
    });
    let connection = builder.serve_connection(TokioIo::new(stream), hyper_service);
    tokio::pin!(connection);
    let mut closing = false;
    loop {
        let wake = conn.state.idle_deadline(settings.idle);
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(%error, "connection ended");
                }
                break;
            }
            () = conn.state.close.notified(), if !closing => {
                // With no request being handled nothing is lost by dropping the connection,
                // and hyper would wait for a half-sent head; else the answer is finished first.
                if conn.state.busy.load(Ordering::Acquire) == 0 {
                    break;
                }
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
            () = tokio::time::sleep_until(wake.into()), if !closing => {
                if conn.state.idle_deadline(settings.idle) <= Instant::now() {
                    break;
                }
            }
        }
    }
}

/// An answer's body, holding its connection busy until it is sent.
struct AnswerBody {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for AnswerBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Puts a deadline on the request's body, counted from its headers; answers the flag the
/// body sets when the deadline passed before the body ended.
fn with_body_deadline(request: Request<Incoming>, limit: Duration) -> (Request<Body>, Option<Arc<AtomicBool>>) {
    use http_body::Body as _;
    if request.body().is_end_stream() {
        return (request.map(Body::new), None);
    }
    let timed_out = Arc::new(AtomicBool::new(false));
    let flag = timed_out.clone();
    let request = request
        .map(|inner| Body::new(DeadlineBody { inner, deadline: Box::pin(tokio::time::sleep(limit)), timed_out: flag }));
    (request, Some(timed_out))
}

/// The answer when the body came too slowly, whatever the handler made of the cut-off
/// body; the connection closes after it.
fn body_timed_out(original: &Response<Body>, limit: Duration) -> Response<Body> {
    let detail = format!("the body did not arrive within {} s", limit.as_secs());
    let mut response = ApiError::new(StatusCode::REQUEST_TIMEOUT, ErrorCode::RequestTimeout, detail).into_response();
    if let Some(revision) = original.headers().get(REVISION) {
        response.headers_mut().insert(REVISION, revision.clone());
    }
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    timed_out: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("the body did not arrive in time")]
struct BodyTimedOut;

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(axum::Error::new)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The whole HTTP answer a connection past the limit gets, rendered once.
async fn refusal() -> Bytes {
    let response =
        ApiError::unavailable("the server has as many connections as it serves at once; retry shortly").into_response();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let mut head = format!("HTTP/1.1 {}\r\n", parts.status);
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!("content-length: {}\r\nconnection: close\r\n\r\n", body.len()));
    let mut answer = head.into_bytes();
    answer.extend_from_slice(&body);
    Bytes::from(answer)
}

/// Answers 503 without reading the request, then reads (and drops) what the client sent
/// for a moment: closing with unread bytes would reset the connection before the client
/// read the answer.
async fn refuse(mut stream: TcpStream, answer: &[u8]) {
    let answered = async {
        stream.write_all(answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        let mut read = 0;
        while read < 64 * 1024 {
            match stream.read(&mut sink).await? {
                0 => break,
                n => read += n,
            }
        }
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answered).await;
}

/// The connections being served, so that one past the limit can take an idle one's place
/// and shutdown can wait for them all.
struct Registry {
    epoch: Instant,
    max: usize,
    open: Mutex<Open>,
    emptied: Notify,
}

#[derive(Default)]
struct Open {
    next_id: u64,
    /// Connections not yet told to close.
    live: usize,
    conns: HashMap<u64, Arc<ConnState>>,
}

struct ConnState {
    epoch: Instant,
    /// Requests being handled (hyper serves one at a time per connection).
    busy: AtomicUsize,
    /// When the connection last became idle, in ms since the registry's epoch.
    idle_since_ms: AtomicU64,
    shed: AtomicBool,
    close: Notify,
}

impl ConnState {
    /// When the connection is closed for idleness if nothing changes; while it is busy, a
    /// look again one idle period from now.
    fn idle_deadline(&self, idle: Duration) -> Instant {
        if self.busy.load(Ordering::Acquire) > 0 {
            return Instant::now() + idle;
        }
        self.epoch + Duration::from_millis(self.idle_since_ms.load(Ordering::Acquire)) + idle
    }
}

/// A connection's place in the registry; leaving it (however the task ends) frees it.
struct Admitted {
    id: u64,
    state: Arc<ConnState>,
    registry: Arc<Registry>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self.registry.lock();
        if open.conns.remove(&self.id).is_some() && !self.state.shed.load(Ordering::Acquire) {
            open.live -= 1;
        }
        if open.conns.is_empty() {
            self.registry.emptied.notify_waiters();
        }
    }
}

/// A request being handled on a connection; when the last one ends, the connection is idle.
struct Busy(Arc<ConnState>);

impl Busy {
    fn start(state: Arc<ConnState>) -> Self {
        state.busy.fetch_add(1, Ordering::AcqRel);
        Self(state)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if self.0.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle_since_ms.store(millis_since(self.0.epoch), Ordering::Release);
        }
    }
}

fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Registry {
    fn new(max: usize) -> Self {
        Self { epoch: Instant::now(), max, open: Mutex::new(Open::default()), emptied: Notify::new() }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a new connection: free, or taken from the longest-idle connection;
    /// `None` when every connection is busy with a request.
    fn admit(registry: &Arc<Self>) -> Option<Admitted> {
        let now = millis_since(registry.epoch);
        let mut open = registry.lock();
        if open.live >= registry.max {
            let idlest = open
                .conns
                .values()
                .filter(|c| !c.shed.load(Ordering::Acquire) && c.busy.load(Ordering::Acquire) == 0)
                .min_by_key(|c| c.idle_since_ms.load(Ordering::Acquire))?
                .clone();
            idlest.shed.store(true, Ordering::Release);
            idlest.close.notify_one();
            open.live -= 1;
        }
        let id = open.next_id;
        open.next_id += 1;
        open.live += 1;
        let state = Arc::new(ConnState {
            epoch: registry.epoch,
            busy: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(now),
            shed: AtomicBool::new(false),
            close: Notify::new(),
        });
        open.conns.insert(id, state.clone());
        Some(Admitted { id, state, registry: registry.clone() })
    }

    fn close_all(&self) {
        for conn in self.lock().conns.values() {
            conn.close.notify_one();
        }
    }

    async fn drained(&self) {
        loop {
            let emptied = self.emptied.notified();
            tokio::pin!(emptied);
            emptied.as_mut().enable();
            if self.lock().conns.is_empty() {
                return;
            }
            emptied.await;
        }
    }
}
