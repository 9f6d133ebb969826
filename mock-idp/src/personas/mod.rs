//! Provider personas: the protocols of providers that are not OpenID Connect, as other fronts over the same
//! core. A provider speaks one persona ([`crate::model::Persona`], chosen in its config, per tenant too);
//! `router::router` picks the persona's routes once. Whatever the persona, the same client
//! registry, user store, code store (single-use, expiring by the provider's clock, bound to client and
//! redirect URI), token store, faults, request log and login page apply: this module holds the operations
//! the fronts share, each front (`wechat.rs`, `github.rs`) only translates its wire format.

pub mod apple;
pub mod avatars;
pub mod entra;
pub mod github;
pub mod google;
pub mod wechat;

use axum::{
    http::{HeaderMap, StatusCode},
    response::Response,
};
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::{
    authorize::{AuthRequest, complete_or_show, error_page},
    conn::PeerAddr,
    faults::{Context as FaultContext, Fault, Point},
    model::{Persona, UserConfig},
    redemption::{CodeError, CodeRequest, CodeRules, Redeemed, redeem},
    state::{AppState, RegisteredClient, secret_hash},
    store::RefreshRedemption,
    tokens::{Issue, Issued, issue, verify_access_token, verify_opaque},
};

/// An authorization request as a persona's endpoint received it.
#[derive(Debug, Default)]
pub struct PersonaAuthorize<'a> {
    /// The client (`appid`, `client_id`).
    pub client_id: Option<&'a str>,
    /// The redirect URI as sent.
    pub redirect_uri: Option<&'a str>,
    /// The opaque state, echoed exactly.
    pub state: Option<&'a str>,
    /// The scopes asked for.
    pub scope: Vec<String>,
}

/// Checks the client and redirect URI (as the persona's provider compares them) and then completes the login or shows
/// the login page. Until both are trusted, a failure is an HTML page, never a redirect (RFC 6749 §4.1.2.1).
pub fn authorize(
    state: &AppState,
    request: PersonaAuthorize<'_>,
    peer: PeerAddr,
    headers: &HeaderMap,
) -> Response {
    let bad = |description: &str| {
        error_page(
            state,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            description,
        )
    };
    let Some(client) = request.client_id.and_then(|id| state.client(id)) else {
        return bad("the application (client id) is not registered.");
    };
    let registered = &client.config.redirect_uris;
    // WeChat compares exactly; GitHub also takes a subdirectory, a subdomain and (loopback) any port.
    let allowed = |r: &String, uri: &str| match state.config.persona {
        Persona::Github => github::redirect_allowed(r, uri),
        _ => r == uri,
    };
    let (redirect_uri, redirect_uri_param) = match request.redirect_uri {
        Some(uri) if registered.iter().any(|r| allowed(r, uri)) => {
            (uri.to_owned(), Some(uri.to_owned()))
        }
        Some(_) => {
            return bad("redirect_uri is not registered for this application (exact match).");
        }
        None if registered.len() == 1 => (registered[0].clone(), None),
        None => return bad("redirect_uri is missing."),
    };
    let request = AuthRequest {
        client_id: client.config.client_id.clone(),
        redirect_uri,
        redirect_uri_param,
        scope: request.scope,
        state: request.state.map(str::to_owned),
        nonce: None,
        code_challenge: None,
        login_hint: None,
        // No id_token, so no OpenID logout: the personas have neither end-session nor back-channel logout.
        backchannel: false,
        // Neither WeChat nor GitHub offers form_post or prompt.
        response_mode: Default::default(),
        prompt_none: false,
        reauthenticate: false,
        persona: None,
    };
    complete_or_show(state, request, peer, headers)
}

/// Why a client could not be authenticated by id and secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientError {
    /// No client has this id.
    UnknownClient,
    /// The secret is wrong, or the client has none.
    WrongSecret,
    /// Too many failures of this client from this address in the last minute.
    Throttled,
}

/// The client `id` if `secret` is its secret (compared as hashes in constant time), under the same
/// failed-authentication throttle as the OpenID token endpoint: failures counted per (client, address),
/// unknown ids sharing one counter per address, [`ClientError::Throttled`] past
/// `max_auth_failures_per_minute`.
pub fn authenticate(
    state: &AppState,
    id: &str,
    secret: &str,
    peer: PeerAddr,
) -> Result<RegisteredClient, ClientError> {
    let client = state.client(id);
    let counter = if client.is_some() { id } else { "" };
    let now = state.clock.now();
    let max = state.config.max_auth_failures_per_minute;
    if state.auth_failures.throttled(counter, peer.0, max, now) {
        return Err(ClientError::Throttled);
    }
    match client {
        Some(client) if client.secret_matches(secret) => Ok(client),
        Some(_) => {
            state.auth_failures.record(counter, peer.0, now);
            Err(ClientError::WrongSecret)
        }
        None => {
            let _ = secret_hash(secret);
            state.auth_failures.record(counter, peer.0, now);
            Err(ClientError::UnknownClient)
        }
    }
}

/// Redeems `code` for `client` through the one code redemption, under the rules of this provider's
/// persona ([`CodeRules::of`]): single use (a replay revokes the first redemption's tokens), the provider's
/// lifetime, bound to the client and (as the persona checks it) the redirect URI; then the persona's
/// tokens. No id_token: these protocols have none.
pub(crate) fn redeem_code(
    state: &AppState,
    client: &RegisteredClient,
    code: &str,
    redirect_uri: Option<&str>,
) -> Result<Redeemed, CodeError> {
    let request = CodeRequest {
        code,
        redirect_uri,
        code_verifier: None,
    };
    redeem(state, client, request, &CodeRules::of(state.config.persona))
}

/// Why a persona's refresh token gave no tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshError {
    /// Unknown, another app's, spent (its family is revoked now), revoked, or its user is gone.
    Invalid,
    /// Past its lifetime.
    Expired,
    /// The new tokens could not be issued (a full store).
    Unavailable,
}

/// A refresh token redeemed: the user and scope of its grant, and the next tokens of the family.
pub struct Refreshed {
    /// The grant's user.
    pub user: UserConfig,
    /// The grant's scopes.
    pub scope: Vec<String>,
    /// The new access and refresh tokens, in the persona's format and lifetimes.
    pub issued: Issued,
}

/// Redeems a persona's refresh token for `client`: single use (a replay revokes its family, as at the
/// OpenID token endpoint), within its lifetime, then the next access and refresh tokens.
pub fn refresh_tokens(
    state: &AppState,
    client: &RegisteredClient,
    token: &str,
) -> Result<Refreshed, RefreshError> {
    let grant = match state.refresh.redeem(token, &client.config.client_id) {
        RefreshRedemption::Fresh(grant) => grant,
        RefreshRedemption::Replayed { grant_id } => {
            let (until, now) = (state.tokens_dead_by(&client.config), state.clock.now());
            if state.tokens.revoke_grant(&grant_id, until, now).is_err() {
                tracing::error!("the revoked-grant store is full: a replayed family stays valid");
            }
            return Err(RefreshError::Invalid);
        }
        RefreshRedemption::WrongClient | RefreshRedemption::Unknown => {
            return Err(RefreshError::Invalid);
        }
    };
    if state.tokens.is_grant_revoked(&grant.grant_id) {
        return Err(RefreshError::Invalid);
    }
    if state.clock.now() >= grant.expires_at {
        return Err(RefreshError::Expired);
    }
    let user = state.user_by_sub(&grant.sub).ok_or(RefreshError::Invalid)?;
    let rules = CodeRules::of(state.config.persona);
    let issued = issue(
        state,
        Issue {
            grant_id: Some(&grant.grant_id),
            client,
            sub: &grant.sub,
            scope: &grant.scope,
            user: Some(&user),
            nonce: None,
            auth_time: grant.auth_time,
            refresh: true,
            id_token: false,
            refreshed: false,
            access: rules.access.format(client),
            access_ttl: rules.access_ttl,
            refresh_ttl: rules.refresh_ttl,
            minted: None,
        },
    )
    .map_err(|_| RefreshError::Unavailable)?;
    Ok(Refreshed {
        user,
        scope: grant.scope,
        issued,
    })
}

/// The token-endpoint faults armed for this answer (the same registry and point as `/token`).
pub fn token_faults(state: &AppState, client_id: &str, username: &str) -> Vec<Fault> {
    state.faults.take(
        Point::Token,
        FaultContext {
            client_id: Some(client_id),
            username: Some(username),
        },
    )
}

/// The user-API faults armed for this answer (the userinfo point).
pub fn user_api_faults(state: &AppState, client_id: &str, username: &str) -> Vec<Fault> {
    state.faults.take(
        Point::Userinfo,
        FaultContext {
            client_id: Some(client_id),
            username: Some(username),
        },
    )
}

/// Who a live access token of this provider belongs to.
#[derive(Debug)]
pub struct TokenOwner {
    /// The user.
    pub user: UserConfig,
    /// The client it was issued to.
    pub client_id: String,
    /// Its scopes.
    pub scope: Vec<String>,
}

/// The owner of a live access token (not expired, not revoked, issued here), if any.
pub fn token_owner(state: &AppState, token: &str) -> Option<TokenOwner> {
    let claims = verify_access_token(state, token).or_else(|| verify_opaque(state, token))?;
    let user = state.user_by_sub(claims.get("sub")?.as_str()?)?;
    let client_id = claims.get("client_id")?.as_str()?.to_owned();
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Some(TokenOwner {
        user,
        client_id,
        scope,
    })
}

/// Constant-time string equality (openids are compared like secrets: they name a user to an app).
pub fn ct_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// base64url of SHA-256 over the parts, separated by NUL: stable derived identifiers.
fn derived(parts: &[&str]) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    B64.encode(crate::keys::sha256(parts.join("\0").as_bytes()))
}

/// The user's WeChat `openid` at app `client_id`: configured, or derived from (client, sub) so it is
/// stable and differs per app, as WeChat's does (28 characters starting with `o`).
pub fn wechat_openid(user: &UserConfig, client_id: &str) -> String {
    match user.openids.get(client_id) {
        Some(openid) => openid.clone(),
        None => {
            let d = derived(&["openid", client_id, &user.sub]);
            format!("o{}", &d[..27])
        }
    }
}

/// The user's numeric GitHub `id`: configured, or derived from `sub` (stable, at most 2^40).
pub fn github_id(user: &UserConfig) -> u64 {
    user.github_id.unwrap_or_else(|| {
        let digest = crate::keys::sha256(user.sub.as_bytes());
        let mut n = 0u64;
        for b in &digest[..5] {
            n = (n << 8) | u64::from(*b);
        }
        n.max(1)
    })
}

/// The user's GitHub `login`: configured, or the username.
pub fn github_login(user: &UserConfig) -> String {
    user.github_login
        .clone()
        .unwrap_or_else(|| user.username.clone())
}
