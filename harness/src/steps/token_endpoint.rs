//! Straight at the provider: authorization requests by a client, code redemptions at the token endpoint
//! with one thing changed at a time, and revocations.

use anyhow::ensure;
use cucumber::{given, when};
use mock_idp::AuthMethod;

use crate::{
    provider::{ClientAuth, ClientCreds, Pkce, Provider, TokenRequest, Transport},
    world::World,
};

/// The faithful redemption of the newest code by `client`.
fn redemption(w: &World, client: &str) -> anyhow::Result<TokenRequest> {
    let grant = w.last_grant()?.clone();
    Ok(TokenRequest::redeem(&grant, &w.provider.client(client)?))
}

/// The provider user signs in (headless, through the provider handle) and the client receives a code.
#[given(expr = "{string} has signed in to client {string}")]
async fn signed_in_to_client(
    w: &mut World,
    username: String,
    client: String,
) -> anyhow::Result<()> {
    let grant = w.provider.obtain_code(&username, &client, None).await?;
    w.grants.push(grant);
    Ok(())
}

/// As above, with an S256 code challenge in the authorization request.
#[given(expr = "{string} has signed in to client {string} with PKCE")]
async fn signed_in_with_pkce(
    w: &mut World,
    username: String,
    client: String,
) -> anyhow::Result<()> {
    let grant = w
        .provider
        .obtain_code(&username, &client, Some(Pkce::new()))
        .await?;
    w.grants.push(grant);
    Ok(())
}

/// Redeems the newest code as its client should: its credentials, redirect_uri and verifier.
#[when(expr = "client {string} redeems the code")]
async fn redeem(w: &mut World, client: String) -> anyhow::Result<()> {
    let request = redemption(w, &client)?;
    w.send_token_request(&request).await
}

/// A successful redemption, as a precondition; its tokens are "the first" tokens.
#[given(expr = "client {string} has redeemed the code")]
async fn has_redeemed(w: &mut World, client: String) -> anyhow::Result<()> {
    let request = redemption(w, &client)?;
    w.send_token_request(&request).await?;
    let response = w.last_token_response()?;
    ensure!(
        response.is_success(),
        "the redemption failed: {}",
        response.brief()
    );
    Ok(())
}

/// The provider user signs in to the client this many times (headless); every code is kept.
#[when(expr = "{string} signs in to client {string} {int} times")]
async fn signs_in_repeatedly(
    w: &mut World,
    username: String,
    client: String,
    n: usize,
) -> anyhow::Result<()> {
    w.obtain_codes(&username, &client, n).await
}

/// Redeems with one form field (`grant_type`, `code`, …) set to this value.
#[when(expr = "client {string} redeems the code with form field {word} set to {string}")]
async fn redeem_with_field(
    w: &mut World,
    client: String,
    name: String,
    value: String,
) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.set(&name, Some(&value));
    w.send_token_request(&request).await
}

/// Redeems without one form field (`grant_type`, `code`, …).
#[when(expr = "client {string} redeems the code without form field {word}")]
async fn redeem_without_field(w: &mut World, client: String, name: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.set(&name, None);
    w.send_token_request(&request).await
}

/// The faithful redemption, sent as `GET` with the fields in the query instead of a form `POST`.
#[when(expr = "client {string} sends the redemption with GET")]
async fn redeem_with_get(w: &mut World, client: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.transport = Transport::Get;
    w.send_token_request(&request).await
}

/// The faithful redemption, `POST`ed as a JSON body instead of a form.
#[when(expr = "client {string} sends the redemption as JSON")]
async fn redeem_as_json(w: &mut World, client: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.transport = Transport::Json;
    w.send_token_request(&request).await
}

/// Redeems with the registered method but another secret, this many times in a row.
#[when(expr = "client {string} redeems the code with secret {string} {int} times")]
async fn redeem_with_secret_repeatedly(
    w: &mut World,
    client: String,
    secret: String,
    n: usize,
) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.auth = ClientAuth::Secret(secret);
    for _ in 0..n {
        w.send_token_request(&request).await?;
    }
    Ok(())
}

/// Redeems with the registered method but another secret.
#[when(expr = "client {string} redeems the code with secret {string}")]
async fn redeem_with_secret(w: &mut World, client: String, secret: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.auth = ClientAuth::Secret(secret);
    w.send_token_request(&request).await
}

/// Redeems with no client credentials at all.
#[when(expr = "client {string} redeems the code without credentials")]
async fn redeem_without_credentials(w: &mut World, client: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.auth = ClientAuth::Nothing;
    w.send_token_request(&request).await
}

/// Redeems with HTTP Basic and a body `client_secret` together.
#[when(expr = "client {string} redeems the code with credentials in both the header and the body")]
async fn redeem_with_both(w: &mut World, client: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.auth = ClientAuth::Both;
    w.send_token_request(&request).await
}

/// Redeems as a client the provider does not know, over HTTP Basic.
#[when(expr = "an unknown client {string} with secret {string} redeems the code")]
async fn redeem_unknown_client(w: &mut World, id: String, secret: String) -> anyhow::Result<()> {
    let grant = w.last_grant()?.clone();
    let ghost = ClientCreds {
        id,
        secret: Some(secret),
        method: AuthMethod::ClientSecretBasic,
        redirect_uri: grant.redirect_uri.clone(),
    };
    w.send_token_request(&TokenRequest::redeem(&grant, &ghost))
        .await
}

/// Redeems with another `redirect_uri` than the authorization request's.
#[when(expr = "client {string} redeems the code with redirect_uri {string}")]
async fn redeem_with_redirect(w: &mut World, client: String, uri: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.set("redirect_uri", Some(&uri));
    w.send_token_request(&request).await
}

/// Redeems without the `redirect_uri` the authorization request carried.
#[when(expr = "client {string} redeems the code without redirect_uri")]
async fn redeem_without_redirect(w: &mut World, client: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.set("redirect_uri", None);
    w.send_token_request(&request).await
}

/// Redeems with a well-formed verifier that is not the one whose challenge was sent (or none was).
#[when(expr = "client {string} redeems the code with a wrong code verifier")]
async fn redeem_wrong_verifier(w: &mut World, client: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.set("code_verifier", Some(&Pkce::new().verifier));
    w.send_token_request(&request).await
}

/// Redeems with this exact `code_verifier`.
#[when(expr = "client {string} redeems the code with code verifier {string}")]
async fn redeem_with_verifier(w: &mut World, client: String, v: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.set("code_verifier", Some(&v));
    w.send_token_request(&request).await
}

/// Redeems without the `code_verifier`.
#[when(expr = "client {string} redeems the code without a code verifier")]
async fn redeem_without_verifier(w: &mut World, client: String) -> anyhow::Result<()> {
    let mut request = redemption(w, &client)?;
    request.set("code_verifier", None);
    w.send_token_request(&request).await
}

/// Sends the same faithful redemption several times concurrently.
#[when(expr = "client {string} redeems the code {int} times at once")]
async fn redeem_concurrently(w: &mut World, client: String, n: usize) -> anyhow::Result<()> {
    let request = redemption(w, &client)?;
    let provider = &w.provider;
    let answers = futures::future::join_all((0..n).map(|_| provider.token(&request))).await;
    for answer in answers {
        w.token_responses.push(answer?);
    }
    Ok(())
}

/// Revokes the first redemption's access token as `client`, authenticated as registered.
#[when(expr = "client {string} revokes the first access token")]
async fn revoke_first(w: &mut World, client: String) -> anyhow::Result<()> {
    let token = w.first_token("access_token")?;
    w.revoke(&client, ClientAuth::Registered, &token, None)
        .await
}

/// As above, with this `token_type_hint`.
#[when(expr = "client {string} revokes the first access token with token_type_hint {string}")]
async fn revoke_first_with_hint(w: &mut World, client: String, hint: String) -> anyhow::Result<()> {
    let token = w.first_token("access_token")?;
    w.revoke(&client, ClientAuth::Registered, &token, Some(&hint))
        .await
}

/// As above, authenticated with the registered method but another secret.
#[when(expr = "client {string} revokes the first access token with secret {string}")]
async fn revoke_first_with_secret(
    w: &mut World,
    client: String,
    secret: String,
) -> anyhow::Result<()> {
    let token = w.first_token("access_token")?;
    w.revoke(&client, ClientAuth::Secret(secret), &token, None)
        .await
}

/// Revokes the first redemption's refresh token as `client`, authenticated as registered.
#[when(expr = "client {string} revokes the first refresh token")]
async fn revoke_first_refresh(w: &mut World, client: String) -> anyhow::Result<()> {
    let token = w.first_token("refresh_token")?;
    w.revoke(&client, ClientAuth::Registered, &token, None)
        .await
}

/// Revokes this literal token as `client`.
#[when(expr = "client {string} revokes the token {string}")]
async fn revoke_literal(w: &mut World, client: String, token: String) -> anyhow::Result<()> {
    w.revoke(&client, ClientAuth::Registered, &token, None)
        .await
}

/// Sends the client's usual authorization request (code flow, openid, state, nonce; S256 for public
/// clients) straight to the provider, with no user signed in.
#[when(expr = "client {string} asks to authorize")]
async fn authorize(w: &mut World, client: String) -> anyhow::Result<()> {
    authorize_with(w, &client, |_| {}).await
}

/// The usual authorization request with one parameter set to this value.
#[when(expr = "client {string} asks to authorize with {word} {string}")]
async fn authorize_with_param(
    w: &mut World,
    client: String,
    name: String,
    value: String,
) -> anyhow::Result<()> {
    authorize_with(w, &client, |p| set(p, &name, Some(&value))).await
}

/// The usual authorization request with `response_mode=form_post` (AZ-FORM-POST).
#[when(expr = "client {string} asks to authorize by form_post")]
async fn authorize_by_form_post(w: &mut World, client: String) -> anyhow::Result<()> {
    authorize_with(w, &client, |p| set(p, "response_mode", Some("form_post"))).await
}

/// As above, with one more parameter set to this value.
#[when(expr = "client {string} asks to authorize by form_post with {word} {string}")]
async fn authorize_by_form_post_with(
    w: &mut World,
    client: String,
    name: String,
    value: String,
) -> anyhow::Result<()> {
    authorize_with(w, &client, |p| {
        set(p, "response_mode", Some("form_post"));
        set(p, &name, Some(&value));
    })
    .await
}

/// The usual authorization request without this parameter.
#[when(expr = "client {string} asks to authorize without {word}")]
async fn authorize_without_param(
    w: &mut World,
    client: String,
    name: String,
) -> anyhow::Result<()> {
    authorize_with(w, &client, |p| set(p, &name, None)).await
}

/// The usual authorization request without any PKCE parameter.
#[when(expr = "client {string} asks to authorize without a code challenge")]
async fn authorize_without_pkce(w: &mut World, client: String) -> anyhow::Result<()> {
    authorize_with(w, &client, |p| {
        set(p, "code_challenge", None);
        set(p, "code_challenge_method", None);
    })
    .await
}

/// The usual authorization request with a challenge and this `code_challenge_method`.
#[when(expr = "client {string} asks to authorize with code challenge method {string}")]
async fn authorize_with_method(
    w: &mut World,
    client: String,
    method: String,
) -> anyhow::Result<()> {
    let challenge = Pkce::new().verifier;
    authorize_with(w, &client, |p| {
        set(p, "code_challenge", Some(&challenge));
        set(p, "code_challenge_method", Some(&method));
    })
    .await
}

/// The usual authorization request with `scope` sent twice.
#[when(expr = "client {string} asks to authorize with the scope parameter repeated")]
async fn authorize_repeated(w: &mut World, client: String) -> anyhow::Result<()> {
    authorize_with(w, &client, |p| p.push(("scope".into(), "openid".into()))).await
}

fn set(params: &mut Vec<(String, String)>, name: &str, value: Option<&str>) {
    params.retain(|(k, _)| k != name);
    if let Some(v) = value {
        params.push((name.to_owned(), v.to_owned()));
    }
}

async fn authorize_with(
    w: &mut World,
    client: &str,
    change: impl FnOnce(&mut Vec<(String, String)>),
) -> anyhow::Result<()> {
    // An unknown client gets the request of a made-up confidential client.
    let creds = w.provider.client(client).unwrap_or(ClientCreds {
        id: client.to_owned(),
        secret: None,
        method: AuthMethod::ClientSecretBasic,
        redirect_uri: crate::provider::SCENARIO_REDIRECT_URI.to_owned(),
    });
    let pkce = (creds.method == AuthMethod::None).then(Pkce::new);
    let mut params = Provider::authorization_params(&creds, pkce.as_ref());
    change(&mut params);
    let response = w.provider.authorize(&params).await?;
    w.authorization = Some((params, response));
    Ok(())
}

/// `grant_type=refresh_token` with the refresh token of the first redemption.
#[when(expr = "client {string} refreshes with the first refresh token")]
async fn refresh_first(w: &mut World, client: String) -> anyhow::Result<()> {
    let token = w.first_token("refresh_token")?;
    w.refresh(&client, &token).await
}

/// `grant_type=refresh_token` with this literal refresh token (one the provider never issued).
#[when(expr = "client {string} refreshes with the refresh token {string}")]
async fn refresh_literal(w: &mut World, client: String, token: String) -> anyhow::Result<()> {
    w.refresh(&client, &token).await
}

/// `grant_type=refresh_token` with the refresh token of the newest successful answer.
#[when(expr = "client {string} refreshes with the refreshed refresh token")]
async fn refresh_latest(w: &mut World, client: String) -> anyhow::Result<()> {
    let token = w.latest_token("refresh_token")?;
    w.refresh(&client, &token).await
}
