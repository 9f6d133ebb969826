//! The Google persona (CONFORMANCE GOOGLE-*): the backend's Google settings and the persona's accounts.

use cucumber::{given, then, when};

use crate::world::World;

/// The backend admits only accounts of this Google Workspace domain at that Google provider (`hd`).
#[given(expr = "the app admits only the Workspace domain {string} at {string}")]
async fn admits_only(w: &mut World, domain: String, provider: String) -> anyhow::Result<()> {
    w.google_admits_only(&provider, &domain)
}

/// The backend accepts id_tokens minted for this other client of its Google project (`azp`).
#[given(expr = "the app accepts {string} id_tokens of its project's client {string}")]
async fn accepts_party(w: &mut World, provider: String, client: String) -> anyhow::Result<()> {
    w.google_accepts_party(&provider, &client)
}

/// The backend keeps that Google provider's refresh tokens (`access_type=offline`).
#[given(expr = "the app keeps {string} refresh tokens")]
async fn keeps_refresh(w: &mut World, provider: String) -> anyhow::Result<()> {
    w.google_keeps_refresh_tokens(&provider)
}

/// The user is a Google Workspace account of this domain at that provider (`hd` in its tokens).
#[given(expr = "{string} is a Workspace user of {string} at {string}")]
async fn workspace_user(
    w: &mut World,
    username: String,
    domain: String,
    provider: String,
) -> anyhow::Result<()> {
    w.google_workspace_user(&provider, &username, &domain)
}

/// The user is a consumer Google account (no `hd`) with this email at that provider.
#[given(expr = "{string} is a consumer account at {string} with the email {string}")]
async fn consumer_user(
    w: &mut World,
    username: String,
    provider: String,
    email: String,
) -> anyhow::Result<()> {
    w.google_consumer_user(&provider, &username, &email)
}

/// The backend's last login with that provider asked `access_type=offline` without `prompt=consent`.
#[then(expr = "the app's last {string} login asked for offline access without forcing consent")]
async fn offline_request(w: &mut World, provider: String) -> anyhow::Result<()> {
    w.check_google_offline_request(&provider)
}

/// That Google provider's access tokens for the backend live this long from now on (a provider of the
/// scenario's own).
#[given(expr = "the {string} provider's access tokens for the backend live {int} seconds")]
async fn google_access_tokens_live(
    w: &mut World,
    provider: String,
    secs: u64,
) -> anyhow::Result<()> {
    w.shorten_google_access_tokens(&provider, secs).await
}

/// Moves that provider's clock past the backend's access-token life, and the app's where it has a hook.
#[when(
    expr = "the {string} provider's clock, and the app's if it has a clock hook, move past the access token's life"
)]
async fn google_clock_past_access_life(w: &mut World, provider: String) -> anyhow::Result<()> {
    w.expire_google_access_token(&provider).await
}

/// That provider answered a refresh grant of the backend's client.
#[then(expr = "the {string} provider saw the backend refresh its tokens")]
async fn google_saw_refresh(w: &mut World, provider: String) -> anyhow::Result<()> {
    w.check_google_refreshed(&provider)
}

/// Arms a fault once at that provider for this user's next login only (e.g. `google.hd_stripped`).
#[given(expr = "the {string} provider injects {string} once for {string}")]
async fn google_fault_for(
    w: &mut World,
    provider: String,
    fault: String,
    username: String,
) -> anyhow::Result<()> {
    w.google_fault_for(&provider, &fault, &username)
}
