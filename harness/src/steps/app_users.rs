//! The app's users and settings: seeding its database, its unknown-user policy, its clock, and counting
//! what its database holds.

use std::time::Duration;

use anyhow::ensure;
use cucumber::{given, then, when};

use crate::{
    parameters::{Policy, Role},
    world::{Seed, World},
};

/// Puts a user with this role in the app database, bound to the provider user of that name.
#[given(expr = "the app has a/an {role} {string}")]
async fn app_user(w: &mut World, role: Role, username: String) -> anyhow::Result<()> {
    w.seed_app_user(
        &username,
        Seed {
            role,
            ..Seed::default()
        },
    )
    .await
}

/// Like the above, with an email in the app's database.
#[given(expr = "the app has a/an {role} {string} with email {string}")]
async fn app_user_with_email(
    w: &mut World,
    role: Role,
    username: String,
    email: String,
) -> anyhow::Result<()> {
    let seed = Seed {
        role,
        email: Some(&email),
        ..Seed::default()
    };
    w.seed_app_user(&username, seed).await
}

/// Like the above, with the avatar the profile must show.
#[given(expr = "the app has a/an {role} {string} with avatar {string}")]
async fn app_user_with_avatar(
    w: &mut World,
    role: Role,
    username: String,
    avatar: String,
) -> anyhow::Result<()> {
    let seed = Seed {
        role,
        avatar_url: Some(&avatar),
        ..Seed::default()
    };
    w.seed_app_user(&username, seed).await
}

/// A user who exists in the app database but is disabled.
#[given(expr = "the app has a disabled {role} {string}")]
async fn disabled_user(w: &mut World, role: Role, username: String) -> anyhow::Result<()> {
    let seed = Seed {
        role,
        disabled: true,
        ..Seed::default()
    };
    w.seed_app_user(&username, seed).await
}

/// A user bound to the provider user's subject but at another issuer.
#[given(expr = "the app has a/an {role} {string} at issuer {string}")]
async fn user_at_issuer(
    w: &mut World,
    role: Role,
    username: String,
    issuer: String,
) -> anyhow::Result<()> {
    let seed = Seed {
        role,
        issuer: Some(&issuer),
        ..Seed::default()
    };
    w.seed_app_user(&username, seed).await
}

/// Chooses what the app does with an unknown identity; must come before the app is used.
#[given(expr = "the app's unknown-user policy is \"{policy}\"")]
async fn unknown_user_policy(w: &mut World, policy: Policy) -> anyhow::Result<()> {
    w.set_policy(policy)
}

/// Gives the app this client secret at the provider instead of a random one; must come before the app is used.
#[given(expr = "the app's client secret is {string}")]
async fn app_client_secret(w: &mut World, secret: String) -> anyhow::Result<()> {
    w.set_app_client_secret(&secret)
}

/// Registers the app's client for `RS256`, `ES256` or `HS256` id_tokens (`id_token_signed_response_alg`) and
/// sets the backend up so; for ES256 the provider signs with a P-256 key. Must come before anything else.
#[given(expr = "the app is registered for {word} id_tokens")]
async fn app_id_token_alg(w: &mut World, alg: String) -> anyhow::Result<()> {
    let alg = alg
        .parse::<mock_idp::IdTokenAlg>()
        .map_err(|e| anyhow::anyhow!(e))?;
    w.set_id_token_alg(alg).await
}

/// Starts another app only to see whether it starts, with an app-JWT key of this many ASCII bytes.
#[when(expr = "the app is started with a {int}-byte JWT signing key")]
async fn start_with_key(w: &mut World, bytes: usize) -> anyhow::Result<()> {
    w.try_start_with_jwt_key(bytes).await
}

/// Moves the app's clock forward; nothing sleeps.
#[when(expr = "the app's clock moves forward {int} minutes")]
async fn app_clock(w: &mut World, minutes: u64) -> anyhow::Result<()> {
    w.advance_app_clock(Duration::from_secs(minutes * 60)).await
}

/// Counts the app users bound to the provider user's (issuer, subject).
#[then(expr = "the app database has {int} user(s) bound to {string}")]
async fn users_bound(w: &mut World, expected: usize, username: String) -> anyhow::Result<()> {
    let found = w.users_bound_to(&username).await?;
    ensure!(
        found == expected,
        "{found} app users are bound to {username}, expected {expected}"
    );
    Ok(())
}

/// Counts all app users.
#[then(expr = "the app database has {int} user(s) in total")]
async fn users_total(w: &mut World, expected: usize) -> anyhow::Result<()> {
    let found = w.app().await?.user_count().await?;
    // A running backend holds other scenarios' users too: count what this scenario added.
    let before = w.user_count_at_start.unwrap_or(0);
    let added = found.saturating_sub(before);
    ensure!(
        added == expected,
        "the app has {found} users, {added} of them added by this scenario; expected {expected}"
    );
    Ok(())
}
