//! What must be true afterwards: the backend's answers, the app token, the profile, the provider's
//! redirects, pages and token-endpoint answers.

use anyhow::{anyhow, ensure};
use cucumber::then;
use serde_json::Value;

use crate::{
    browser::{HttpResponse, query_param},
    jwt,
    parameters::{AppError, OAuthError, Role},
    target::Startup,
    world::World,
};

fn no_store(response: &HttpResponse) -> bool {
    response
        .header("cache-control")
        .is_some_and(|v| v.contains("no-store"))
}

// ----- the backend -----

/// Step 1 sent the browser to the provider with a well-formed request (RFC 6749 §4.1.1, RFC 7636 §4.3).
#[then(
    expr = "the browser is sent to the provider with the openid scope, a state, a nonce and an S256 code challenge"
)]
async fn login_redirect_shape(w: &mut World) -> anyhow::Result<()> {
    let url = w
        .login_redirect
        .clone()
        .ok_or_else(|| anyhow!("the browser was not sent anywhere"))?;
    let redirect_uri = w.app().await?.redirect_uri();
    let p = |n: &str| query_param(&url, n).unwrap_or_default();
    ensure!(p("response_type") == "code", "response_type in {url}");
    ensure!(p("client_id") == "conformance-app", "client_id in {url}");
    ensure!(p("redirect_uri") == redirect_uri, "redirect_uri in {url}");
    ensure!(
        p("scope").split(' ').any(|s| s == "openid"),
        "no openid scope in {url}"
    );
    // ≥128 bits as base64url is ≥22 characters; the catalogue caps state at 128 characters.
    ensure!(
        (22..=128).contains(&p("state").len()),
        "weak or oversized state in {url}"
    );
    ensure!(p("nonce").len() >= 22, "weak or missing nonce in {url}");
    ensure!(
        p("code_challenge").len() == 43,
        "no S256 code_challenge in {url}"
    );
    ensure!(
        p("code_challenge_method") == "S256",
        "code_challenge_method in {url}"
    );
    Ok(())
}

/// Step 3: the redirect goes to the app's redirect URI with a code, the state of step 1 and `iss`.
#[then(
    expr = "the provider sends the browser back to the app with a code, the same state and its issuer"
)]
async fn sent_back_with_code(w: &mut World) -> anyhow::Result<()> {
    let back = w
        .auth_response
        .clone()
        .ok_or_else(|| anyhow!("no redirect back"))?;
    let sent = w
        .login_redirect
        .clone()
        .ok_or_else(|| anyhow!("no login started"))?;
    let redirect_uri = w.app().await?.redirect_uri();
    ensure!(
        back.as_str().starts_with(&redirect_uri),
        "redirected to {back}, not {redirect_uri}"
    );
    ensure!(query_param(&back, "code").is_some(), "no code in {back}");
    ensure!(
        query_param(&back, "state") == query_param(&sent, "state"),
        "state changed in {back}"
    );
    ensure!(
        query_param(&back, "iss").as_deref() == Some(w.provider.idp.issuer()),
        "iss missing or wrong in {back}"
    );
    Ok(())
}

/// Step 3, refused: the redirect carries the error and the state, and no code.
#[then(
    expr = "the provider sends the browser back to the app with error \"{oauth_error}\" and the same state"
)]
async fn sent_back_with_error(w: &mut World, error: OAuthError) -> anyhow::Result<()> {
    let back = w
        .auth_response
        .clone()
        .ok_or_else(|| anyhow!("no redirect back"))?;
    let sent = w
        .login_redirect
        .clone()
        .ok_or_else(|| anyhow!("no login started"))?;
    ensure!(
        query_param(&back, "error") == Some(error.to_string()),
        "error in {back}"
    );
    ensure!(
        query_param(&back, "state") == query_param(&sent, "state"),
        "state changed in {back}"
    );
    ensure!(
        query_param(&back, "code").is_none(),
        "a code came with the error: {back}"
    );
    Ok(())
}

/// Step 6: the backend's answer carries an app token.
#[then(expr = "the backend issues an app token")]
async fn token_issued(w: &mut World) -> anyhow::Result<()> {
    w.check_token_issued()
}

/// The app token has the registered claims a session needs (RFC 7519 §4.1) and a short life.
#[then(expr = "the app token carries iss, aud, sub, iat, exp and jti")]
async fn token_claims(w: &mut World) -> anyhow::Result<()> {
    let token = w.app_token.clone().ok_or_else(|| anyhow!("no app token"))?;
    let claims = jwt::claims(&token)?;
    for name in ["iss", "aud", "sub", "iat", "exp", "jti"] {
        ensure!(
            claims.get(name).is_some(),
            "the app token has no {name}: {claims}"
        );
    }
    let iat = claims["iat"].as_u64().unwrap_or(0);
    let exp = claims["exp"].as_u64().unwrap_or(0);
    ensure!(
        exp > iat && exp - iat <= 24 * 3600,
        "exp - iat is not short: {claims}"
    );
    Ok(())
}

/// The answer that carries the token is `no-store` and no redirect (the token is never in a URL).
#[then(expr = "the backend's answer is not cacheable")]
async fn backend_no_store(w: &mut World) -> anyhow::Result<()> {
    let response = w.last_backend()?;
    ensure!(
        no_store(response),
        "the backend's answer lacks Cache-Control: no-store"
    );
    ensure!(
        !response.is_redirect(),
        "the backend's answer is a redirect"
    );
    Ok(())
}

/// Asks for the profile with the app token and compares role and avatar.
#[then(expr = "the profile shows role \"{role}\" and avatar {string}")]
async fn profile_role_avatar(w: &mut World, role: Role, avatar: String) -> anyhow::Result<()> {
    check_profile(w, role, Some(avatar)).await
}

/// Asks for the profile with the app token and compares the role.
#[then(expr = "the profile shows role \"{role}\"")]
async fn profile_role(w: &mut World, role: Role) -> anyhow::Result<()> {
    check_profile(w, role, None).await
}

async fn check_profile(w: &mut World, role: Role, avatar: Option<String>) -> anyhow::Result<()> {
    if w.profile.as_ref().is_none_or(|p| !p.is_success()) {
        w.fetch_profile(None).await?;
    }
    let response = w.profile.clone().ok_or_else(|| anyhow!("no profile"))?;
    ensure!(
        response.is_success(),
        "the profile answered {} {}",
        response.status,
        response.body
    );
    let profile = w.app().await?.profile(&response.json());
    ensure!(
        profile.role.as_deref() == Some(role.as_str()),
        "profile role is {:?}",
        profile.role
    );
    if let Some(avatar) = avatar {
        ensure!(
            profile.avatar_url == Some(avatar),
            "profile avatar is {:?}",
            profile.avatar_url
        );
    }
    Ok(())
}

/// The backend's last answer is an error with this code.
#[then(expr = "the backend refuses with \"{app_error}\"")]
async fn backend_refuses(w: &mut World, code: AppError) -> anyhow::Result<()> {
    w.check_refused(code).await
}

/// Either outcome a rule allows (ID-KID: several keys and no kid, "try each key or reject"): a refusal
/// with this code and no app token, or an app token for the user the provider logged in.
#[then(expr = "the backend refuses with \"{app_error}\" or logs in {string}")]
async fn backend_refuses_or_logs_in(
    w: &mut World,
    code: AppError,
    username: String,
) -> anyhow::Result<()> {
    if w.app_token.is_some() {
        w.check_logged_in_as(&username).await
    } else {
        w.check_refused(code).await?;
        w.check_no_token().await
    }
}

/// The last answer carries no token and the browser is not logged in (CONFORMANCE JWT-LAST).
#[then(expr = "no app token was issued")]
async fn no_token(w: &mut World) -> anyhow::Result<()> {
    w.check_no_token().await
}

/// The backend made no token request while handling the last callback: what the conformance suite counts
/// as a rejection.
#[then(expr = "the provider's token endpoint was not called for that callback")]
async fn token_endpoint_not_called(w: &mut World) -> anyhow::Result<()> {
    w.check_token_requests(0, true)
}

/// Token requests the backend made while handling the last callback (a failed exchange is not retried).
#[then(expr = "the provider's token endpoint was called {int} time(s) for that callback")]
async fn token_endpoint_called_for_callback(w: &mut World, n: u64) -> anyhow::Result<()> {
    w.check_token_requests(n, true)
}

/// Token requests the provider received since it started, from anyone.
#[then(expr = "the provider's token endpoint was called {int} time(s) in total")]
async fn token_endpoint_called_in_total(w: &mut World, n: u64) -> anyhow::Result<()> {
    w.check_token_requests(n, false)
}

/// The successful login's answer sends the frontend on to this path (`/` when none was kept).
#[then(expr = "the backend sends the frontend on to {string}")]
async fn backend_return_to(w: &mut World, expected: String) -> anyhow::Result<()> {
    w.check_return_to(&expected).await
}

/// The start-only attempt was refused, with a message naming this setting.
#[then(expr = "the app refuses to start, naming {string}")]
async fn refuses_to_start(w: &mut World, setting: String) -> anyhow::Result<()> {
    match &w.startup {
        Some(Startup::Refused(message)) => {
            ensure!(
                message.contains(&setting),
                "the refusal does not name {setting}: {message}"
            );
            Ok(())
        }
        other => Err(anyhow!("expected a refusal to start, got {other:?}")),
    }
}

/// The start-only attempt started.
#[then(expr = "the app starts")]
async fn starts(w: &mut World) -> anyhow::Result<()> {
    match &w.startup {
        Some(Startup::Started) => Ok(()),
        other => Err(anyhow!("expected the app to start, got {other:?}")),
    }
}

/// The backend answered with a binding ticket instead of a token.
#[then(expr = "the backend asks for a binding")]
async fn asks_for_binding(w: &mut World) -> anyhow::Result<()> {
    let response = w.last_backend()?.clone();
    let ticket = w.app().await?.binding_ticket(&response.json());
    ensure!(
        response.is_success() && ticket.is_some(),
        "no binding ticket: {} {}",
        response.status,
        response.body
    );
    Ok(())
}

/// The last profile request was refused with this code.
#[then(expr = "the profile is refused with \"{app_error}\"")]
async fn profile_refused(w: &mut World, code: AppError) -> anyhow::Result<()> {
    w.check_profile_refused(code).await
}

// ----- the token endpoint -----

/// 200 with access_token, Bearer, expires_in and id_token, not cacheable (RFC 6749 §5.1).
#[then(expr = "the token endpoint returns tokens")]
async fn returns_tokens(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    ensure!(
        r.status == 200,
        "the token endpoint answered {} {}",
        r.status,
        r.body
    );
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
        "expected {status} {error}, got {} {}",
        r.status,
        r.body
    );
    Ok(())
}

/// The last token answer is a 400 or 401 with this error code.
#[then(expr = "the token endpoint refuses with \"{oauth_error}\"")]
async fn refuses(w: &mut World, error: OAuthError) -> anyhow::Result<()> {
    let r = w.last_token_response()?;
    ensure!(
        (r.status == 400 || r.status == 401) && r.json()["error"] == error.to_string(),
        "expected 400/401 {error}, got {} {}",
        r.status,
        r.body
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
            "a redemption answered {} {}",
            r.status,
            r.body
        );
    }
    Ok(())
}

/// Every code obtained is distinct and carries at least 128 bits (RFC 6749 §10.10).
#[then(expr = "the codes are all different and each carries at least 128 bits")]
async fn codes_unguessable(w: &mut World) -> anyhow::Result<()> {
    w.check_codes_unguessable()
}

// ----- the revocation endpoint -----

/// 200 from the revocation endpoint (RFC 7009 §2.2), also for a token it does not know.
#[then(expr = "the revocation succeeds")]
async fn revocation_succeeds(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_revocation()?;
    ensure!(
        r.status == 200,
        "the revocation answered {} {}",
        r.status,
        r.body
    );
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
        "expected {status} {error}, got {} {}",
        r.status,
        r.body
    );
    Ok(())
}

/// The last revocation answer is a 4xx with a JSON error, whatever the code.
#[then(expr = "the revocation is refused")]
async fn revocation_refused(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_revocation()?;
    ensure!(
        (400..500).contains(&r.status) && r.json()["error"].is_string(),
        "expected a refusal, got {} {}",
        r.status,
        r.body
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
    ensure!(r.status == 200, "userinfo answered {} {}", r.status, r.body);
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

// ----- the authorization endpoint -----

fn last_authorization(w: &World) -> anyhow::Result<(Vec<(String, String)>, HttpResponse)> {
    w.authorization
        .clone()
        .ok_or_else(|| anyhow!("no authorization request was sent"))
}

fn sent(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// An error page: a 4xx, no redirect, no Location (RFC 6749 §4.1.2.1).
#[then(expr = "the provider shows an error page and redirects nowhere")]
async fn error_page(w: &mut World) -> anyhow::Result<()> {
    let (_, r) = last_authorization(w)?;
    ensure!(
        (400..500).contains(&r.status) && r.header("location").is_none(),
        "expected an error page, got {} Location {:?}",
        r.status,
        r.header("location")
    );
    Ok(())
}

/// A redirect carrying `error`, the exact `state`, `iss` and no code (RFC 6749 §4.1.2.1, RFC 9207).
#[then(expr = "the provider redirects back with error \"{oauth_error}\" and the same state")]
async fn redirect_with_error(w: &mut World, error: OAuthError) -> anyhow::Result<()> {
    let (params, r) = last_authorization(w)?;
    let back = r.location()?;
    ensure!(
        query_param(&back, "error") == Some(error.to_string()),
        "error in {back}"
    );
    ensure!(
        query_param(&back, "state") == sent(&params, "state"),
        "state in {back}"
    );
    ensure!(
        query_param(&back, "code").is_none(),
        "a code came with the error: {back}"
    );
    ensure!(
        query_param(&back, "iss").as_deref() == Some(w.provider.idp.issuer()),
        "iss in {back}"
    );
    let description = query_param(&back, "error_description").unwrap_or_default();
    ensure!(
        description
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
        "error_description outside the RFC 6749 §5.2 character set: {description:?}"
    );
    Ok(())
}

/// A login page would be shown; a headless login arranged first gives a code with the exact state.
#[then(expr = "the provider redirects back with a code, that exact state and its issuer")]
async fn redirect_with_code_exact_state(w: &mut World) -> anyhow::Result<()> {
    let back = headless_redirect(w).await?;
    let (params, _) = last_authorization(w)?;
    ensure!(query_param(&back, "code").is_some(), "no code in {back}");
    ensure!(
        query_param(&back, "state") == sent(&params, "state"),
        "state altered in {back}"
    );
    ensure!(
        query_param(&back, "iss").as_deref() == Some(w.provider.idp.issuer()),
        "iss in {back}"
    );
    Ok(())
}

/// As above for a request without state: no `state` comes back.
#[then(expr = "the provider redirects back with a code and no state")]
async fn redirect_with_code_no_state(w: &mut World) -> anyhow::Result<()> {
    let back = headless_redirect(w).await?;
    ensure!(query_param(&back, "code").is_some(), "no code in {back}");
    ensure!(
        query_param(&back, "state").is_none(),
        "a state came back: {back}"
    );
    Ok(())
}

/// Re-sends the last authorization request with a headless login of `alice` arranged.
async fn headless_redirect(w: &mut World) -> anyhow::Result<url::Url> {
    let (params, _) = last_authorization(w)?;
    w.provider.idp.next_login("alice");
    w.provider.authorize(&params).await?.location()
}

/// The provider answered 200 with its login form.
#[then(expr = "the provider shows its login page")]
async fn login_page(w: &mut World) -> anyhow::Result<()> {
    let (_, r) = last_authorization(w)?;
    ensure!(
        r.status == 200 && r.body.contains("request_id"),
        "no login page: {}",
        r.status
    );
    Ok(())
}

/// `X-Frame-Options: DENY` or CSP `frame-ancestors 'none'`, and `Referrer-Policy: no-referrer`.
#[then(expr = "the page cannot be framed and sends no referrer")]
async fn page_hardened(w: &mut World) -> anyhow::Result<()> {
    let (_, r) = last_authorization(w)?;
    let frame = r
        .header("x-frame-options")
        .is_some_and(|v| v.eq_ignore_ascii_case("deny"))
        || r.header("content-security-policy")
            .is_some_and(|v| v.contains("frame-ancestors 'none'"));
    ensure!(frame, "the login page can be framed");
    ensure!(
        r.header("referrer-policy") == Some("no-referrer"),
        "Referrer-Policy is {:?}",
        r.header("referrer-policy")
    );
    Ok(())
}
