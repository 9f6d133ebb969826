//! Provider setup: users, clients, the provider's clock, its discovery document.

use std::time::Duration;

use anyhow::ensure;
use cucumber::{given, then, when};
use serde_json::Value;

use crate::world::World;

/// Adds a provider user with password `<name>-password` and subject `sub-<name>`.
#[given(expr = "the provider has a user {string}")]
async fn provider_user(w: &mut World, username: String) -> anyhow::Result<()> {
    w.add_provider_user(&username, None)
}

/// Adds a provider user with an email address (marked verified).
#[given(expr = "the provider has a user {string} with email {string}")]
async fn provider_user_with_email(
    w: &mut World,
    username: String,
    email: String,
) -> anyhow::Result<()> {
    w.add_provider_user(&username, Some(&email))
}

/// Registers a confidential client (client_secret_basic) redirecting to `http://127.0.0.1:7000/callback`.
#[given(expr = "the provider has a confidential client {string} with secret {string}")]
async fn confidential_client(w: &mut World, id: String, secret: String) -> anyhow::Result<()> {
    w.provider.register(mock_idp::ClientConfig::confidential(
        &id,
        &secret,
        crate::provider::SCENARIO_REDIRECT_URI,
    ))
}

/// TK-HS256: registers a confidential client whose id_tokens are MACed with HS256, keyed by its secret.
#[given(
    expr = "the provider has a confidential client {string} with secret {string} and HS256 id_tokens"
)]
async fn hs256_client(w: &mut World, id: String, secret: String) -> anyhow::Result<()> {
    w.provider.register(
        mock_idp::ClientConfig::confidential(&id, &secret, crate::provider::SCENARIO_REDIRECT_URI)
            .with_id_token_alg(mock_idp::IdTokenAlg::HS256),
    )
}

/// TK-HS256: tries to register a confidential client for HS256 id_tokens; the answer is kept.
#[when(expr = "a client {string} with secret {string} registers for HS256 id_tokens")]
async fn try_hs256_client(w: &mut World, id: String, secret: String) -> anyhow::Result<()> {
    let outcome = w.provider.register(
        mock_idp::ClientConfig::confidential(&id, &secret, crate::provider::SCENARIO_REDIRECT_URI)
            .with_id_token_alg(mock_idp::IdTokenAlg::HS256),
    );
    w.registration = Some(outcome.map_err(|e| e.to_string()));
    Ok(())
}

/// The last registration was refused, and the refusal names `field`.
#[then(expr = "the registration is refused, naming {string}")]
async fn registration_refused(w: &mut World, field: String) -> anyhow::Result<()> {
    match w.registration.clone() {
        Some(Err(e)) => {
            ensure!(e.contains(&field), "refused, but not naming {field:?}: {e}");
            Ok(())
        }
        Some(Ok(())) => Err(anyhow::anyhow!("the provider registered the client")),
        None => Err(anyhow::anyhow!("no client tried to register")),
    }
}

/// Moves the provider's clock forward; nothing sleeps.
#[when(expr = "the provider's clock moves forward {int} seconds")]
async fn provider_clock(w: &mut World, seconds: u64) -> anyhow::Result<()> {
    w.provider
        .global("the provider's clock")?
        .clock()
        .advance(Duration::from_secs(seconds));
    Ok(())
}

/// Fetches `/.well-known/openid-configuration`.
#[when(expr = "the discovery document is fetched")]
async fn fetch_discovery(w: &mut World) -> anyhow::Result<()> {
    w.discovery = Some(w.provider.discovery().await?.json());
    Ok(())
}

/// The discovery document's `issuer` is exactly the issuer the provider runs as (RFC 8414 §3.3).
#[then(expr = "its issuer is the provider's issuer")]
async fn discovery_issuer(w: &mut World) -> anyhow::Result<()> {
    let doc = w.discovery.clone().unwrap_or_default();
    let issuer = doc.get("issuer").and_then(Value::as_str);
    ensure!(
        issuer == Some(w.provider.idp.issuer()),
        "discovery issuer {issuer:?} is not {}",
        w.provider.idp.issuer()
    );
    Ok(())
}

/// The document lists S256 and `authorization_response_iss_parameter_supported: true` (RFC 9207 §3).
#[then(expr = "it advertises S256 and the iss authorization response parameter")]
async fn discovery_advertises(w: &mut World) -> anyhow::Result<()> {
    let doc = w.discovery.clone().unwrap_or_default();
    let methods = doc["code_challenge_methods_supported"].clone();
    ensure!(
        methods
            .as_array()
            .is_some_and(|m| m.iter().any(|v| v == "S256")),
        "code_challenge_methods_supported is {methods}"
    );
    ensure!(
        doc["authorization_response_iss_parameter_supported"] == Value::Bool(true),
        "authorization_response_iss_parameter_supported is not true"
    );
    Ok(())
}

/// `response_modes_supported` names this mode (AZ-FORM-POST: `form_post`).
#[then(expr = "it lists the response mode {string}")]
async fn discovery_lists_response_mode(w: &mut World, mode: String) -> anyhow::Result<()> {
    let doc = w.discovery.clone().unwrap_or_default();
    let modes = doc["response_modes_supported"].clone();
    ensure!(
        modes
            .as_array()
            .is_some_and(|m| m.iter().any(|v| v.as_str() == Some(mode.as_str()))),
        "response_modes_supported is {modes}"
    );
    Ok(())
}

/// The discovery document's `id_token_signing_alg_values_supported` lists `alg` (Discovery §3).
#[then(expr = "it lists the id_token signing alg {string}")]
async fn discovery_lists_alg(w: &mut World, alg: String) -> anyhow::Result<()> {
    let doc = w.discovery.clone().unwrap_or_default();
    let algs = doc["id_token_signing_alg_values_supported"].clone();
    ensure!(
        algs.as_array()
            .is_some_and(|m| m.iter().any(|v| v.as_str() == Some(alg.as_str()))),
        "id_token_signing_alg_values_supported is {algs}"
    );
    Ok(())
}

/// Arms a named fault for the next response it applies to, e.g. `"id_token.wrong_aud"`,
/// `"token.status=503"`, `"authorize.error=access_denied"` (the fault table:
/// mock-idp/docs/faults.md).
#[given(expr = "the provider injects {string} once")]
async fn inject_once(w: &mut World, fault: String) -> anyhow::Result<()> {
    w.inject(&fault, Some(1)).await
}

/// Arms a named fault for the next `n` responses it applies to.
#[given(expr = "the provider injects {string} {int} times")]
async fn inject_times(w: &mut World, fault: String, n: u32) -> anyhow::Result<()> {
    w.inject(&fault, Some(n)).await
}

/// Arms a named fault for every response it applies to, for the rest of the scenario.
#[given(expr = "the provider injects {string} until cleared")]
async fn inject_always(w: &mut World, fault: String) -> anyhow::Result<()> {
    w.inject(&fault, None).await
}

/// The next id_token's signature does not verify (`id_token.bad_signature`).
#[given(expr = "the provider signs the next id_token with a bad signature")]
async fn bad_signature(w: &mut World) -> anyhow::Result<()> {
    w.provider
        .inject("id_token.bad_signature", Some(1))
        .map(drop)
}

/// The token endpoint's next successful answer is replaced by this status (`token.status=N`).
#[given(expr = "the provider's token endpoint answers {int} once")]
async fn token_status_once(w: &mut World, status: u16) -> anyhow::Result<()> {
    w.provider
        .inject(&format!("token.status={status}"), Some(1))
        .map(drop)
}

/// The provider publishes a fresh key and signs with it; the old key stays in the JWKS.
#[given(expr = "the provider rotates its signing key, keeping the old one")]
async fn rotate_keep(w: &mut World) -> anyhow::Result<()> {
    w.provider
        .global("the provider's keys")?
        .rotate_keys(false)
        .map(drop)
        .map_err(Into::into)
}

/// The provider publishes a fresh key and signs with it; the old key leaves the JWKS.
#[given(expr = "the provider rotates its signing key, retiring the old one")]
async fn rotate_retire(w: &mut World) -> anyhow::Result<()> {
    w.provider
        .global("the provider's keys")?
        .rotate_keys(true)
        .map(drop)
        .map_err(Into::into)
}

/// Stops the provider's clock; it then moves only when a step moves it.
#[given(expr = "the provider's clock is frozen")]
async fn freeze_clock(w: &mut World) -> anyhow::Result<()> {
    w.provider.global("the provider's clock")?.clock().freeze();
    Ok(())
}

/// No item of the provider's verdict on the client failed (PKCE, state, nonce, code use, redirect_uri,
/// client authentication, JWKS caching, Bearer header).
#[then(expr = "the provider's verdict on the client is clean")]
async fn verdict_clean(w: &mut World) -> anyhow::Result<()> {
    w.check_verdict_clean()
}

/// Every code reached the token endpoint at most once, never retried after an error.
#[then(expr = "the provider saw the code redeemed once")]
async fn code_redeemed_once(w: &mut World) -> anyhow::Result<()> {
    w.check_verdict_item("code_redeemed_once", "pass")
}

/// One verdict item (`mock_idp::VERDICT_ITEMS`) has this outcome: `pass`, `fail` or `not_seen`.
#[then(expr = "the provider's verdict item {string} is {string}")]
async fn verdict_item(w: &mut World, item: String, outcome: String) -> anyhow::Result<()> {
    w.check_verdict_item(&item, &outcome)
}

/// RS-BEARER-SEND: the backend's userinfo calls carried the token one way, never in the URL.
#[then(expr = "the backend sent its access token to userinfo one way, never in the URL")]
async fn userinfo_token_one_way(w: &mut World) -> anyhow::Result<()> {
    w.check_userinfo_token_sent_one_way()
}

/// ST-SCOPE-CLAIMS: the login's scope covers every profile claim the app shows.
#[then(expr = "the login asked for the scope of every profile claim the app shows")]
async fn scopes_cover_profile(w: &mut World) -> anyhow::Result<()> {
    w.check_scopes_cover_profile().await
}

/// The backend did not call userinfo after the last callback (e.g. after refusing its id_token).
#[then(expr = "the provider's userinfo endpoint was not called for that callback")]
async fn userinfo_not_called(w: &mut World) -> anyhow::Result<()> {
    w.check_not_called_since_callback("userinfo")
}

/// ID-JWKS-URI-MOVED's "Applies when": the backend fetched the discovery document; otherwise the row does
/// not apply.
#[then(expr = "the provider saw the backend fetch its discovery document")]
async fn discovery_fetched(w: &mut World) -> anyhow::Result<()> {
    w.check_fetched_discovery()
}

/// ID-JWKS-URI-MOVED: the JWKS was fetched at the path `jwks.moved` moved it to.
#[then(expr = "the provider saw the JWKS fetched at its moved path")]
async fn jwks_fetched_at_moved_path(w: &mut World) -> anyhow::Result<()> {
    w.check_jwks_fetched_at_moved_path()
}

/// The backend fetched the JWKS after the last callback was handed over (key rotation, unknown kid).
#[then(expr = "the provider's JWKS was fetched again for that callback")]
async fn jwks_refetched(w: &mut World) -> anyhow::Result<()> {
    let n = w
        .provider
        .requests_since(w.log_seq_before_callback, "jwks")?;
    ensure!(n >= 1, "the JWKS was not fetched for the last callback");
    Ok(())
}
