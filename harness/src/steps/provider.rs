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

/// Moves the provider's clock forward; nothing sleeps.
#[when(expr = "the provider's clock moves forward {int} seconds")]
async fn provider_clock(w: &mut World, seconds: u64) {
    w.provider.idp.clock().advance(Duration::from_secs(seconds));
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
