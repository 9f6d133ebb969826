//! Logout, both ways (CONFORMANCE LO-RP-INITIATED, LO-BACKCHANNEL): at the app, then at the provider's
//! end-session endpoint; and from the provider to the app's back-channel endpoint.

use cucumber::{given, then, when};

use crate::{logout::LogoutFlaw, world::World};

/// The browser presses "Log out": the backend ends its session and says where to go next.
#[when(expr = "the browser logs out of the app")]
async fn log_out(w: &mut World) -> anyhow::Result<()> {
    w.log_out_of_app().await
}

/// The browser follows the logout to the provider's end-session endpoint.
#[when(expr = "the browser follows the logout to the provider")]
async fn follow(w: &mut World) -> anyhow::Result<()> {
    w.follow_logout(None).await
}

/// As above, with the post-logout redirect URI replaced (an attacker's, or a near miss).
#[when(
    expr = "the browser follows the logout to the provider with post_logout_redirect_uri {string}"
)]
async fn follow_with(w: &mut World, uri: String) -> anyhow::Result<()> {
    w.follow_logout(Some(&uri)).await
}

/// As above, with the registered post-logout redirect URI followed by more characters (a prefix match).
#[when(
    expr = "the browser follows the logout to the provider with the registered post_logout_redirect_uri followed by {string}"
)]
async fn follow_extended(w: &mut World, suffix: String) -> anyhow::Result<()> {
    w.follow_logout_with_extended_uri(&suffix).await
}

/// As above, with an id_token of the same user issued to another client as the hint (client_id the app's).
#[when(
    expr = "the browser follows the logout to the provider with an id_token_hint issued to another client"
)]
async fn follow_foreign_hint(w: &mut World) -> anyhow::Result<()> {
    w.follow_logout_with_foreign_hint().await
}

/// The browser follows the provider's redirect after logout back to the app.
#[when(expr = "the browser follows the provider back to the app")]
async fn follow_return(w: &mut World) -> anyhow::Result<()> {
    w.follow_return_from_logout().await
}

/// LO-RP-STATE-RETURN: no server error, no login started, no return address followed off the app.
#[then(expr = "the app answers the return with a page of its own and starts no login")]
async fn return_taken_calmly(w: &mut World) -> anyhow::Result<()> {
    w.check_return_taken_calmly().await
}

/// The browser opens the app's login again and goes to the provider.
#[when(expr = "the browser opens the app's login and goes to the provider")]
async fn login_again(w: &mut World) -> anyhow::Result<()> {
    w.open_login_at_provider().await
}

/// The provider ends the user's sessions by itself and tells the apps on their back channel.
#[when(expr = "{string} is logged out at the provider")]
async fn provider_logout(w: &mut World, username: String) -> anyhow::Result<()> {
    w.log_out_at_provider(&username).await
}

/// Keeps the current app token, to present it after a logout.
#[given(expr = "the browser keeps its app token")]
async fn keep(w: &mut World) -> anyhow::Result<()> {
    w.keep_app_token()
}

/// Asks for the profile with the app token kept before.
#[when(expr = "the browser asks for its profile with the kept app token")]
async fn profile_kept(w: &mut World) -> anyhow::Result<()> {
    w.fetch_profile_with_kept_token().await
}

/// The provider's logout token for the user, sent to the app's back-channel endpoint.
#[when(expr = "the app is sent a logout token for {string}")]
async fn send_token(w: &mut World, username: String) -> anyhow::Result<()> {
    w.send_logout_token(&username, None).await
}

/// A logout token for the user with one flaw, sent to the app's back-channel endpoint.
#[when(expr = "the app is sent a logout token for {string} with {logout_flaw}")]
async fn send_flawed(w: &mut World, username: String, flaw: LogoutFlaw) -> anyhow::Result<()> {
    w.send_logout_token(&username, Some(flaw)).await
}

/// The same logout token, sent again.
#[when(expr = "the same logout token is sent again")]
async fn resend(w: &mut World) -> anyhow::Result<()> {
    w.resend_logout_token().await
}

/// The logout sent the browser to the end-session endpoint with hint, client id, URI and state.
#[then(
    expr = "the browser is sent to the provider's end-session endpoint with the id_token, the client id, the registered post-logout URI and a state"
)]
async fn sent_to_end_session(w: &mut World) -> anyhow::Result<()> {
    w.check_sent_to_end_session().await
}

/// The provider sent the browser back to the registered post-logout URI with the same state.
#[then(expr = "the provider sends the browser back to the post-logout URI with the same state")]
async fn returned(w: &mut World) -> anyhow::Result<()> {
    w.check_returned_after_logout().await
}

/// Every back-channel POST of the provider-side logout was answered 200.
#[then(expr = "the app accepted the provider's back-channel logout")]
async fn deliveries_ok(w: &mut World) -> anyhow::Result<()> {
    w.check_deliveries_succeeded()
}

/// The app answered every logout token of the provider's logout 400.
#[then(expr = "the app refused the provider's back-channel logout")]
async fn deliveries_refused(w: &mut World) -> anyhow::Result<()> {
    w.check_deliveries_refused()
}

/// The app answered the logout token 200.
#[then(expr = "the app accepts the logout token")]
async fn accepted(w: &mut World) -> anyhow::Result<()> {
    w.check_backchannel_status(200)
}

/// The app answered the logout token 400 (Back-Channel Logout 1.0 §2.8).
#[then(expr = "the app refuses the logout token")]
async fn refused(w: &mut World) -> anyhow::Result<()> {
    w.check_backchannel_status(400)
}

/// Another user logs in through a browser of their own, which keeps that session.
#[given(expr = "{string} has logged in through another browser")]
async fn other_logged_in(w: &mut World, username: String) -> anyhow::Result<()> {
    w.log_in_in_other_browser(&username).await
}

/// The provider ends the user's sessions with the app and sends a logout token naming only the `sid`.
#[when(expr = "the app is sent a logout token naming only the sid of {string}'s provider session")]
async fn send_sid_only(w: &mut World, username: String) -> anyhow::Result<()> {
    w.log_out_session_at_provider_by_sid(&username).await
}

/// The other browser's session still opens the profile.
#[then(expr = "the session in another browser still works")]
async fn other_session_works(w: &mut World) -> anyhow::Result<()> {
    w.check_other_session_works().await
}
