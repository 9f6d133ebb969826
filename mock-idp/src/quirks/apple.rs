//! Sign in with Apple: its departures from the OpenID core (see `quirks/mod.rs` for the points).
//!
//! - The client authenticates by a client secret that is an ES256 JWT it signs itself
//!   ([`client_secret_valid`]).
//! - The `user` form field (name and email, unsigned) of a first authorization ([`authorization_params`]).
//! - The id_token's email flags as the strings `"true"` / `"false"`, private relay addresses, Apple's own
//!   claims, no profile claims ([`id_token_claims`]).

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde_json::{Map, Value, json};

use super::{AuthorizedFor, IdTokenFor};
use crate::{
    faults::{Context as FaultContext, Fault, Point},
    model::{ClientConfig, UserConfig},
    state::{AppState, RegisteredClient},
};

/// A token-endpoint error as Apple answers it: the status of the OAuth error (400 for every failed client
/// authentication, Basic included), a body with `error` alone (Apple's `ErrorResponse`), `no-store`; the
/// throttle's 429 keeps its `Retry-After`.
pub(crate) fn token_error(error: crate::error::OAuthError) -> axum::response::Response {
    use axum::{http::header, response::IntoResponse};
    let status = match error {
        crate::error::OAuthError::InvalidClient { .. } => axum::http::StatusCode::BAD_REQUEST,
        ref other => other.status(),
    };
    let code = error.code();
    let retry_after = error
        .clone()
        .into_response()
        .headers()
        .get(header::RETRY_AFTER)
        .cloned();
    let mut response = (status, axum::Json(json!({"error": code}))).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    if let Some(retry_after) = retry_after {
        headers.insert(header::RETRY_AFTER, retry_after);
    }
    response
}

/// The longest lifetime Apple accepts for a client secret (`exp - iat`): 15,777,000 s, six months.
pub const MAX_CLIENT_SECRET_LIFETIME: u64 = 15_777_000;

/// How far ahead of the provider's clock a client secret's `iat` may be (clock skew).
const IAT_SKEW: u64 = 60;

/// The domain of Apple's private relay addresses ("Hide My Email").
pub const RELAY_DOMAIN: &str = "privaterelay.appleid.com";

/// Whether `jwt` is a valid client secret of `client`: header `alg` ES256 and the `kid` of one of its
/// `client_secret_keys`, a signature that verifies with that key, `iss` its `team_id`, `sub` its
/// `client_id`, `aud` this provider's issuer, `iat` not ahead of the clock (beyond a minute's skew), `exp`
/// in the future and at most [`MAX_CLIENT_SECRET_LIFETIME`] after `iat`.
pub(crate) fn client_secret_valid(state: &AppState, client: &RegisteredClient, jwt: &str) -> bool {
    client_secret_check(state, &client.config, jwt).is_ok()
}

fn client_secret_check(
    state: &AppState,
    client: &ClientConfig,
    jwt: &str,
) -> Result<(), &'static str> {
    let team = client.team_id.as_deref().ok_or("no team id")?;
    let (signed, signature) = jwt.rsplit_once('.').ok_or("not a JWS")?;
    let (header, payload) = signed.split_once('.').ok_or("not a JWS")?;
    if payload.contains('.') {
        return Err("not a compact JWS");
    }
    let decode = |part: &str| -> Result<Value, &'static str> {
        let bytes = B64.decode(part).map_err(|_| "not base64url")?;
        serde_json::from_slice(&bytes).map_err(|_| "not JSON")
    };
    let header = decode(header)?;
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err("alg is not ES256");
    }
    let kid = header.get("kid").and_then(Value::as_str).ok_or("no kid")?;
    let key = client
        .client_secret_keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or("unknown kid")?;
    let point = key.p256_point().map_err(|_| "unusable key")?;
    let signature = B64.decode(signature).map_err(|_| "not base64url")?;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "bad signature")?;
    let claims = decode(payload)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let number = |name: &str| claims.get(name).and_then(Value::as_u64);
    if text("iss") != Some(team) {
        return Err("iss is not the team id");
    }
    if text("sub") != Some(client.client_id.as_str()) {
        return Err("sub is not the client id");
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(aud)) => *aud == state.issuer,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(&state.issuer)),
        _ => false,
    };
    if !aud_ok {
        return Err("aud is not this provider");
    }
    let now = state.clock.now();
    let iat = number("iat").ok_or("no iat")?;
    let exp = number("exp").ok_or("no exp")?;
    if iat > now + IAT_SKEW {
        return Err("iat is in the future");
    }
    if exp <= now {
        return Err("expired");
    }
    if exp.saturating_sub(iat) > MAX_CLIENT_SECRET_LIFETIME {
        return Err("lives longer than six months");
    }
    Ok(())
}

/// The private relay address of `user` for the developer team `team`: stable per (team, user), as Apple
/// hands one address per team.
pub fn relay_email(team: &str, user: &UserConfig) -> String {
    let digest = crate::keys::sha256(format!("{team}\u{0}{}", user.sub).as_bytes());
    let local: String = digest[..10].iter().map(|b| format!("{b:02x}")).collect();
    format!("{local}@{RELAY_DOMAIN}")
}

/// The address `user` shares with a client of team `team`: their own, or their relay address when they
/// hide it.
fn shared_email(team: &str, user: &UserConfig) -> Option<String> {
    if user.apple_hide_email {
        Some(relay_email(team, user))
    } else {
        user.email.clone()
    }
}

fn team_of(client: &ClientConfig) -> &str {
    client.team_id.as_deref().unwrap_or(&client.client_id)
}

/// The id_token's claims as Sign in with Apple issues them: no profile claims (Apple sends the name only
/// in the `user` form field), `email` (the relay address for a user who hides theirs),
/// `email_verified` and `is_private_email` as the strings `"true"` / `"false"` (booleans under
/// `apple.bool_flags`), `nonce_supported`, no `sid`.
pub(crate) fn id_token_claims(
    state: &AppState,
    of: IdTokenFor<'_>,
    claims: &mut Map<String, Value>,
) -> Vec<&'static str> {
    for profile in [
        "preferred_username",
        "name",
        "given_name",
        "family_name",
        "picture",
        "phone_number",
        "email",
        "email_verified",
        "sid",
    ] {
        claims.remove(profile);
    }
    claims.insert("nonce_supported".into(), json!(true));
    // No `real_user_status`: Apple documents it for its native platforms only, not for the web.
    let Some(user) = of.user else {
        return Vec::new();
    };
    if !of.scope.iter().any(|s| s == "email") {
        return Vec::new();
    }
    let Some(email) = shared_email(team_of(&of.client.config), user) else {
        return Vec::new();
    };
    let verified = user.email_verified.unwrap_or(true);
    let private = user.apple_hide_email;
    let faults = state.faults.take(
        Point::AppleFlags,
        FaultContext {
            client_id: Some(&of.client.config.client_id),
            username: Some(&user.username),
        },
    );
    let flag = |b: bool| {
        if faults.contains(&Fault::AppleBoolFlags) {
            json!(b)
        } else {
            json!(if b { "true" } else { "false" })
        }
    };
    claims.insert("email".into(), json!(email));
    claims.insert("email_verified".into(), flag(verified));
    claims.insert("is_private_email".into(), flag(private));
    faults.iter().map(Fault::name).collect()
}

/// The authorization response's own parameters: the `user` JSON (`{"name": {"firstName", "lastName"},
/// "email"}`, unsigned) on the first authorization of this user for this client when `name` or `email` was
/// asked; never again until the user revokes the app (`Handle::forget_consent`).
pub(crate) fn authorization_params(
    state: &AppState,
    of: AuthorizedFor<'_>,
    params: &mut Vec<(&'static str, String)>,
) -> Vec<&'static str> {
    let first = state.consents.first(of.client_id, &of.user.sub);
    let asked = |s: &str| of.scope.iter().any(|x| x == s);
    if !first || !(asked("name") || asked("email")) {
        return Vec::new();
    }
    let team = state
        .client(of.client_id)
        .map(|c| team_of(&c.config).to_owned())
        .unwrap_or_default();
    let faults = state.faults.take(
        Point::AppleUser,
        FaultContext {
            client_id: Some(of.client_id),
            username: Some(&of.user.username),
        },
    );
    let forged;
    let (named, email) = if faults.contains(&Fault::AppleForgedUser) {
        forged = other_user(state, of.user);
        (&forged, forged.email.clone())
    } else {
        (of.user, shared_email(&team, of.user))
    };
    let mut user = Map::new();
    if asked("name") {
        let mut name = Map::new();
        if let Some(first) = &named.given_name {
            name.insert("firstName".into(), json!(first));
        }
        if let Some(last) = &named.family_name {
            name.insert("lastName".into(), json!(last));
        }
        user.insert("name".into(), Value::Object(name));
    }
    if asked("email")
        && let Some(email) = email
    {
        user.insert("email".into(), json!(email));
    }
    params.push(("user", Value::Object(user).to_string()));
    faults.iter().map(Fault::name).collect()
}

/// Another configured user (the first by username), or a made-up one: whom `apple.forged_user` names.
fn other_user(state: &AppState, user: &UserConfig) -> UserConfig {
    state
        .usernames()
        .into_iter()
        // `usernames` is sorted by username: the first other user with another email.
        .find(|u| u.sub != user.sub && u.email.is_some() && u.email != user.email)
        .unwrap_or_else(|| UserConfig {
            given_name: Some("Mallory".into()),
            family_name: Some("Forger".into()),
            email: Some("mallory@example.com".into()),
            ..UserConfig::default()
        })
}
