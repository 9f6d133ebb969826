//! Hostile input against both servers: a seeded, deterministic generator of malformed, oversized,
//! duplicated and garbage HTTP requests to every endpoint of mock-idp and of the reference client, sent as
//! raw bytes over TCP from stranger addresses (127.0.0.2 and 127.0.0.3). Asserts that nothing answers 5xx,
//! that nothing hangs, and that a correct login still succeeds afterwards.
//!
//! Ignored in a plain `cargo test` (it takes a while in a debug build); `.ci/run` runs it:
//!
//! ```text
//! cargo test --workspace --test api -- --ignored hostile
//! HOSTILE_REQUESTS=1000000 HOSTILE_SEED=7 cargo test --workspace --test api -- --ignored hostile
//! ```

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{CLIENT_ID, CLIENT_SECRET, browser, spawn_app};

/// SplitMix64: a tiny generator whose sequence depends on the seed alone, whatever the crate versions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// `min` plus up to `spread` random bytes.
    fn bytes_around(&mut self, min: usize, spread: usize) -> Vec<u8> {
        let n = min + self.below(spread);
        self.bytes(n)
    }

    /// `min` plus up to `spread` random URL-ish characters.
    fn ascii_around(&mut self, min: usize, spread: usize) -> String {
        let n = min + self.below(spread);
        self.ascii(n)
    }

    fn ascii(&mut self, n: usize) -> String {
        const SET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'()*+,;=% \"<>\\^`{|}";
        (0..n).map(|_| char::from(*self.pick(SET))).collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Server {
    Idp,
    App,
}

/// One endpoint: where, the method it expects, the parameter names it reads, and how its body is shaped.
struct Endpoint {
    server: Server,
    method: &'static str,
    path: &'static str,
    params: &'static [&'static str],
    body: Body,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    Form,
    Json,
}

const ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        server: Server::Idp,
        method: "GET",
        path: "/.well-known/openid-configuration",
        params: &[],
        body: Body::None,
    },
    Endpoint {
        server: Server::Idp,
        method: "GET",
        path: "/.well-known/oauth-authorization-server",
        params: &[],
        body: Body::None,
    },
    Endpoint {
        server: Server::Idp,
        method: "GET",
        path: "/jwks",
        params: &[],
        body: Body::None,
    },
    Endpoint {
        server: Server::Idp,
        method: "GET",
        path: "/authorize",
        params: &[
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
            "login_hint",
            "prompt",
            "request",
        ],
        body: Body::None,
    },
    Endpoint {
        server: Server::Idp,
        method: "POST",
        path: "/authorize/login",
        params: &["request_id", "csrf", "username", "password", "action"],
        body: Body::Form,
    },
    Endpoint {
        server: Server::Idp,
        method: "POST",
        path: "/token",
        params: &[
            "grant_type",
            "code",
            "redirect_uri",
            "code_verifier",
            "refresh_token",
            "scope",
            "client_id",
            "client_secret",
        ],
        body: Body::Form,
    },
    Endpoint {
        server: Server::Idp,
        method: "GET",
        path: "/userinfo",
        params: &[],
        body: Body::None,
    },
    Endpoint {
        server: Server::Idp,
        method: "POST",
        path: "/userinfo",
        params: &[],
        body: Body::Form,
    },
    Endpoint {
        server: Server::Idp,
        method: "POST",
        path: "/revoke",
        params: &["token", "token_type_hint", "client_id", "client_secret"],
        body: Body::Form,
    },
    Endpoint {
        server: Server::Idp,
        method: "POST",
        path: "/introspect",
        params: &["token", "token_type_hint", "client_id", "client_secret"],
        body: Body::Form,
    },
    Endpoint {
        server: Server::Idp,
        method: "GET",
        path: "/logout",
        params: &[
            "id_token_hint",
            "client_id",
            "post_logout_redirect_uri",
            "state",
        ],
        body: Body::None,
    },
    Endpoint {
        server: Server::Idp,
        method: "POST",
        path: "/logout",
        params: &[
            "id_token_hint",
            "client_id",
            "post_logout_redirect_uri",
            "state",
        ],
        body: Body::Form,
    },
    Endpoint {
        server: Server::App,
        method: "GET",
        path: "/",
        params: &[],
        body: Body::None,
    },
    Endpoint {
        server: Server::App,
        method: "GET",
        path: "/callback",
        params: &["code", "state", "iss", "error"],
        body: Body::None,
    },
    Endpoint {
        server: Server::App,
        method: "GET",
        path: "/app.js",
        params: &[],
        body: Body::None,
    },
    Endpoint {
        server: Server::App,
        method: "GET",
        path: "/health",
        params: &[],
        body: Body::None,
    },
    Endpoint {
        server: Server::App,
        method: "GET",
        path: "/auth/login",
        params: &["return_to"],
        body: Body::None,
    },
    Endpoint {
        server: Server::App,
        method: "GET",
        path: "/api/auth/login-url",
        params: &["return_to"],
        body: Body::None,
    },
    Endpoint {
        server: Server::App,
        method: "POST",
        path: "/api/auth/callback",
        params: &["code", "state", "iss", "error", "error_description"],
        body: Body::Json,
    },
    Endpoint {
        server: Server::App,
        method: "POST",
        path: "/api/auth/bind",
        params: &["ticket", "phone"],
        body: Body::Json,
    },
    Endpoint {
        server: Server::App,
        method: "POST",
        path: "/api/auth/logout",
        params: &[],
        body: Body::None,
    },
    Endpoint {
        server: Server::App,
        method: "POST",
        path: "/backchannel-logout",
        params: &["logout_token"],
        body: Body::Form,
    },
    Endpoint {
        server: Server::App,
        method: "GET",
        path: "/api/me",
        params: &[],
        body: Body::None,
    },
    Endpoint {
        server: Server::App,
        method: "GET",
        path: "/api/admin/users",
        params: &[],
        body: Body::None,
    },
];

/// A generated request: raw bytes, and whether it is well-formed HTTP that must get a status line.
struct Request {
    server: Server,
    path: &'static str,
    bytes: Vec<u8>,
    must_answer: bool,
}

fn percent(s: &[u8]) -> String {
    url::form_urlencoded::byte_serialize(s).collect()
}

/// A parameter value: plausible, empty, garbage, invalid escapes, non-UTF-8, or oversized.
fn value(rng: &mut Rng, name: &str, idp_issuer: &str) -> String {
    let plausible = match name {
        "client_id" => rng
            .pick(&["web", "spa", "service", CLIENT_ID, "nobody", "web\0"])
            .to_string(),
        "redirect_uri" => rng
            .pick(&[
                "http://127.0.0.1:3000/callback",
                "http://evil.example/cb",
                "javascript:alert(1)",
                "//x",
            ])
            .to_string(),
        "response_type" => rng
            .pick(&["code", "token", "code id_token", ""])
            .to_string(),
        "grant_type" => rng
            .pick(&[
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "password",
                "urn:x",
            ])
            .to_string(),
        "scope" => rng
            .pick(&["openid", "openid profile email", "admin", "openid openid"])
            .to_string(),
        "code_challenge_method" => rng.pick(&["S256", "plain", "s256"]).to_string(),
        "action" => rng.pick(&["login", "pick", "deny", "other"]).to_string(),
        "username" => rng
            .pick(&["alice", "bob", "root", "alice' OR 1=1 --"])
            .to_string(),
        "iss" => idp_issuer.to_owned(),
        "token_type_hint" => rng
            .pick(&["access_token", "refresh_token", "id_token"])
            .to_string(),
        "return_to" => rng
            .pick(&["/", "//evil.example", "/\\evil", "https://evil.example"])
            .to_string(),
        "phone" => rng.pick(&["+15555550101", "123", "+1555x"]).to_string(),
        _ => rng.ascii(43),
    };
    match rng.below(10) {
        0..=2 => percent(plausible.as_bytes()),
        3 => String::new(),
        4 => percent(rng.ascii_around(1, 64).as_bytes()),
        5 => percent(&rng.bytes_around(1, 64)),
        6 => rng
            .pick(&["%", "%zz", "%C3%28", "%00", "%FF%FE", "+++", "&&", "=="])
            .to_string(),
        7 => "A".repeat(1 + rng.below(20_000)),
        8 => percent(rng.ascii_around(1, 2_000).as_bytes()),
        _ => plausible,
    }
}

/// A query or form body from the endpoint's vocabulary, with parameters missing, unknown or repeated.
fn form(rng: &mut Rng, params: &[&str], issuer: &str) -> String {
    let mut pairs = Vec::new();
    for name in params {
        if rng.chance(60) {
            pairs.push(format!("{name}={}", value(rng, name, issuer)));
            if rng.chance(8) {
                pairs.push(format!("{name}={}", value(rng, name, issuer)));
            }
        }
    }
    if rng.chance(15) {
        pairs.push(format!(
            "{}={}",
            percent(rng.ascii(8).as_bytes()),
            value(rng, "x", issuer)
        ));
    }
    if rng.chance(5) {
        pairs.push(rng.pick(&["=", "&", "novalue", "=x", "%zz=1"]).to_string());
    }
    let mut joined = pairs.join("&");
    if rng.chance(3) {
        joined = String::from_utf8_lossy(&rng.bytes_around(0, 200)).into_owned();
    }
    joined
}

fn json_body(rng: &mut Rng, params: &[&str], issuer: &str) -> Vec<u8> {
    match rng.below(8) {
        0 => rng.bytes_around(0, 500),
        1 => b"{".to_vec(),
        2 => {
            // Deep nesting.
            let depth = 1 + rng.below(5_000);
            format!("{}{}", "[".repeat(depth), "]".repeat(depth)).into_bytes()
        }
        3 => b"null".to_vec(),
        _ => {
            let mut object = serde_json::Map::new();
            for name in params {
                if rng.chance(70) {
                    let v = match rng.below(6) {
                        0 => serde_json::json!(rng.next()),
                        1 => serde_json::json!([value(rng, name, issuer)]),
                        2 => serde_json::Value::Null,
                        3 => serde_json::json!({"x": true}),
                        _ => serde_json::json!(value(rng, name, issuer)),
                    };
                    object.insert((*name).to_owned(), v);
                }
            }
            serde_json::to_vec(&object).unwrap_or_default()
        }
    }
}

fn authorization(rng: &mut Rng) -> Option<String> {
    let basic = |s: &[u8]| format!("Basic {}", STANDARD.encode(s));
    Some(match rng.below(12) {
        0..=4 => return None,
        5 => basic(format!("web:{}", rng.ascii(12)).as_bytes()),
        6 => basic(format!("{CLIENT_ID}:{}", rng.ascii(12)).as_bytes()),
        7 => basic(&rng.bytes_around(0, 100)),
        8 => format!("Basic {}", rng.ascii_around(0, 100)),
        9 => format!("Bearer {}", rng.ascii_around(0, 2_000)),
        10 => format!(
            "Bearer {}.{}.{}",
            STANDARD.encode(br#"{"alg":"none","typ":"at+jwt"}"#),
            STANDARD.encode(br#"{"sub":"248289761001","scope":"openid"}"#),
            rng.ascii(10)
        ),
        _ => rng.ascii_around(0, 300),
    })
}

/// One request for `endpoint`, mutated at every layer: method, path, query, headers, body, framing.
fn generate(rng: &mut Rng, issuer: &str) -> Request {
    let endpoint = rng.pick(ENDPOINTS);
    let mut must_answer = true;
    let method = if rng.chance(85) {
        endpoint.method.to_owned()
    } else {
        rng.pick(&[
            "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO",
        ])
        .to_string()
    };
    let mut path = endpoint.path.to_owned();
    match rng.below(20) {
        0 => path.push('/'),
        1 => path.push_str("/../../etc/passwd"),
        2 => path = format!("{path}%2F..%00"),
        3 => path = format!("/{}", percent(rng.ascii_around(1, 3_000).as_bytes())),
        _ => {}
    }
    let query = if endpoint.body == Body::None || rng.chance(10) {
        form(rng, endpoint.params, issuer)
    } else {
        String::new()
    };
    let target = if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    };
    let (content_type, body): (Option<&str>, Vec<u8>) = match endpoint.body {
        Body::None if rng.chance(90) => (None, Vec::new()),
        Body::Json if rng.chance(80) => (
            Some(*rng.pick(&[
                "application/json",
                "application/json; charset=utf-8",
                "text/plain",
            ])),
            json_body(rng, endpoint.params, issuer),
        ),
        _ => {
            let ct = *rng.pick(&[
                "application/x-www-form-urlencoded",
                "application/x-www-form-urlencoded; charset=UTF-8",
                "application/json",
                "multipart/form-data; boundary=x",
                "text/html",
                "",
            ]);
            let body = if rng.chance(3) {
                // Oversized: beyond axum's 2 MB default limit; the server may answer before reading it all.
                must_answer = false;
                vec![b'a'; 2_100_000 + rng.below(500_000)]
            } else {
                form(rng, endpoint.params, issuer).into_bytes()
            };
            (Some(ct), body)
        }
    };
    let mut head =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(ct) = content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    if let Some(a) = authorization(rng) {
        head.push_str(&format!("Authorization: {a}\r\n"));
        if rng.chance(10) {
            head.push_str(&format!("Authorization: {a}\r\n"));
        }
    }
    if rng.chance(20) {
        let cookie = match rng.below(4) {
            0 => format!("rc_login={}", rng.ascii(43)),
            1 => format!(
                "mockidp_browser={}; rc_session={}",
                rng.ascii(43),
                rng.ascii(43)
            ),
            2 => format!("rc_login={}", "x".repeat(rng.below(8_000))),
            _ => rng.ascii_around(0, 500),
        };
        head.push_str(&format!("Cookie: {cookie}\r\n"));
    }
    if rng.chance(3) {
        // Oversized header block: hyper answers 431 or closes.
        head.push_str(&format!(
            "X-Big: {}\r\n",
            "b".repeat(100_000 + rng.below(400_000))
        ));
        must_answer = false;
    }
    let mut bytes;
    match rng.below(40) {
        0 => {
            // Not HTTP at all, but complete: ended by an empty line, as a request head would be (an incomplete
            // head only makes the server wait for the rest, which is the client stalling, not the server).
            bytes = rng.bytes_around(1, 2_000);
            bytes.extend_from_slice(b"\r\n\r\n");
            must_answer = false;
        }
        1 => {
            // Malformed chunked framing.
            head.push_str("Transfer-Encoding: chunked\r\n\r\n");
            bytes = head.into_bytes();
            bytes.extend_from_slice(b"zz\r\nhello\r\n0\r\n\r\n");
            must_answer = false;
        }
        2 => {
            head.push_str("Content-Length: abc\r\n\r\n");
            bytes = head.into_bytes();
            must_answer = false;
        }
        _ => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            bytes = head.into_bytes();
            bytes.extend_from_slice(&body);
        }
    }
    if target_has_raw_bytes(&bytes) {
        must_answer = false;
    }
    Request {
        server: endpoint.server,
        path: endpoint.path,
        bytes,
        must_answer,
    }
}

/// Whether the request line carries bytes that are not valid in a URI (hyper may drop the connection).
fn target_has_raw_bytes(bytes: &[u8]) -> bool {
    let line = bytes.split(|&b| b == b'\r').next().unwrap_or_default();
    line.iter().any(|b| !(b' '..0x7f).contains(b))
        || line.iter().filter(|&&b| b == b' ').count() != 2
}

/// What happened to one request.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Outcome {
    Status(u16),
    /// The server closed the connection without a status line.
    Closed,
    /// No answer within the deadline.
    Hung,
}

async fn send(from: IpAddr, to: SocketAddr, bytes: &[u8]) -> Outcome {
    let attempt = async {
        let socket = tokio::net::TcpSocket::new_v4().ok()?;
        socket.bind(SocketAddr::new(from, 0)).ok()?;
        let stream = socket.connect(to).await.ok()?;
        let (mut reader, mut writer) = stream.into_split();
        // Write and read at once: a server may answer (413, 431, 400, or 200 without reading a body it does
        // not need) before it has read everything, and a client writing first would then wait on a full
        // socket buffer.
        let write = async {
            let _ = writer.write_all(bytes).await;
            std::future::pending::<()>().await;
        };
        let read = async {
            let mut response = Vec::new();
            let mut buf = [0u8; 1024];
            while !response.windows(2).any(|w| w == b"\r\n") && response.len() < 8192 {
                match reader.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => response.extend_from_slice(&buf[..n]),
                }
            }
            response
        };
        let response = tokio::select! {
            response = read => response,
            () = write => unreachable!("the write future never completes"),
        };
        let line = String::from_utf8_lossy(&response).into_owned();
        Some(
            line.strip_prefix("HTTP/1.1 ")
                .and_then(|rest| rest.get(..3))
                .and_then(|code| code.parse().ok())
                .map_or(Outcome::Closed, Outcome::Status),
        )
    };
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Ok(Some(outcome)) => outcome,
        Ok(None) => Outcome::Closed,
        Err(_) => Outcome::Hung,
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "100,000 requests: run by .ci/run with --ignored"]
async fn hostile_input_gets_no_5xx_no_hang_and_a_correct_login_still_succeeds() {
    let count = env_u64("HOSTILE_REQUESTS", 100_000);
    let seed = env_u64("HOSTILE_SEED", 20_260_101);
    let app = spawn_app().await;
    let idp_addr = app.idp().addr();
    let app_addr: SocketAddr = app
        .address
        .trim_start_matches("http://")
        .parse()
        .expect("app address");
    let issuer = app.idp().issuer().to_owned();
    let strangers: [IpAddr; 2] = [[127, 0, 0, 2].into(), [127, 0, 0, 3].into()];

    let mut rng = Rng(seed);
    let requests: Vec<Request> = (0..count).map(|_| generate(&mut rng, &issuer)).collect();
    let started = Instant::now();
    let outcomes: Vec<(usize, Server, &'static str, bool, Outcome)> =
        futures::stream::iter(requests.iter().enumerate())
            .map(|(i, r)| {
                let to = match r.server {
                    Server::Idp => idp_addr,
                    Server::App => app_addr,
                };
                let from = strangers[i % strangers.len()];
                async move {
                    (
                        i,
                        r.server,
                        r.path,
                        r.must_answer,
                        send(from, to, &r.bytes).await,
                    )
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
    let elapsed = started.elapsed();

    let mut tally: BTreeMap<(Server, Outcome), u64> = BTreeMap::new();
    let mut failures = Vec::new();
    for (i, server, path, must_answer, outcome) in &outcomes {
        *tally.entry((*server, *outcome)).or_default() += 1;
        let bad = match outcome {
            Outcome::Status(s) => *s >= 500,
            Outcome::Hung => true,
            Outcome::Closed => *must_answer,
        };
        if bad && failures.len() < 20 {
            let head =
                String::from_utf8_lossy(&requests[*i].bytes[..requests[*i].bytes.len().min(300)])
                    .into_owned();
            failures.push(format!("#{i} {server:?} {path}: {outcome:?}: {head:?}"));
        }
    }
    println!(
        "hostile: {} requests (seed {seed}) in {:.1} s ({:.0}/s)",
        outcomes.len(),
        elapsed.as_secs_f64(),
        outcomes.len() as f64 / elapsed.as_secs_f64()
    );
    for ((server, outcome), n) in &tally {
        println!("  {server:?} {outcome:?}: {n}");
    }
    assert!(failures.is_empty(), "5xx, hang or dropped: {failures:#?}");

    // Both servers still do their job: a full login through the app, and a direct code exchange.
    let response = app.login_as(&browser(), "alice").await;
    assert_eq!(response.status(), StatusCode::OK, "login after the storm");
    let t = app.idp();
    t.next_login("bob");
    let redirect = format!("{}/callback", app.address);
    let authorize = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(t.authorization_endpoint())
        .query(&[
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect.as_str()),
            ("response_type", "code"),
            ("scope", "openid"),
        ])
        .send()
        .await
        .expect("authorize");
    let location = authorize
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .and_then(|l| url::Url::parse(l).ok())
        .expect("redirect");
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let token = reqwest::Client::new()
        .post(t.token_endpoint())
        .header(
            "authorization",
            format!(
                "Basic {}",
                STANDARD.encode(format!("{}:{}", enc(CLIENT_ID), enc(CLIENT_SECRET)))
            ),
        )
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(token.status(), StatusCode::OK);
}
