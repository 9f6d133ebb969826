//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3, §3.2.1).

use axum::http::{HeaderMap, header};
use base64::{Engine, engine::general_purpose::STANDARD};

use super::Params;
use crate::{
    config::AuthMethod,
    error::OAuthError,
    state::{AppState, RegisteredClient, secret_hash},
};

/// Credentials found in a request, before they are checked.
enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    IdOnly { id: String },
}

/// Decodes one half of a Basic credential: RFC 6749 §2.3.1 form-urlencodes id and secret before base64.
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn presented(headers: &HeaderMap, params: &Params) -> Result<Presented, OAuthError> {
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    let Some(auth) = headers.get(header::AUTHORIZATION) else {
        return match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(Presented::Post {
                id: id.to_owned(),
                secret: secret.to_owned(),
            }),
            (Some(id), None) => Ok(Presented::IdOnly { id: id.to_owned() }),
            (None, _) => Err(OAuthError::InvalidClient { basic: false }),
        };
    };
    let malformed = OAuthError::InvalidClient { basic: true };
    let value = auth.to_str().map_err(|_| malformed.clone())?;
    let (scheme, encoded) = value.split_once(' ').ok_or(malformed.clone())?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed);
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .map_err(|_| malformed.clone())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed.clone())?;
    let (id, secret) = decoded.split_once(':').ok_or(malformed)?;
    let (id, secret) = (form_decode(id), form_decode(secret));
    // RFC 6749 §2.3: one method per request.
    if body_secret.is_some() {
        return Err(OAuthError::InvalidRequest(
            "client credentials sent both in the Authorization header and in the body",
        ));
    }
    if body_id.is_some_and(|b| b != id) {
        return Err(OAuthError::InvalidRequest(
            "client_id in the body differs from the Authorization header",
        ));
    }
    Ok(Presented::Basic { id, secret })
}

/// Authenticates the client of a request, or says why not.
///
/// Unknown clients and wrong secrets fail identically (same status, headers and body), and a secret is
/// hashed even for an unknown client so timing does not tell them apart. Failures are counted per client id
/// and throttled with 429 past `max_auth_failures_per_minute`.
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<RegisteredClient, OAuthError> {
    let presented = presented(headers, params)?;
    let (id, basic) = match &presented {
        Presented::Basic { id, .. } => (id.as_str(), true),
        Presented::Post { id, .. } | Presented::IdOnly { id } => (id.as_str(), false),
    };
    if throttled(state, id) {
        return Err(OAuthError::TooManyAttempts);
    }
    let fail = || {
        record_failure(state, id);
        OAuthError::InvalidClient { basic }
    };
    let Some(client) = state.client(id) else {
        if let Presented::Basic { secret, .. } | Presented::Post { secret, .. } = &presented {
            let _ = secret_hash(secret);
        }
        return Err(fail());
    };
    let method = client.config.token_endpoint_auth_method;
    let ok = match (&presented, method) {
        (Presented::Basic { secret, .. }, AuthMethod::ClientSecretBasic)
        | (Presented::Post { secret, .. }, AuthMethod::ClientSecretPost) => {
            client.secret_matches(secret)
        }
        (Presented::IdOnly { .. }, AuthMethod::None) => true,
        // A method other than the registered one (Core §9), or no secret from a confidential client.
        _ => false,
    };
    if ok { Ok(client) } else { Err(fail()) }
}

fn throttled(state: &AppState, id: &str) -> bool {
    let now = state.clock.now();
    let map = state
        .auth_failures
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.get(id).is_some_and(|&(start, n)| {
        now < start + 60 && n >= state.config.max_auth_failures_per_minute
    })
}

fn record_failure(state: &AppState, id: &str) {
    let now = state.clock.now();
    let mut map = state
        .auth_failures
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if map.len() > 10_000 {
        map.retain(|_, (start, _)| now < *start + 60);
    }
    let entry = map.entry(id.to_owned()).or_insert((now, 0));
    if now >= entry.0 + 60 {
        *entry = (now, 0);
    }
    entry.1 += 1;
}
