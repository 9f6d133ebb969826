//! Providers that are not OpenID Connect (WeChat, GitHub personas), Sign in with Apple, and account
//! linking.

use anyhow::ensure;
use cucumber::{given, then, when};

use crate::{parameters::Policy, target::ExtraKind, world::World};

fn kind(word: &str) -> anyhow::Result<ExtraKind> {
    match word {
        "wechat" | "WeChat" => Ok(ExtraKind::Wechat),
        "github" | "GitHub" => Ok(ExtraKind::Github),
        "google" | "Google" => Ok(ExtraKind::Google),
        "apple" | "Apple" => Ok(ExtraKind::Apple),
        "entra" | "Entra" => Ok(ExtraKind::Entra),
        other => anyhow::bail!("unknown persona {other:?}: wechat, github, entra, apple or google"),
    }
}

/// The app also offers "Log in with NAME" through a mock-idp persona (`wechat`, `github` or `apple`) with the provider's users.
#[given(expr = "the app also offers {string} through a/an {word} provider")]
async fn offers(w: &mut World, name: String, persona: String) -> anyhow::Result<()> {
    w.add_persona(&name, kind(&persona)?, None)
}

/// As above, with this provider's own unknown-user policy.
#[given(
    expr = "the app also offers {string} through a/an {word} provider with unknown-user policy \"{policy}\""
)]
async fn offers_with_policy(
    w: &mut World,
    name: String,
    persona: String,
    policy: Policy,
) -> anyhow::Result<()> {
    w.add_persona(&name, kind(&persona)?, Some(policy))
}

/// Arms a fault once at that persona (e.g. `token.error_200`).
#[given(expr = "the {string} provider injects {string} once")]
async fn persona_fault(w: &mut World, provider: String, fault: String) -> anyhow::Result<()> {
    w.persona_fault(&provider, &fault)
}

/// A user who exists only at that persona, with this email.
#[given(expr = "the {string} provider has a user {string} with email {string}")]
async fn persona_user(
    w: &mut World,
    provider: String,
    username: String,
    email: String,
) -> anyhow::Result<()> {
    w.add_persona_user(&provider, &username, &email)
}

/// The whole login through the persona: "Log in with PROVIDER", its login page, the callback.
#[when(expr = "{string} logs in with {string} through the browser")]
async fn log_in_with(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.log_in_with(&username, &provider, false).await
}

/// As above, and it must succeed.
#[given(expr = "{string} has logged in with {string} through the browser")]
async fn has_logged_in_with(
    w: &mut World,
    username: String,
    provider: String,
) -> anyhow::Result<()> {
    w.log_in_with(&username, &provider, false).await?;
    w.check_token_issued()
}

/// While logged in: a second "Log in with PROVIDER" that links its identity to the current user.
#[when(expr = "{string} links {string} through the browser")]
async fn links(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.log_in_with(&username, &provider, true).await
}

/// As above, and it must succeed.
#[given(expr = "{string} has linked {string} through the browser")]
async fn has_linked(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.log_in_with(&username, &provider, true).await?;
    w.check_token_issued()
}

/// While logged in: links the provider's account of another user (who signs in there).
#[when(expr = "the browser links {string} signing in there as {string}")]
async fn links_as(w: &mut World, provider: String, username: String) -> anyhow::Result<()> {
    w.log_in_with(&username, &provider, true).await
}

/// Starts a fresh login with the provider but hands the backend the code of the previous one.
#[when(expr = "the browser logs in with {string} again but hands the backend the previous code")]
async fn replay(w: &mut World, provider: String) -> anyhow::Result<()> {
    w.replay_persona_code(&provider).await
}

/// The persona's last token answer was HTTP 200 carrying this error (WeChat errcode, GitHub error).
#[then(expr = "the {string} token endpoint answered {string} with HTTP 200")]
async fn token_error_200(w: &mut World, provider: String, error: String) -> anyhow::Result<()> {
    w.check_persona_token_error(&provider, &error)
}

/// The login succeeded, so the app understood the GitHub token answer's format (JSON asked for, or form).
#[then(expr = "the app understood the {string} token answer")]
async fn format_understood(w: &mut World, provider: String) -> anyhow::Result<()> {
    w.check_token_format_understood(&provider)
}

/// The profile shows this name and the persona's avatar of that user.
#[then(expr = "the profile shows the name {string} and the {string} avatar of {string}")]
async fn persona_profile(
    w: &mut World,
    name: String,
    provider: String,
    username: String,
) -> anyhow::Result<()> {
    w.check_persona_profile(&name, &provider, &username).await
}

/// The profile's display name (from the id_token, or from userinfo when the id_token lacks it).
#[then(expr = "the profile shows the name {string}")]
async fn profile_name(w: &mut World, name: String) -> anyhow::Result<()> {
    w.check_profile_name(&name, true).await
}

/// The profile's display name is not this one (e.g. userinfo of another subject was discarded).
#[then(expr = "the profile does not show the name {string}")]
async fn profile_not_name(w: &mut World, name: String) -> anyhow::Result<()> {
    w.check_profile_name(&name, false).await
}

/// The app lists this many identities for the logged-in user.
#[then(expr = "the app lists {int} linked identities")]
async fn identities(w: &mut World, n: usize) -> anyhow::Result<()> {
    let list = w.linked_identities().await?;
    ensure!(list.len() == n, "the app lists {list:?}, not {n}");
    Ok(())
}

/// Unlinks the identity from that provider.
#[when(expr = "the browser unlinks its {string} identity")]
async fn unlink(w: &mut World, provider: String) -> anyhow::Result<()> {
    w.unlink(Some(&provider)).await
}

/// Tries to unlink the only identity left.
#[when(expr = "the browser tries to unlink its last identity")]
async fn unlink_last(w: &mut World) -> anyhow::Result<()> {
    w.unlink(None).await
}

/// The last answer was a success (e.g. an unlink).
#[then(expr = "the app accepts")]
async fn accepted(w: &mut World) -> anyhow::Result<()> {
    let r = w.last_backend()?;
    ensure!(r.is_success(), "the app answered {}", r.brief());
    Ok(())
}

/// The app also offers "Log in with NAME" through a further app of the same developer at that persona.
#[given(expr = "the app also offers {string} through another app of the {string} provider")]
async fn offers_second_app(w: &mut World, name: String, of: String) -> anyhow::Result<()> {
    w.add_persona_app(&name, &of)
}

/// The user renames their login at the persona (GitHub's `login`; the numeric `id` stays).
#[when(expr = "{string} renames their {string} login to {string}")]
async fn rename_login(
    w: &mut World,
    username: String,
    provider: String,
    login: String,
) -> anyhow::Result<()> {
    w.rename_persona_login(&provider, &username, &login)
}

/// The persona's user has no `unionid` (WeChat).
#[given(expr = "{string} has no unionid at {string}")]
async fn no_unionid(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.drop_persona_unionid(&provider, &username)
}

/// The user's `openid` at that app of the persona is this string (WeChat).
#[given(expr = "{string}'s openid at {string} is {string}")]
async fn openid_at(
    w: &mut World,
    username: String,
    app: String,
    openid: String,
) -> anyhow::Result<()> {
    w.set_persona_openid(&app, &username, &openid)
}
