//! The backend using the provider's tokens after the login, and refreshing them (RF-HAPPY, RF-ID-TOKEN).

use cucumber::{given, then, when};

use crate::world::World;

/// RF-HAPPY, RF-ID-TOKEN apply: the backend uses the provider's tokens after the login (`[backend]
/// provider_profile`); otherwise the scenario is not applicable.
#[given(expr = "the backend uses the provider's tokens again after the login")]
async fn uses_tokens_again(w: &mut World) -> anyhow::Result<()> {
    w.require_provider_profile().await
}

/// The provider's access tokens for the backend's client live this long from now on (put back after the
/// scenario).
#[given(expr = "the provider's access tokens for the backend live {int} seconds")]
async fn access_tokens_live(w: &mut World, secs: u64) -> anyhow::Result<()> {
    w.shorten_app_access_tokens(secs).await
}

/// Moves the provider's clock past the backend's access-token life, and the app's where it has a clock hook.
#[when(
    expr = "the provider's clock, and the app's if it has a clock hook, move past the access token's life"
)]
async fn clocks_past_access_life(w: &mut World) -> anyhow::Result<()> {
    w.expire_app_access_token().await
}

/// The browser asks the backend, with its session, for the user's profile at the provider.
#[when(expr = "the browser asks the backend for the provider profile")]
async fn ask_provider_profile(w: &mut World) -> anyhow::Result<()> {
    w.ask_for_provider_profile().await
}

/// The provider answered a refresh grant of the backend's client after the backend was asked.
#[then(expr = "the provider saw the backend refresh its tokens")]
async fn saw_refresh(w: &mut World) -> anyhow::Result<()> {
    w.check_refreshed()
}

/// After the refresh, userinfo accepted the access token that refresh issued, sent by the backend.
#[then(expr = "the provider saw userinfo called with the refreshed access token")]
async fn userinfo_with_refreshed(w: &mut World) -> anyhow::Result<()> {
    w.check_userinfo_with_refreshed_token()
}

/// No access token from the refresh reached userinfo (its id_token should have been refused).
#[then(expr = "the provider saw no userinfo call with the refreshed access token")]
async fn no_userinfo_with_refreshed(w: &mut World) -> anyhow::Result<()> {
    w.check_refreshed_token_unused()
}

/// The backend's answer succeeds and shows the user's claims from userinfo.
#[then(expr = "the backend's answer carries {string}'s userinfo")]
async fn answer_carries_userinfo(w: &mut World, username: String) -> anyhow::Result<()> {
    w.check_provider_profile_of(&username)
}

/// The browser's session is still that of the same user, or has ended; never another user's.
#[then(expr = "the browser's session is unchanged or ended")]
async fn session_unchanged_or_ended(w: &mut World) -> anyhow::Result<()> {
    w.check_session_unchanged_or_ended().await
}
