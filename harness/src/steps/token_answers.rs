//! What the provider's token endpoint answered to requests sent straight at it.

use anyhow::ensure;
use cucumber::then;

use crate::{browser::HttpResponse, parameters::OAuthError, world::World};

fn no_store(response: &HttpResponse) -> bool {
    response
        .header("cache-control")
        .is_some_and(|v| v.contains("no-store"))
}

/// 200 with access_token, Bearer, expires_in and id_token, not cacheable (RFC 6749 §5.1).
#[then(expr = "the token endpoint returns tokens")]
async fn returns_tokens(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    ensure!(r.status == 200, "the token endpoint answered {}", r.brief());
    let body = r.json();
    for field in ["access_token", "expires_in", "id_token"] {
        ensure!(body.get(field).is_some(), "no {field} in {body}");
    }
    let token_type = body["token_type"].as_str().unwrap_or_default();
    ensure!(
        token_type.eq_ignore_ascii_case("bearer"),
        "token_type is {token_type:?}"
    );
    ensure!(
        no_store(r),
        "the token response lacks Cache-Control: no-store"
    );
    Ok(())
}

/// The last token answer has this status and error code in a JSON body (RFC 6749 §5.2).
#[then(expr = "the token endpoint refuses with {int} \"{oauth_error}\"")]
async fn refuses_with_status(w: &mut World, status: u16, error: OAuthError) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    ensure!(
        r.status == status && r.json()["error"] == error.to_string(),
        "expected {status} {error}, got {}",
        r.brief()
    );
    Ok(())
}

/// The last token answer is a 400 or 401 with this error code.
#[then(expr = "the token endpoint refuses with \"{oauth_error}\"")]
async fn refuses(w: &mut World, error: OAuthError) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    ensure!(
        (r.status == 400 || r.status == 401) && r.json()["error"] == error.to_string(),
        "expected 400/401 {error}, got {}",
        r.brief()
    );
    Ok(())
}

/// `WWW-Authenticate: Basic …` on the last token answer (RFC 6749 §5.2).
#[then(expr = "the refusal carries a Basic challenge")]
async fn basic_challenge(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    let challenge = r.header("www-authenticate").unwrap_or_default();
    ensure!(
        challenge.starts_with("Basic"),
        "WWW-Authenticate is {challenge:?}"
    );
    Ok(())
}

/// `Cache-Control: no-store` on the last token answer.
#[then(expr = "the refusal is not cacheable")]
async fn refusal_no_store(w: &mut World) -> anyhow::Result<()> {
    ensure!(
        no_store(w.last_token_response()?),
        "the refusal lacks Cache-Control: no-store"
    );
    Ok(())
}

/// Of all token answers, exactly `n` succeeded and every other one is this error.
#[then(
    expr = "exactly {int} redemption(s) succeed(s) and the others are refused with \"{oauth_error}\""
)]
async fn exactly_n_succeed(w: &mut World, n: usize, error: OAuthError) -> anyhow::Result<()> {
    let ok = w.token_responses.iter().filter(|r| r.is_success()).count();
    ensure!(ok == n, "{ok} redemptions succeeded, expected {n}");
    for r in w.token_responses.iter().filter(|r| !r.is_success()) {
        ensure!(
            r.json()["error"] == error.to_string(),
            "a redemption answered {}",
            r.brief()
        );
    }
    Ok(())
}

/// Every code obtained is distinct and carries at least 128 bits (RFC 6749 §10.10).
#[then(expr = "the codes are all different and each carries at least 128 bits")]
async fn codes_unguessable(w: &mut World) -> anyhow::Result<()> {
    w.check_codes_unguessable()
}

/// A successful refresh with a new access token and a refresh token never issued before (rotation).
#[then(expr = "the refresh returns a new access token and another refresh token")]
async fn refresh_rotated(w: &mut World) -> anyhow::Result<()> {
    w.check_refresh_rotated()
}
