//! What the backend must have done: step 1's redirect, step 6's app token, its refusals, the profile it
//! serves, whether it starts.

use anyhow::{anyhow, ensure};
use cucumber::then;

use crate::{
    browser::{HttpResponse, query_param},
    parameters::{AppError, OAuthError, Role},
    target::Startup,
    world::World,
};

fn no_store(response: &HttpResponse) -> bool {
    response
        .header("cache-control")
        .is_some_and(|v| v.contains("no-store"))
}

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
    ensure!(p("client_id") == w.app_client_id(), "client_id in {url}");
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

/// Step 3 by form_post: the provider's page POSTs a code, the state of step 1 and `iss` to the app's
/// redirect URI, and none of them is in a URL (AZ-FORM-POST).
#[then(
    expr = "the provider posts the response to the app with a code, the same state and its issuer"
)]
async fn posted_back_with_code(w: &mut World) -> anyhow::Result<()> {
    ensure!(
        w.auth_response_posted,
        "the provider answered with a redirect, not a form_post page"
    );
    sent_back_with_code(w).await
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
    // Exactly the registered redirect URI, then only the query: no prefix match (RFC 6749 §3.1.2).
    let mut without_query = back.clone();
    without_query.set_query(None);
    without_query.set_fragment(None);
    ensure!(
        without_query.as_str() == redirect_uri && back.fragment().is_none(),
        "redirected to {back}, not exactly {redirect_uri}"
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

/// The app token has the registered claims a session needs (RFC 7519 §4.1), by value: `iss` and `aud` the
/// backend's configured ones, `sub` the app user's internal id (not the provider's subject), a short life.
#[then(expr = "the app token carries iss, aud, sub, iat, exp and jti")]
async fn token_claims(w: &mut World) -> anyhow::Result<()> {
    w.check_app_token_claims().await
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

/// The last login left the browser with no session, or with one that is not an admin's: whatever the
/// unknown-user policy (refused, or a new ordinary account), it did not reach the admin's account.
#[then("the browser holds no admin session")]
async fn no_admin_session(w: &mut World) -> anyhow::Result<()> {
    if w.check_token_issued().is_err() {
        return Ok(());
    }
    w.require_profile_field(crate::target::ProfileField::Role)
        .await?;
    w.fetch_profile(None).await?;
    let response = w.profile.clone().ok_or_else(|| anyhow!("no profile"))?;
    if !response.is_success() {
        return Ok(());
    }
    let profile = w.app().await?.profile(&response.json());
    ensure!(
        profile.role.as_deref() != Some(Role::Admin.as_str()),
        "the login reached the admin's account: {}",
        response.brief()
    );
    Ok(())
}

async fn check_profile(w: &mut World, role: Role, avatar: Option<String>) -> anyhow::Result<()> {
    w.require_profile_field(crate::target::ProfileField::Role)
        .await?;
    if avatar.is_some() {
        w.require_profile_field(crate::target::ProfileField::Picture)
            .await?;
    }
    if w.profile.as_ref().is_none_or(|p| !p.is_success()) {
        w.fetch_profile(None).await?;
    }
    let response = w.profile.clone().ok_or_else(|| anyhow!("no profile"))?;
    ensure!(
        response.is_success(),
        "the profile answered {}",
        response.brief()
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
        "no binding ticket: {}",
        response.brief()
    );
    Ok(())
}

/// The last profile request was refused with this code.
#[then(expr = "the profile is refused with \"{app_error}\"")]
async fn profile_refused(w: &mut World, code: AppError) -> anyhow::Result<()> {
    w.check_profile_refused(code).await
}
