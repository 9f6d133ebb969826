//! Throughput, latency, start time and memory of mock-idp. Run in release mode:
//!
//! ```text
//! cargo bench -p mock-idp --bench flows
//! ```
//!
//! - start: in-process `MockIdp::start` with the built-in config, mean and max over 200 starts;
//! - flows: full authorization-code flows (GET /authorize → login page → POST login → POST /token, a fresh
//!   code each time, RS256 id_token and access token) against the CLI server in its own process, at
//!   concurrency 1, 8 and 32, with p50/p99 latency per flow;
//! - RSS of that CLI server idle and at the end of the load, and its CPU time (user + system) per flow,
//!   from /proc: the load generator shares the machine, so CPU per flow is the figure to compare.
//!
//! Every request goes to 127.0.0.1; each level runs for a bounded time (`BENCH_SECONDS`, default 5).

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use mock_idp::{Config, MockIdp};

mod common;

use common::{cpu_secs, flow, rss_kib};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run_level(
    issuer: &str,
    concurrency: usize,
    seconds: u64,
    pid: u32,
) -> (f64, Duration, Duration, u64, f64) {
    let cpu_before = cpu_secs(pid);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut peak = 0;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let issuer = issuer.to_owned();
            tokio::spawn(async move {
                let http = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .cookie_store(true)
                    .build()
                    .expect("client");
                let mut latencies = Vec::new();
                // Bounded by time and by count.
                while Instant::now() < deadline && latencies.len() < 1_000_000 {
                    let t = Instant::now();
                    if let Err(e) = flow(&http, &issuer).await {
                        panic!("flow failed: {e}");
                    }
                    latencies.push(t.elapsed());
                }
                latencies
            })
        })
        .collect();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        peak = peak.max(rss_kib(pid));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("worker"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    peak = peak.max(rss_kib(pid));
    let cpu_per_flow_us = (cpu_secs(pid) - cpu_before) * 1e6 / all.len().max(1) as f64;
    all.sort();
    (
        all.len() as f64 / elapsed,
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        peak,
        cpu_per_flow_us,
    )
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);

    // 1. In-process start time.
    let mut times = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let idp = MockIdp::start(Config::builtin()).await.expect("start");
        times.push(t.elapsed());
        idp.shutdown().await;
    }
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    let max = times.iter().max().copied().unwrap_or_default();
    println!(
        "start (in-process, built-in config): mean {:.3} ms, max {:.3} ms over {} starts",
        mean.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        times.len()
    );

    // 2. The CLI server in its own process.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-idp"))
        .args(["--port", "0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mock-idp");
    let pid = child.id();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("banner");
    // Keep draining the banner so the server never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let issuer = first.trim().rsplit(' ').next().expect("issuer").to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    println!(
        "CLI server {issuer}: idle RSS {:.1} MiB",
        rss_kib(pid) as f64 / 1024.0
    );

    println!("flows (authorize → login page → login → token, RS256), {seconds} s per level:");
    println!("  concurrency   flows/s     p50 ms     p99 ms   peak RSS MiB   server CPU µs/flow");
    for concurrency in [1, 8, 32] {
        let (rate, p50, p99, peak, cpu) = run_level(&issuer, concurrency, seconds, pid).await;
        println!(
            "  {concurrency:>11} {rate:>9.0} {:>10.2} {:>10.2} {:>14.1} {cpu:>20.0}",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            peak as f64 / 1024.0
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    println!(
        "CLI server RSS after load: {:.1} MiB",
        rss_kib(pid) as f64 / 1024.0
    );
    let _ = child.kill();
    let _ = child.wait();
}
