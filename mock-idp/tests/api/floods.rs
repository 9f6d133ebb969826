//! No stranger can stop other people's logins: floods of what a visitor creates without credentials (login
//! pages) and of failed client authentications, from one or many loopback addresses, over real HTTP.
//!
//! The 100,000-request versions are `#[ignore]`d (minutes in a debug build) and run by `.ci/run`:
//!
//! ```text
//! cargo test --workspace --test api -- --ignored flood_of_100k
//! ```

use std::{
    net::IpAddr,
    sync::atomic::{AtomicUsize, Ordering},
};

use futures::StreamExt;
use mock_idp::{Config, Persona};
use reqwest::StatusCode;

use crate::helpers::*;

const FLOODER: [u8; 4] = [127, 0, 0, 1];
const OTHER: [u8; 4] = [127, 0, 0, 2];

/// A browser (cookies, no redirects) whose connections come from `addr`.
fn browser_at(addr: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .local_address(IpAddr::from(addr))
        .build()
        .expect("client")
}

fn authorize_url(t: &TestIdp, state: &str) -> url::Url {
    let mut url = url::Url::parse(&t.idp.authorization_endpoint()).expect("url");
    url.query_pairs_mut().extend_pairs([
        ("client_id", WEB),
        ("redirect_uri", WEB_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", state),
    ]);
    url
}

/// A login page opened by `browser`: (request_id, csrf), or the reply when there is no page.
async fn open_page(
    t: &TestIdp,
    browser: &reqwest::Client,
    state: &str,
) -> Result<(String, String), Reply> {
    let page = read(
        browser
            .get(authorize_url(t, state))
            .send()
            .await
            .expect("authorize"),
    )
    .await;
    if page.status != StatusCode::OK {
        return Err(page);
    }
    Ok((hidden(&page.body, "request_id"), hidden(&page.body, "csrf")))
}

/// Signs in as alice on an opened page and redeems the code: the whole login, asserted.
async fn finish_login(
    t: &TestIdp,
    browser: &reqwest::Client,
    (request_id, csrf): (String, String),
    who: &str,
) {
    let signed_in = read(
        browser
            .post(t.idp.url("/authorize/login"))
            .form(&[
                ("request_id", request_id.as_str()),
                ("csrf", csrf.as_str()),
                ("username", "alice"),
                ("password", "alice-password"),
                ("action", "login"),
            ])
            .send()
            .await
            .expect("login"),
    )
    .await;
    assert_eq!(
        signed_in.status,
        StatusCode::SEE_OTHER,
        "{who}: {signed_in:?}"
    );
    let code = param(&signed_in.location(), "code").unwrap_or_else(|| panic!("{who}: no code"));
    let tokens = read(
        browser
            .post(t.idp.token_endpoint())
            .header("authorization", basic(WEB, WEB_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", WEB_REDIRECT),
            ])
            .send()
            .await
            .expect("token"),
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{who}: {tokens:?}");
}

/// A full login from `addr`, asserted.
async fn log_in_from(t: &TestIdp, addr: [u8; 4], who: &str) {
    let browser = browser_at(addr);
    let page = open_page(t, &browser, who)
        .await
        .unwrap_or_else(|r| panic!("{who}: no login page: {r:?}"));
    finish_login(t, &browser, page, who).await;
}

/// `n` rounds from the flooding address, 32 at a time: open a login page, then post its form with a wrong
/// password (the page is shown again) and once more with a request id that does not exist. Returns how many
/// answers were 5xx.
async fn flood(t: &TestIdp, n: usize, done: &AtomicUsize) -> usize {
    let flooder = browser_at(FLOODER);
    futures::stream::iter(0..n)
        .map(|i| {
            done.fetch_add(1, Ordering::Relaxed);
            let (flooder, url, login) = (
                flooder.clone(),
                authorize_url(t, &format!("flood-{i}")),
                t.idp.url("/authorize/login"),
            );
            async move {
                let mut server_errors = 0;
                let Ok(page) = flooder.get(url).send().await else {
                    return 1;
                };
                server_errors += usize::from(page.status().is_server_error());
                let body = page.text().await.unwrap_or_default();
                let (id, csrf) = if body.contains("name=\"request_id\"") {
                    (hidden(&body, "request_id"), hidden(&body, "csrf"))
                } else {
                    (format!("no-such-page-{i}"), String::new())
                };
                for id in [id.as_str(), "no-such-page"] {
                    let post = flooder
                        .post(&login)
                        .form(&[
                            ("request_id", id),
                            ("csrf", csrf.as_str()),
                            ("username", "alice"),
                            ("password", "wrong"),
                            ("action", "login"),
                        ])
                        .send()
                        .await;
                    server_errors += post.map_or(1, |r| usize::from(r.status().is_server_error()));
                }
                server_errors
            }
        })
        .buffer_unordered(32)
        .fold(0, |a, b| async move { a + b })
        .await
}

/// A user at another address opens a page before the flood and signs in while it runs; another does the
/// whole login during it; after it, users at both addresses log in.
async fn logins_survive_a_flood(config: Config, rounds: usize) {
    let t = spawn_idp_with(config).await;
    let early = browser_at(OTHER);
    let early_page = open_page(&t, &early, "early")
        .await
        .expect("a page before the flood");
    let done = AtomicUsize::new(0);
    let (errors, ()) = tokio::join!(flood(&t, rounds, &done), async {
        // Once the flood has filled the store, halfway through, the early user signs in, and a new user
        // does the whole login.
        while done.load(Ordering::Relaxed) < rounds / 2 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        finish_login(
            &t,
            &early,
            early_page,
            "127.0.0.2, page opened before the flood",
        )
        .await;
        log_in_from(&t, OTHER, "127.0.0.2, during the flood").await;
    });
    assert_eq!(errors, 0, "5xx or transport errors during the flood");
    log_in_from(&t, OTHER, "127.0.0.2, after the flood").await;
    log_in_from(&t, FLOODER, "127.0.0.1, after the flood").await;
}

// A small store (100 pages) and 1,000 rounds: with a store that refused when full, every login page after
// the first hundred would be temporarily_unavailable, for everyone, for ten minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_login_pages_from_one_address_stops_no_login_from_another() {
    let mut config = Config::builtin();
    config.limits.pending_logins = 100;
    logins_survive_a_flood(config, 1_000).await;
}

// The issue's numbers, with the default limits: 100,000 GET /authorize and 200,000 form posts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "100,000 rounds: minutes in a debug build; run by .ci/run"]
async fn a_flood_of_100k_login_pages_stops_no_login() {
    logins_survive_a_flood(Config::builtin(), 100_000).await;
}

// A full store makes room from the address holding the most pages, never from one holding fewer.
#[tokio::test]
async fn a_full_login_page_store_evicts_from_the_address_holding_the_most() {
    let mut config = Config::builtin();
    config.limits.pending_logins = 3;
    let t = spawn_idp_with(config).await;
    let other = browser_at(OTHER);
    let page = open_page(&t, &other, "other").await.expect("page");
    let flooder = browser_at(FLOODER);
    for i in 0..10 {
        open_page(&t, &flooder, &format!("flood-{i}"))
            .await
            .expect("a page, never temporarily_unavailable");
    }
    finish_login(&t, &other, page, "127.0.0.2").await;
}

// The per-address share: with room for 10,000 pages but 1,000 per address, one address never holds more.
#[tokio::test]
async fn one_address_holds_at_most_its_share_of_login_pages() {
    let mut config = Config::builtin();
    config.limits.pending_logins_per_address = 3;
    let t = spawn_idp_with(config).await;
    let browser = browser_at(FLOODER);
    let first = open_page(&t, &browser, "first").await.expect("page");
    let second = open_page(&t, &browser, "second").await.expect("page");
    for i in 0..3 {
        open_page(&t, &browser, &format!("more-{i}"))
            .await
            .expect("page");
    }
    // The two oldest pages of this address made room: they answer like expired ones.
    for (request_id, csrf) in [first, second] {
        let expired = read(
            browser
                .post(t.idp.url("/authorize/login"))
                .form(&[
                    ("request_id", request_id.as_str()),
                    ("csrf", csrf.as_str()),
                    ("username", "alice"),
                    ("password", "alice-password"),
                ])
                .send()
                .await
                .expect("login"),
        )
        .await;
        assert_eq!(expired.status, StatusCode::BAD_REQUEST, "{expired:?}");
        assert!(expired.body.contains("expired"), "{}", expired.body);
    }
    log_in_from(&t, FLOODER, "127.0.0.1").await;
}

/// A token request for the web client with `secret` and a code that does not exist, from `client`.
async fn wrong_code_token_request(
    t: &TestIdp,
    client: &reqwest::Client,
    id: &str,
    secret: &str,
) -> StatusCode {
    client
        .post(t.idp.token_endpoint())
        .header("authorization", basic(id, secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", "no-such-code"),
            ("redirect_uri", WEB_REDIRECT),
        ])
        .send()
        .await
        .expect("token request")
        .status()
}

/// Clients at 127.0.1.0 … 127.0.1.`n-1`.
fn strangers(n: u8) -> Vec<reqwest::Client> {
    (0..n)
        .map(|i| {
            reqwest::Client::builder()
                .local_address(IpAddr::from([127, 0, 1, i]))
                .build()
                .expect("client")
        })
        .collect()
}

// CA-HARDENING: a counters table filled from 200 addresses (room for 64) still throttles a brute-forcer at
// another address, and locks nobody else out. With a table that stopped counting when full, the
// brute-forcer would never see 429.
#[tokio::test]
async fn a_throttle_table_filled_from_many_addresses_still_throttles_a_brute_forcer() {
    let mut config = Config::builtin();
    config.limits.auth_failure_counters = 64;
    let max = config.max_auth_failures_per_minute;
    let t = spawn_idp_with(config).await;
    let strangers = strangers(200);
    for (i, s) in strangers.iter().enumerate() {
        let id = if i % 2 == 0 { WEB } else { "no-such-client" };
        let status = wrong_code_token_request(&t, s, id, "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let brute = browser_at(OTHER);
    let mut throttled_after = None;
    for attempt in 1..=max + 5 {
        // The strangers go on failing between its attempts.
        for s in strangers.iter().skip(attempt as usize * 3).take(3) {
            wrong_code_token_request(&t, s, WEB, "guess").await;
        }
        let status = wrong_code_token_request(&t, &brute, WEB, &format!("guess-{attempt}")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            throttled_after.get_or_insert(attempt - 1);
        }
    }
    assert_eq!(
        throttled_after,
        Some(max),
        "the brute-forcer is throttled after {max} failures"
    );
    // The client, at its own address, is not locked out: its secret is checked (the code is what fails).
    let own = browser_at([127, 0, 0, 3]);
    assert_eq!(
        wrong_code_token_request(&t, &own, WEB, WEB_SECRET).await,
        StatusCode::BAD_REQUEST
    );
    log_in_from(&t, [127, 0, 0, 3], "web at 127.0.0.3").await;
}

// CA-HARDENING for the personas: WeChat's token endpoint counts failures like the OpenID one.
#[tokio::test]
async fn the_wechat_token_endpoint_throttles_wrong_secrets_per_address() {
    persona_throttles(Persona::Wechat).await;
}

// CA-HARDENING for the personas: GitHub's token endpoint counts failures like the OpenID one.
#[tokio::test]
async fn the_github_token_endpoint_throttles_wrong_secrets_per_address() {
    persona_throttles(Persona::Github).await;
}

/// Wrong secrets from 127.0.0.2 are throttled past `max_auth_failures_per_minute`, the right one from
/// 127.0.0.1 is still checked.
async fn persona_throttles(persona: Persona) {
    {
        let config = Config {
            persona,
            ..Config::builtin()
        };
        let max = config.max_auth_failures_per_minute;
        let t = spawn_idp_with(config).await;
        let exchange = |client: reqwest::Client, secret: String| {
            let t = &t;
            async move {
                let response = match persona {
                    Persona::Wechat => {
                        client
                            .get(t.idp.url("/sns/oauth2/access_token"))
                            .query(&[
                                ("appid", WEB),
                                ("secret", secret.as_str()),
                                ("code", "no-such-code"),
                                ("grant_type", "authorization_code"),
                            ])
                            .send()
                            .await
                    }
                    _ => {
                        client
                            .post(t.idp.url("/login/oauth/access_token"))
                            .header("accept", "application/json")
                            .form(&[
                                ("client_id", WEB),
                                ("client_secret", secret.as_str()),
                                ("code", "no-such-code"),
                            ])
                            .send()
                            .await
                    }
                };
                let reply = read(response.expect("token request")).await;
                let json = reply.json();
                (
                    reply.status,
                    json["errcode"].as_i64(),
                    json["error"].as_str().map(str::to_owned),
                )
            }
        };
        let brute = browser_at(OTHER);
        let mut throttled = 0;
        for i in 0..max + 5 {
            let (status, errcode, error) = exchange(brute.clone(), format!("guess-{i}")).await;
            let limited = match persona {
                Persona::Wechat => errcode == Some(45011),
                _ => {
                    status == StatusCode::TOO_MANY_REQUESTS
                        && error.as_deref() == Some("rate_limited")
                }
            };
            if limited {
                assert!(i >= max, "{persona:?}: throttled after {i} failures");
                throttled += 1;
            }
        }
        assert_eq!(
            throttled, 5,
            "{persona:?}: the attempts past {max} are throttled"
        );
        // The right secret from 127.0.0.2 is throttled too; from 127.0.0.1 it is checked as usual.
        let (_, errcode, error) = exchange(brute.clone(), WEB_SECRET.to_owned()).await;
        assert!(
            errcode == Some(45011) || error.as_deref() == Some("rate_limited"),
            "{persona:?}"
        );
        let (_, errcode, error) = exchange(browser_at(FLOODER), WEB_SECRET.to_owned()).await;
        assert!(
            errcode == Some(40029) || error.as_deref() == Some("bad_verification_code"),
            "{persona:?}: {errcode:?} {error:?}"
        );
    }
}

// A login page is state a visitor creates, so its size is bounded too: a request whose parameters exceed
// 4096 bytes gets invalid_request (state echoed), one just under it a page.
#[tokio::test]
async fn a_login_page_holds_at_most_4096_bytes_of_request_parameters() {
    let t = spawn_idp().await;
    let browser = browser_at(FLOODER);
    let long = "s".repeat(4_096);
    let refused = read(
        browser
            .get(authorize_url(&t, &long))
            .send()
            .await
            .expect("authorize"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{refused:?}");
    assert_eq!(
        param(&refused.location(), "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(
        param(&refused.location(), "state").as_deref(),
        Some(long.as_str())
    );
    let page = open_page(&t, &browser, &"s".repeat(3_500))
        .await
        .expect("a page");
    finish_login(&t, &browser, page, "3,500-byte state").await;
}
