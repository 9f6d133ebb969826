//! What the revocation, userinfo and introspection endpoints answered.

use anyhow::{anyhow, ensure};
use cucumber::then;
use serde_json::Value;

use crate::{browser::HttpResponse, parameters::OAuthError, world::World};

/// 200 from the revocation endpoint (RFC 7009 §2.2), also for a token it does not know.
#[then(expr = "the revocation succeeds")]
async fn revocation_succeeds(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_revocation()?;
    ensure!(r.status == 200, "the revocation answered {}", r.brief());
    Ok(())
}

/// The last revocation answer has this status and error code (RFC 7009 §2.2.1).
#[then(expr = "the revocation is refused with {int} \"{oauth_error}\"")]
async fn revocation_refused_with(
    w: &mut World,
    status: u16,
    error: OAuthError,
) -> anyhow::Result<()> {
    let r = w.last_revocation()?;
    ensure!(
        r.status == status && r.json()["error"] == error.to_string(),
        "expected {status} {error}, got {}",
        r.brief()
    );
    Ok(())
}

/// The last revocation answer is a 4xx with a JSON error, whatever the code.
#[then(expr = "the revocation is refused")]
async fn revocation_refused(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_revocation()?;
    ensure!(
        (400..500).contains(&r.status) && r.json()["error"].is_string(),
        "expected a refusal, got {}",
        r.brief()
    );
    Ok(())
}

async fn userinfo_status(w: &World, token: &str) -> anyhow::Result<HttpResponse> {
    w.provider.userinfo(token).await
}

fn refused_as_bearer(r: &HttpResponse) -> anyhow::Result<()> {
    let challenge = r.header("www-authenticate").unwrap_or_default();
    ensure!(
        r.status == 401 && challenge.starts_with("Bearer") && challenge.contains("invalid_token"),
        "userinfo answered {} with WWW-Authenticate {challenge:?}",
        r.status
    );
    Ok(())
}

/// Userinfo refuses the first redemption's access token: 401 `Bearer error="invalid_token"`.
#[then(expr = "the first access token is refused at userinfo")]
async fn first_refused_at_userinfo(w: &mut World) -> anyhow::Result<()> {
    let token = w.first_token("access_token")?;
    refused_as_bearer(&userinfo_status(w, &token).await?)
}

/// Userinfo accepts the first redemption's access token.
#[then(expr = "the first access token still works at userinfo")]
async fn first_works_at_userinfo(w: &mut World) -> anyhow::Result<()> {
    let token = w.first_token("access_token")?;
    let r = userinfo_status(w, &token).await?;
    ensure!(r.status == 200, "userinfo answered {}", r.brief());
    Ok(())
}

/// Userinfo refuses the newest successful token answer's access token (after a refresh: the refreshed
/// one).
#[then(expr = "the refreshed access token is refused at userinfo")]
async fn refreshed_refused_at_userinfo(w: &mut World) -> anyhow::Result<()> {
    let token = w.latest_token("access_token")?;
    refused_as_bearer(&userinfo_status(w, &token).await?)
}

/// Userinfo accepts the newest successful token answer's access token.
#[then(expr = "the refreshed access token works at userinfo")]
async fn refreshed_works_at_userinfo(w: &mut World) -> anyhow::Result<()> {
    let token = w.latest_token("access_token")?;
    let r = userinfo_status(w, &token).await?;
    ensure!(r.status == 200, "userinfo answered {}", r.brief());
    Ok(())
}

/// Userinfo takes the first redemption's access token sent as a form-encoded POST body (RFC 6750 §2.2).
#[then(expr = "the first access token works at userinfo sent in the form body")]
async fn first_works_in_body(w: &mut World) -> anyhow::Result<()> {
    let token = w.first_token("access_token")?;
    let r = w.provider.userinfo_sent(&token, "in the form body").await?;
    ensure!(r.status == 200, "userinfo answered {}", r.brief());
    Ok(())
}

/// Userinfo refuses the first access token sent two ways at once or in the URL query: 400
/// `invalid_request` with the Bearer challenge (RFC 6750 §2, §3.1).
#[then(expr = "the first access token sent {string} is refused at userinfo as invalid_request")]
async fn first_refused_sent(w: &mut World, how: String) -> anyhow::Result<()> {
    let token = w.first_token("access_token")?;
    let r = w.provider.userinfo_sent(&token, &how).await?;
    let challenge = r.header("www-authenticate").unwrap_or_default();
    ensure!(
        r.status == 400 && challenge.contains("error=\"invalid_request\""),
        "userinfo answered {} ({challenge})",
        r.brief()
    );
    Ok(())
}

/// Introspection says `active` or `inactive` for the first redemption's access token.
#[then(expr = "the first access token introspects as {word}")]
async fn first_introspects(w: &mut World, state: String) -> anyhow::Result<()> {
    let token = w.first_token("access_token")?;
    check_introspection(w, &token, &state).await
}

/// Userinfo refuses this literal token.
#[then(expr = "the access token {string} is refused at userinfo")]
async fn literal_refused(w: &mut World, token: String) -> anyhow::Result<()> {
    refused_as_bearer(&userinfo_status(w, &token).await?)
}

/// Introspection says `active` or `inactive` for this literal token.
#[then(expr = "the access token {string} introspects as {word}")]
async fn literal_introspects(w: &mut World, token: String, state: String) -> anyhow::Result<()> {
    check_introspection(w, &token, &state).await
}

async fn check_introspection(w: &World, token: &str, state: &str) -> anyhow::Result<()> {
    let body = w.provider.introspect(token).await?.json();
    match state {
        "active" => ensure!(body["active"] == Value::Bool(true), "introspection: {body}"),
        // RFC 7662 §2.2: a dead token is only {"active": false}, with nothing else.
        "inactive" => ensure!(
            body == serde_json::json!({"active": false}),
            "introspection: {body}"
        ),
        other => return Err(anyhow!("say active or inactive, not {other}")),
    }
    Ok(())
}
