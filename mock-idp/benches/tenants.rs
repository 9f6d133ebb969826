//! Creating a tenant and getting its discovery document back, over HTTP, as a test in another language
//! would: `POST /admin/tenants` then `GET /t/NAME/.well-known/openid-configuration`. Run in release mode:
//!
//! ```text
//! cargo bench -p mock-idp --bench tenants
//! ```
//!
//! Prints p50 / p99 / max of the pair over `BENCH_TENANTS` tenants (default 1,000), each deleted after it
//! is measured (the delete is not timed), against an in-process server on 127.0.0.1.

use std::time::{Duration, Instant};

use mock_idp::{Config, MockIdp};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("BENCH_TENANTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000);
    let mut config = Config::builtin();
    config.admin = true;
    let idp = MockIdp::start(config).await.expect("start");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let base = idp.issuer().to_owned();
    let mut times = Vec::with_capacity(n);
    for i in 0..n + 50 {
        let t = Instant::now();
        let created: serde_json::Value = http
            .post(format!("{base}/admin/tenants"))
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("create")
            .json()
            .await
            .expect("json");
        let issuer = created["issuer"].as_str().expect("issuer").to_owned();
        let doc: serde_json::Value = http
            .get(format!("{issuer}/.well-known/openid-configuration"))
            .send()
            .await
            .expect("discovery")
            .json()
            .await
            .expect("json");
        assert_eq!(doc["issuer"], issuer.as_str());
        let elapsed = t.elapsed();
        // The first 50 warm the connection and the allocator.
        if i >= 50 {
            times.push(elapsed);
        }
        let name = created["name"].as_str().expect("name");
        http.delete(format!("{base}/admin/tenants/{name}"))
            .send()
            .await
            .expect("delete");
    }
    times.sort();
    println!(
        "tenant create + discovery over HTTP ({} tenants): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        times.len(),
        percentile(&times, 0.50).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    idp.shutdown().await;
}
