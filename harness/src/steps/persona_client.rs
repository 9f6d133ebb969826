//! Straight at a WeChat or GitHub persona, as a client: authorization requests, code redemptions and
//! what the persona answered (CONFORMANCE NP-CODE-RULES).

use cucumber::{given, then, when};

use crate::{target::ExtraKind, world::World};

fn kind(word: &str) -> anyhow::Result<ExtraKind> {
    match word {
        "wechat" => Ok(ExtraKind::Wechat),
        "github" => Ok(ExtraKind::Github),
        other => anyhow::bail!("unknown persona {other:?}: wechat or github"),
    }
}

/// A persona of its own (`wechat` or `github`) with the built-in users and these two clients (secret
/// `CLIENT-secret`, redirect URIs `http://127.0.0.1:7000/callback` and `…/other-callback`).
#[given(expr = "a {word} provider {string} with the clients {string} and {string}")]
async fn direct_persona(
    w: &mut World,
    persona: String,
    name: String,
    first: String,
    second: String,
) -> anyhow::Result<()> {
    w.add_direct_persona(&name, kind(&persona)?, &[&first, &second])
}

/// The client's authorization request at the persona with this `redirect_uri`, no user signed in.
#[when(expr = "client {string} asks {string} to authorize with redirect_uri {string}")]
async fn ask_to_authorize(
    w: &mut World,
    client: String,
    provider: String,
    uri: String,
) -> anyhow::Result<()> {
    w.ask_persona_to_authorize(&provider, &client, &uri).await
}

/// The user signs in at the persona (headless) and the client receives a code.
#[given(expr = "{string} has signed in to client {string} at {string}")]
async fn signed_in_at(
    w: &mut World,
    username: String,
    client: String,
    provider: String,
) -> anyhow::Result<()> {
    w.obtain_persona_code(&username, &client, &provider).await
}

/// The client redeems the newest persona code at its persona, with its own secret.
#[when(expr = "client {string} redeems the persona's code")]
async fn redeem(w: &mut World, client: String) -> anyhow::Result<()> {
    w.redeem_persona_code(&client, None).await
}

/// As above, naming another registered redirect URI than the one the code was issued for (GitHub).
#[when(expr = "client {string} redeems the persona's code naming its other redirect URI")]
async fn redeem_other_uri(w: &mut World, client: String) -> anyhow::Result<()> {
    w.redeem_persona_code(&client, Some(crate::persona_client::OTHER_REDIRECT_URI))
        .await
}

/// The persona's last token answer carries an access token.
#[then(expr = "the persona answers with an access token")]
async fn access_token(w: &mut World) -> anyhow::Result<()> {
    w.check_persona_access_token()
}

/// The persona's last token answer is HTTP 200 with this error (GitHub `error`, WeChat `errcode`).
#[then(expr = "the persona answers {string} with HTTP 200 and no access token")]
async fn error_200(w: &mut World, error: String) -> anyhow::Result<()> {
    w.check_persona_error(&error)
}
