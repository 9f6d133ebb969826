//! Sign in with Apple (CONFORMANCE APPLE-*): the persona's users, its `user` field, the profile's email,
//! the persona's client-secret checks, both clocks moving.

use std::time::Duration;

use cucumber::{given, then, when};

use crate::{parameters::Role, world::World};

/// The user hides their email at the Apple persona: it hands out a private relay address.
#[given(expr = "{string} hides their email at {string}")]
async fn hides_email(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.hide_persona_email(&provider, &username)
}

/// The user's email at the persona is not verified (Apple sends `email_verified` `"false"`).
#[given(expr = "{string}'s email is not verified at {string}")]
async fn unverified(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.unverify_persona_email(&provider, &username)
}

/// An app user whose email in the app's database is another user's relay address at the Apple persona.
#[given(expr = "the app has a/an {role} {string} with {string}'s {string} relay email")]
async fn app_user_with_relay(
    w: &mut World,
    role: Role,
    username: String,
    owner: String,
    provider: String,
) -> anyhow::Result<()> {
    w.seed_app_user_with_relay_email(role, &username, &owner, &provider)
        .await
}

/// The user revokes the app at the Apple persona (their next authorization is a first one).
#[when(expr = "{string} revokes the app at {string}")]
async fn revokes(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.forget_persona_consent(&provider, &username)
}

/// The last authorization response carried Apple's `user` field.
#[then(expr = "the provider's answer carried the user field")]
async fn user_field(w: &mut World) -> anyhow::Result<()> {
    w.check_user_field(Some(None))
}

/// The last authorization response carried a `user` field naming this email.
#[then(expr = "the provider's answer carried a user field naming {string}")]
async fn user_field_naming(w: &mut World, email: String) -> anyhow::Result<()> {
    w.check_user_field(Some(Some(&email)))
}

/// The last authorization response carried no `user` field.
#[then(expr = "the provider's answer carried no user field")]
async fn no_user_field(w: &mut World) -> anyhow::Result<()> {
    w.check_user_field(None)
}

/// The profile shows this email (not applicable where the profile shows none: `[profile] email`).
#[then(expr = "the profile shows the email {string}")]
async fn profile_email(w: &mut World, email: String) -> anyhow::Result<()> {
    w.check_profile_email(Some(&email)).await
}

/// The profile shows no email.
#[then(expr = "the profile shows no email")]
async fn profile_no_email(w: &mut World) -> anyhow::Result<()> {
    w.check_profile_email(None).await
}

/// The profile shows the user's private relay address at the Apple persona.
#[then(expr = "the profile shows {string}'s {string} relay email")]
async fn profile_relay(w: &mut World, owner: String, provider: String) -> anyhow::Result<()> {
    w.check_profile_relay_email(&owner, &provider).await
}

/// The backend's clock and the Apple persona's clock move forward together.
#[when(expr = "the app's clock and the {string} provider's clock move forward {int} days")]
async fn both_clocks(w: &mut World, provider: String, days: u64) -> anyhow::Result<()> {
    w.advance_app_and_persona_clocks(&provider, Duration::from_secs(days * 86_400))
        .await
}

/// With the harness as a client of its own: the Apple persona refuses expired, too long-lived,
/// mis-addressed, unknown-key and badly signed client secrets with 400 `invalid_client`.
#[then(expr = "the {string} token endpoint refuses every bad client secret")]
async fn bad_secrets(w: &mut World, provider: String) -> anyhow::Result<()> {
    w.check_apple_client_secrets(&provider).await
}
