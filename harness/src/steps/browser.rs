//! The browser and the frontend: starting a login at the backend, the provider's login page, handing the
//! callback to the backend (faithfully, or altered), the binding step and the profile.

use anyhow::anyhow;
use cucumber::{given, when};
use serde_json::{Value, json};

use crate::{
    jwt,
    parameters::TokenFlaw,
    world::{MAIN, OTHER, World},
};

/// Step 1: the browser opens the backend's login URL, which must redirect to the provider.
#[when(expr = "the browser opens the app's login")]
async fn open_login(w: &mut World) -> anyhow::Result<()> {
    w.open_login(MAIN).await.map(drop)
}

/// Step 1 with a place to land afterwards; the backend must keep only a relative one (RFC 9700 §4.11.1).
#[when(expr = "the browser opens the app's login with return_to {string}")]
async fn open_login_returning_to(w: &mut World, return_to: String) -> anyhow::Result<()> {
    w.open_login_returning_to(MAIN, &return_to).await.map(drop)
}

/// Step 2: the user types the provider user's name and password into the provider's login page.
#[when(expr = "the user signs in at the provider as {string}")]
async fn sign_in(w: &mut World, username: String) -> anyhow::Result<()> {
    w.submit_login_page(MAIN, &username, "login")
        .await
        .map(drop)
}

/// Step 2, refused: the user presses Deny on the provider's login page.
#[when(expr = "the user denies the request at the provider")]
async fn deny(w: &mut World) -> anyhow::Result<()> {
    w.submit_login_page(MAIN, "", "deny").await.map(drop)
}

/// Steps 1–3 at once: the browser holds an authorization response for the backend, not yet handed over.
#[given(
    expr = "the browser has signed in at the provider as {string} after opening the app's login"
)]
async fn signed_in_at_provider(w: &mut World, username: String) -> anyhow::Result<()> {
    w.open_login(MAIN).await?;
    w.submit_login_page(MAIN, &username, "login")
        .await
        .map(drop)
}

/// ST-FORM-POST: the backend asks for `response_mode=form_post` (an in-process backend is started so; any
/// other backend is judged by what its login asks for).
#[given(expr = "the app asks for authorization responses by form_post")]
async fn asks_for_form_post(w: &mut World) -> anyhow::Result<()> {
    w.want_form_post()
}

/// RS-USERINFO-JWT: the backend is registered with `userinfo_signed_response_alg` (an in-process backend is
/// started so; a running one when its target file says so; otherwise the row does not apply).
#[given(expr = "the backend is registered for signed userinfo")]
async fn registered_for_signed_userinfo(w: &mut World) -> anyhow::Result<()> {
    w.want_signed_userinfo()
}

/// Step 4: the frontend hands the authorization response's parameters to the backend, unchanged.
#[when(expr = "the frontend hands the callback to the backend")]
async fn hand_callback(w: &mut World) -> anyhow::Result<()> {
    let payload = w.callback_payload()?;
    w.deliver_callback(MAIN, payload).await
}

/// Step 4 with one parameter (`state`, `iss`, `code`) left out.
#[when(expr = "the frontend hands the callback to the backend without its {word}")]
async fn hand_callback_without(w: &mut World, name: String) -> anyhow::Result<()> {
    if name == "state" {
        w.require_sent("state", "ST-MISMATCH")?;
    }
    let mut payload = w.callback_payload()?;
    if let Value::Object(map) = &mut payload {
        map.remove(&name);
    }
    w.deliver_callback(MAIN, payload).await
}

/// Step 4 with one parameter (`state`, `iss`, `code`) replaced.
#[when(expr = "the frontend hands the callback to the backend with {word} {string}")]
async fn hand_callback_with(w: &mut World, name: String, value: String) -> anyhow::Result<()> {
    if name == "state" {
        w.require_sent("state", "ST-MISMATCH")?;
    }
    let mut payload = w.callback_payload()?;
    payload[name.as_str()] = json!(value);
    w.deliver_callback(MAIN, payload).await
}

/// Step 4 from a second browser that never started this login (no transaction cookie).
#[when(expr = "another browser hands the callback to the backend")]
async fn other_browser_callback(w: &mut World) -> anyhow::Result<()> {
    let payload = w.callback_payload()?;
    w.deliver_callback(OTHER, payload).await
}

/// Hands the last callback to the backend once more, byte for byte.
#[when(expr = "the browser replays the last callback")]
async fn replay_callback(w: &mut World) -> anyhow::Result<()> {
    let payload = w
        .last_callback
        .clone()
        .ok_or_else(|| anyhow!("no callback was handed to the backend yet"))?;
    w.deliver_callback(MAIN, payload).await
}

/// A code injection (RFC 9700 §4.5): `username` signs in at the provider in another browser, whose
/// authorization response is kept, not delivered; then this browser starts its own login as `own`.
#[given(
    expr = "another browser has signed in at the provider as {string}, and the browser as {string}"
)]
async fn two_browsers_signed_in(w: &mut World, other: String, own: String) -> anyhow::Result<()> {
    w.open_login(OTHER).await?;
    let theirs = w.submit_login_page(OTHER, &other, "login").await?;
    w.other_auth_response = Some(theirs);
    w.open_login(MAIN).await?;
    w.submit_login_page(MAIN, &own, "login").await.map(drop)
}

/// Step 4 with the other browser's code and this browser's own state (and `iss`).
#[when(expr = "the browser hands the backend the other browser's code with its own state")]
async fn inject_code(w: &mut World) -> anyhow::Result<()> {
    let theirs = w
        .other_auth_response
        .clone()
        .ok_or_else(|| anyhow!("no other browser signed in"))?;
    let code = crate::browser::query_param(&theirs, "code")
        .ok_or_else(|| anyhow!("the other browser's login gave no code: {theirs}"))?;
    let mut payload = w.callback_payload()?;
    payload["code"] = json!(code);
    w.deliver_callback(MAIN, payload).await
}

/// The whole flow for a provider user, whatever the outcome; the backend's answer is recorded.
#[when(expr = "{string} logs in through the browser")]
async fn logs_in(w: &mut World, username: String) -> anyhow::Result<()> {
    w.log_in(MAIN, &username).await
}

/// The whole flow for a provider user, which must end with an app token.
#[given(expr = "{string} has logged in through the browser")]
async fn has_logged_in(w: &mut World, username: String) -> anyhow::Result<()> {
    w.log_in_successfully(&username).await
}

/// The whole flow in several fresh browsers at the same time; every one must get an app token.
#[when(expr = "{string} logs in from {int} browsers at once")]
async fn logs_in_concurrently(w: &mut World, username: String, n: usize) -> anyhow::Result<()> {
    w.log_in_concurrently(&username, n).await
}

/// A new login (fresh state), but the callback carries the code of the previous successful login.
#[when(expr = "the browser logs in again but hands the backend the previous code")]
async fn replay_code_through_backend(w: &mut World) -> anyhow::Result<()> {
    let (username, code) = w
        .previous_login
        .clone()
        .ok_or_else(|| anyhow!("no earlier successful login to take the code from"))?;
    w.open_login(MAIN).await?;
    w.submit_login_page(MAIN, &username, "login").await?;
    let mut payload = w.callback_payload()?;
    payload["code"] = json!(code);
    w.deliver_callback(MAIN, payload).await
}

/// Require-binding: posts the backend's binding ticket with a phone number.
#[when(expr = "the browser completes the binding with phone {string}")]
async fn bind(w: &mut World, phone: String) -> anyhow::Result<()> {
    w.bind(&phone).await
}

/// Asks the backend for the profile with the app token as issued.
#[when(expr = "the browser asks for its profile")]
async fn profile(w: &mut World) -> anyhow::Result<()> {
    w.fetch_profile(None).await
}

/// Asks for the profile with the app token spoiled in one way.
#[when(expr = "the browser asks for its profile with the app token altered to have {flaw}")]
async fn profile_spoiled(w: &mut World, flaw: TokenFlaw) -> anyhow::Result<()> {
    let token = w
        .app_token
        .clone()
        .ok_or_else(|| anyhow!("no app token was issued"))?;
    if token == crate::world::COOKIE_SESSION || !jwt::is_compact_jws(&token) {
        // JWT-VERIFY: for an opaque or encrypted session, only tampering applies.
        return match flaw {
            TokenFlaw::TamperedPayload | TokenFlaw::TamperedSignature
                if token == crate::world::COOKIE_SESSION =>
            {
                w.fetch_profile_with_tampered_cookie().await
            }
            TokenFlaw::TamperedPayload | TokenFlaw::TamperedSignature => {
                w.fetch_profile(Some(crate::world::flip_middle(&token)))
                    .await
            }
            _ => Err(crate::target::not_applicable(
                "the session is not a JWT (JWT-VERIFY applies to a JWT session; for an opaque or \
                 encrypted cookie only tampering, which the tampered-payload and tampered-signature \
                 rows check)",
            )),
        };
    }
    let spoiled = jwt::spoil(&token, flaw, w.app().await?).await?;
    w.fetch_profile(Some(spoiled)).await
}

/// Asks for the profile with a token the provider issued (`id_token` or `access_token`).
#[when(expr = "the browser asks for its profile with the provider's {string}")]
async fn profile_with_provider_token(w: &mut World, field: String) -> anyhow::Result<()> {
    let token = w.first_token(&field)?;
    w.fetch_profile(Some(token)).await
}

/// The browser opens the backend's login, which may refuse instead of sending it to the provider.
#[when(expr = "the browser tries to open the app's login")]
async fn try_open_login(w: &mut World) -> anyhow::Result<()> {
    w.try_open_login(MAIN).await
}
