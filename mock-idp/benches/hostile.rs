//! Memory under hostile load: resident memory of the CLI server before and after a million requests that a
//! stranger can send without credentials, at concurrency 32. Run in release mode:
//!
//! ```text
//! cargo bench -p mock-idp --bench hostile                         # 1,000,000 requests
//! HOSTILE_REQUESTS=100000 cargo bench -p mock-idp --bench hostile  # a short check
//! HOSTILE_BIN=/path/to/other/mock-idp cargo bench -p mock-idp --bench hostile  # another build
//! HOSTILE_CONFIG=my.toml cargo bench -p mock-idp --bench hostile  # another configuration
//! ```
//!
//! The CLI server runs in its own process with the built-in configuration and default `[limits]`. The
//! requests, from a seeded generator, come from many loopback addresses: kept-alive connections from the
//! two busiest, fresh connections from the thousands of others (so idle connections do not count as server
//! memory):
//! - login pages (valid `GET /authorize`, states up to 2,000 bytes) from two addresses and from 512 more,
//!   so the login-page store reaches its per-address share and its global cap;
//! - login-form posts with a wrong password on those pages, and with made-up request ids;
//! - token requests with wrong secrets, for known and unknown clients, from 4,096 addresses (the
//!   failed-authentication counters fill and turn over);
//! - malformed authorization requests (oversized state, repeated parameters, unknown client), junk bearer
//!   tokens at userinfo, junk at introspection and revocation, unknown paths.
//!
//! Prints the RSS before (after one warm-up login), the peak, after the load, and after a login that must
//! succeed; counts 5xx answers and requests without an answer within 10 s (both must be 0). Not a timed
//! test: the numbers go into `docs/performance.md`.

mod common;

use std::{
    io::{BufRead, BufReader},
    net::IpAddr,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use common::{REDIRECT, flow, hidden, rss_kib};
use futures::StreamExt;

/// SplitMix64: the sequence depends on the seed alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Up to `max` characters.
    fn text_upto(&mut self, max: u64) -> String {
        let n = self.below(max) as usize;
        self.text(n)
    }
    fn text(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~";
        (0..n)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// What one request is.
enum Kind {
    /// A valid authorization request; posts a wrong password on the page it gets.
    LoginPage { state: String },
    /// A login-form post with a made-up request id.
    BogusForm { id: String },
    /// A token request with a wrong secret.
    WrongSecret { client: String, secret: String },
    /// Something malformed or unknown: method, path and query or body.
    Junk {
        post: bool,
        path: &'static str,
        query: String,
        body: String,
    },
}

fn generate(rng: &mut Rng) -> (IpAddr, Kind) {
    let roll = rng.below(100);
    let few = IpAddr::from([127, 0, 0, 2 + rng.below(2) as u8]);
    let many = |rng: &mut Rng, second: u8, n: u64| {
        let i = rng.below(n) as u16;
        IpAddr::from([127, second, (i >> 8) as u8, (i & 0xff) as u8])
    };
    match roll {
        0..=24 => (
            few,
            Kind::LoginPage {
                state: rng.text_upto(2_000),
            },
        ),
        25..=34 => (
            many(rng, 3, 512),
            Kind::LoginPage {
                state: rng.text_upto(200),
            },
        ),
        35..=49 => (few, Kind::BogusForm { id: rng.text(32) }),
        50..=69 => {
            let client = if rng.below(2) == 0 {
                "web".to_owned()
            } else {
                rng.text(8)
            };
            (
                many(rng, 2, 4_096),
                Kind::WrongSecret {
                    client,
                    secret: rng.text(16),
                },
            )
        }
        _ => {
            let (post, path, query, body) = match rng.below(6) {
                0 => (
                    false,
                    "/authorize",
                    format!(
                        "client_id=web&redirect_uri={REDIRECT}&response_type=code&state={}",
                        rng.text(5_000)
                    ),
                    String::new(),
                ),
                1 => (
                    false,
                    "/authorize",
                    "client_id=web&client_id=web&response_type=code".to_owned(),
                    String::new(),
                ),
                2 => (
                    false,
                    "/authorize",
                    format!("client_id={}&response_type=code", rng.text(12)),
                    String::new(),
                ),
                3 => (
                    false,
                    "/userinfo",
                    format!("access_token={}", rng.text(40)),
                    String::new(),
                ),
                4 => (
                    true,
                    "/introspect",
                    String::new(),
                    format!("token={}", rng.text(40)),
                ),
                _ => (true, "/no-such-path", String::new(), rng.text(200)),
            };
            (
                few,
                Kind::Junk {
                    post,
                    path,
                    query,
                    body,
                },
            )
        }
    }
}

/// Counters of what came back.
#[derive(Default)]
struct Tally {
    server_errors: AtomicU64,
    no_answer: AtomicU64,
    answered: AtomicU64,
}

/// A client at `addr`; `keep_alive` for the two busy addresses (at most 32 connections), fresh connections
/// for the thousands of others, whose idle connections would otherwise count as server memory.
fn client_at(addr: IpAddr, keep_alive: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .pool_max_idle_per_host(if keep_alive { 32 } else { 0 })
        .timeout(Duration::from_secs(10))
        .local_address(addr)
        .build()
        .expect("client")
}

/// One client per source address, built once (a client is costly to build, a connection is not).
type Clients = std::collections::HashMap<IpAddr, reqwest::Client>;

fn clients() -> Clients {
    let mut all = Clients::new();
    for last in [2, 3] {
        let a = IpAddr::from([127, 0, 0, last]);
        all.insert(a, client_at(a, true));
    }
    for (second, n) in [(3u8, 512u16), (2, 4_096)] {
        for i in 0..n {
            let a = IpAddr::from([127, second, (i >> 8) as u8, (i & 0xff) as u8]);
            all.insert(a, client_at(a, false));
        }
    }
    all
}

async fn send(issuer: &str, http: &reqwest::Client, kind: Kind, tally: &Tally) {
    let count = |r: Result<reqwest::Response, reqwest::Error>| match r {
        Ok(r) => {
            tally.answered.fetch_add(1, Ordering::Relaxed);
            if r.status().is_server_error() {
                tally.server_errors.fetch_add(1, Ordering::Relaxed);
            }
            Some(r)
        }
        Err(_) => {
            tally.no_answer.fetch_add(1, Ordering::Relaxed);
            None
        }
    };
    match kind {
        Kind::LoginPage { state } => {
            let page = count(
                http.get(format!("{issuer}/authorize"))
                    .query(&[
                        ("client_id", "web"),
                        ("redirect_uri", REDIRECT),
                        ("response_type", "code"),
                        ("scope", "openid profile"),
                        ("state", state.as_str()),
                    ])
                    .send()
                    .await,
            );
            let Some(page) = page else { return };
            let body = page.text().await.unwrap_or_default();
            if let (Some(id), Some(csrf)) = (hidden(&body, "request_id"), hidden(&body, "csrf")) {
                count(
                    http.post(format!("{issuer}/authorize/login"))
                        .form(&[
                            ("request_id", id.as_str()),
                            ("csrf", csrf.as_str()),
                            ("username", "alice"),
                            ("password", "wrong"),
                        ])
                        .send()
                        .await,
                );
            }
        }
        Kind::BogusForm { id } => {
            count(
                http.post(format!("{issuer}/authorize/login"))
                    .form(&[
                        ("request_id", id.as_str()),
                        ("csrf", "x"),
                        ("username", "alice"),
                    ])
                    .send()
                    .await,
            );
        }
        Kind::WrongSecret { client, secret } => {
            count(
                http.post(format!("{issuer}/token"))
                    .basic_auth(client, Some(secret))
                    .form(&[
                        ("grant_type", "authorization_code"),
                        ("code", "no-such-code"),
                        ("redirect_uri", REDIRECT),
                    ])
                    .send()
                    .await,
            );
        }
        Kind::Junk {
            post,
            path,
            query,
            body,
        } => {
            let url = if query.is_empty() {
                format!("{issuer}{path}")
            } else {
                format!("{issuer}{path}?{query}")
            };
            let request = if post {
                http.post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
            } else {
                http.get(url)
            };
            count(request.send().await);
        }
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let requests = env_u64("HOSTILE_REQUESTS", 1_000_000);
    let seed = env_u64("HOSTILE_SEED", 20_261_206);

    // `HOSTILE_BIN`: another build of the server to compare with (an older commit's release binary).
    let bin =
        std::env::var("HOSTILE_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_mock-idp").to_owned());
    let mut command = Command::new(bin);
    command.args(["--port", "0"]);
    // `HOSTILE_CONFIG`: a configuration file instead of the built-in defaults.
    if let Ok(config) = std::env::var("HOSTILE_CONFIG") {
        command.args(["--config", &config]);
    }
    let mut child = command
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mock-idp");
    let pid = child.id();
    let mut first = String::new();
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    stdout.read_line(&mut first).expect("banner");
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let issuer = first.trim().rsplit(' ').next().expect("issuer").to_owned();

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client");
    flow(&browser, &issuer).await.expect("warm-up login");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib(pid);
    println!(
        "mock-idp {issuer}: RSS after one login {:.1} MiB; {requests} hostile requests, concurrency 32, seed {seed}",
        before as f64 / 1024.0
    );

    let clients = clients();
    let tally = Arc::new(Tally::default());
    let peak = Arc::new(AtomicU64::new(before));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let started = Instant::now();
    let mut rng = Rng(seed);
    let mut sent = 0u64;
    futures::stream::iter(std::iter::from_fn(|| {
        (sent < requests).then(|| {
            sent += 1;
            generate(&mut rng)
        })
    }))
    .map(|(addr, kind)| {
        let (issuer, tally, http) = (issuer.clone(), tally.clone(), clients[&addr].clone());
        async move { send(&issuer, &http, kind, &tally).await }
    })
    .buffer_unordered(32)
    .for_each(|()| async {})
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    sampler.abort();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib(pid);
    let login = flow(&browser, &issuer).await;
    let after_login = rss_kib(pid);
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "  {} answers in {elapsed:.0} s ({:.0}/s); 5xx: {}; no answer within 10 s: {}",
        tally.answered.load(Ordering::Relaxed),
        tally.answered.load(Ordering::Relaxed) as f64 / elapsed,
        tally.server_errors.load(Ordering::Relaxed),
        tally.no_answer.load(Ordering::Relaxed),
    );
    println!(
        "  RSS MiB: before {:.1}, peak {:.1}, after {:.1} (growth {:+.1}), after a login {:.1}; login after: {}",
        mib(before),
        mib(peak.load(Ordering::Relaxed)),
        mib(after),
        mib(after) - mib(before),
        mib(after_login),
        if login.is_ok() { "ok" } else { "FAILED" },
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(login.is_ok(), "a login after the load: {login:?}");
    assert_eq!(
        tally.server_errors.load(Ordering::Relaxed),
        0,
        "5xx answers"
    );
    assert_eq!(
        tally.no_answer.load(Ordering::Relaxed),
        0,
        "requests without an answer"
    );
}
