//! Fair use: a per-client rate limit on every API, on by default for the Vonage dialect.

use reqwest::Method;

use super::{V4, call, center};
use crate::harness::{spawn_app, spawn_with};
use allot_server::rate_limit::RateLimit;

#[tokio::test]
async fn past_the_rate_limit_each_surface_answers_429_with_retry_after_in_its_shape_and_metrics_count_it() {
    let t = spawn_with(|config| {
        config.rate_limits.vonage = RateLimit { per_second: 1, burst: 3 };
        config.rate_limits.native = RateLimit { per_second: 1, burst: 6 };
    })
    .await;
    let c = center(&t, &[("vccrole:agent", 1)]).await;
    for _ in 0..3 {
        call(&t, Method::GET, "/useradmin/users", Some(&c.read), Some(V4), None).await.expect(200);
    }
    let limited = call(&t, Method::GET, "/useradmin/users", Some(&c.read), Some(V4), None).await;
    assert_eq!(limited.status, 429);
    assert!(limited.body["message"].is_string() && limited.body.get("code").is_none(), "{}", limited.body);
    let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    // Another client is not held back.
    call(&t, Method::GET, "/useradmin/users", Some(&c.write), Some(V4), None).await.expect(200);

    let native = |token: String| {
        let t = &t;
        async move { t.send(Method::GET, "/api/v1/orgs", Some(&token), None).await }
    };
    // A fresh token: the one that set the account up has spent its burst on it.
    let fresh = t.admin().await;
    for _ in 0..6 {
        native(fresh.clone()).await.expect(200);
    }
    let limited = native(fresh).await;
    assert_eq!(limited.status, 429);
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.content_type().starts_with("application/problem+json"), "{}", limited.content_type());
    assert!(limited.headers.contains_key("retry-after"));

    let metrics = t.http.get(t.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("allot_rate_limited_total{surface=\"vonage\"} 1"), "{metrics}");
    assert!(metrics.contains("allot_rate_limited_total{surface=\"native\"} "), "{metrics}");
}

#[tokio::test]
async fn by_default_the_native_api_is_not_rate_limited_and_the_vonage_dialect_is() {
    let defaults = allot_server::Config::default().rate_limits;
    assert_eq!(defaults.native.per_second, 0, "off for the native API");
    assert_eq!(defaults.uipath.per_second, 0);
    assert!(defaults.vonage.per_second > 0, "on for the Vonage dialect");
    let t = spawn_app().await;
    let admin = t.admin().await;
    for _ in 0..150 {
        t.send(Method::GET, "/api/v1/orgs", Some(&admin), None).await.expect(200);
    }
}
