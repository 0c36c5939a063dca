//! Slow and greedy clients, spoken to over raw TCP: headers and bodies sent too slowly are
//! cut off, idle connections are closed, and connections past the limit cannot keep
//! `/healthz` and the check from answering.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{TestApp, spawn_with};

/// Reads until the server closes the connection (or resets it); answers what it sent and
/// when it closed, or `None` if it was still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Some((String::from_utf8_lossy(&received).into_owned(), started.elapsed()));
            }
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
        }
    }
}

/// Sends `bytes` one at a time, `every` apart, until they are sent or the server closes;
/// answers how long the server let it go on.
async fn trickle(stream: &mut TcpStream, bytes: &[u8], every: Duration, at_most: Duration) -> Duration {
    let started = Instant::now();
    let (mut reader, mut writer) = stream.split();
    let mut buffer = [0u8; 4096];
    let sending = async {
        for byte in bytes {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(every).await;
        }
        std::future::pending::<()>().await;
    };
    let closed = async {
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    let _ = tokio::time::timeout(at_most, async {
        tokio::select! {
            () = sending => {}
            () = closed => {}
        }
    })
    .await;
    started.elapsed()
}

async fn connect(t: &TestApp) -> TcpStream {
    TcpStream::connect(t.addr).await.unwrap()
}

#[tokio::test]
async fn headers_sent_a_byte_a_second_are_cut_off_after_the_header_timeout() {
    let t = spawn_with(|c| c.limits.header_read_timeout_secs = 2).await;
    let mut stream = connect(&t).await;
    let headers = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Slow: {}\r\n\r\n", t.addr, "a".repeat(20));
    let held = trickle(&mut stream, headers.as_bytes(), Duration::from_secs(1), Duration::from_secs(10)).await;
    assert!(held < Duration::from_secs(5), "a client trickling its headers was held for {held:?}");
}

#[tokio::test]
async fn a_body_trickled_too_slowly_is_answered_408_or_cut_off() {
    let t = spawn_with(|c| c.limits.body_read_timeout_secs = 2).await;
    let mut stream = connect(&t).await;
    let head = format!(
        "POST /api/account/authenticate HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n",
        t.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let body = "{\"TenancyName\": \"host\"".repeat(10);
    let held = trickle(&mut stream, body.as_bytes(), Duration::from_millis(500), Duration::from_secs(10)).await;
    assert!(held < Duration::from_secs(5), "a client trickling its body was held for {held:?}");
    assert!(started.elapsed() >= Duration::from_secs(1), "cut off before the body timeout");
}

#[tokio::test]
async fn a_body_trickled_too_slowly_answers_problem_json_408() {
    let t = spawn_with(|c| c.limits.body_read_timeout_secs = 1).await;
    let mut stream = connect(&t).await;
    let head = format!(
        "POST /api/account/authenticate HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{{\"Tenancy",
        t.addr
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let (answer, after) = closed_within(&mut stream, Duration::from_secs(5)).await.expect("still open after 5 s");
    assert!(after < Duration::from_secs(4), "answered after {after:?}");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json") && answer.contains("\"code\":\"request_timeout\""), "{answer}");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let t = spawn_with(|c| {
        c.limits.idle_timeout_secs = 1;
        c.limits.header_read_timeout_secs = 30;
    })
    .await;
    let mut stream = connect(&t).await;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", t.addr);
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = [0u8; 4096];
    let n = stream.read(&mut buffer).await.unwrap();
    let answer = String::from_utf8_lossy(&buffer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200") && !answer.contains("connection: close"), "{answer}");
    let (_, after) = closed_within(&mut stream, Duration::from_secs(6)).await.expect("an idle connection stayed open");
    assert!(after >= Duration::from_millis(500), "closed right after the answer, not kept alive: {after:?}");
}

#[tokio::test]
async fn past_the_connection_limit_slow_clients_are_shed_and_healthz_and_the_check_still_answer() {
    const LIMIT: usize = 16;
    let t = spawn_with(|c| {
        c.limits.max_connections = LIMIT;
        c.limits.header_read_timeout_secs = 60;
        c.limits.idle_timeout_secs = 60;
    })
    .await;
    let admin = t.admin().await;
    let boss = t.org_with(&admin, "acme", &[("RPADEVNU", 5)], &["ann"]).await;
    let mut slow = Vec::new();
    for _ in 0..3 * LIMIT {
        let mut stream = connect(&t).await;
        stream.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Slow: a", t.addr).as_bytes()).await.unwrap();
        slow.push(stream);
    }
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let started = Instant::now();
    let health = fresh.get(t.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let check =
        fresh.get(t.url("/api/v1/orgs/acme/users/ann/licenses/RPADEVNU")).bearer_auth(&boss).send().await.unwrap();
    assert_eq!(check.status(), 200);
    assert!(started.elapsed() < Duration::from_secs(2), "/healthz and the check took {:?}", started.elapsed());
    // The oldest half-sent requests made room: the server holds no more than its limit.
    let mut open = 0;
    for stream in &mut slow {
        if closed_within(stream, Duration::from_millis(200)).await.is_none() {
            open += 1;
        }
    }
    assert!(open <= LIMIT, "{open} of {} half-sent connections are still open", slow.len());
    assert!(closed_within(&mut slow[0], Duration::from_millis(100)).await.is_some(), "the oldest is still open");
}

#[tokio::test]
async fn when_every_connection_is_busy_a_new_one_is_answered_503_with_retry_after() {
    const LIMIT: usize = 4;
    let t = spawn_with(|c| {
        c.limits.max_connections = LIMIT;
        c.limits.body_read_timeout_secs = 30;
    })
    .await;
    let mut busy = Vec::new();
    for _ in 0..LIMIT {
        let mut stream = connect(&t).await;
        let head = format!(
            "POST /api/account/authenticate HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{",
            t.addr
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        busy.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut stream = connect(&t).await;
    stream.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", t.addr).as_bytes()).await.unwrap();
    let (answer, after) = closed_within(&mut stream, Duration::from_secs(3)).await.expect("no answer past the limit");
    assert!(after < Duration::from_secs(2), "answered after {after:?}");
    let lower = answer.to_ascii_lowercase();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(lower.contains("content-type: application/problem+json") && lower.contains("retry-after: 1"), "{answer}");
    assert!(answer.contains("\"code\":\"unavailable\""), "{answer}");
    drop(busy);
}
