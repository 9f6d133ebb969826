//! Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3, §3.2.1).

use axum::http::{HeaderMap, header};
use base64::{Engine, engine::general_purpose::STANDARD};

use super::Params;
pub use crate::conn::PeerAddr;
use crate::{
    error::OAuthError,
    model::{AuthMethod, Persona},
    state::{AppState, RegisteredClient, secret_hash},
};

/// Credentials found in a request, before they are checked.
enum Presented {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    IdOnly { id: String },
}

/// Decodes one half of a Basic credential as one whole `application/x-www-form-urlencoded` value
/// (RFC 6749 §2.3.1, Appendix B): `+` is a space, `%XX` a byte, and nothing else is special, so `&`, `=`,
/// `:` and `%` in a secret round-trip and no suffix is ever dropped. Written by hand because the form parsers
/// at hand split on `&` and `=`, and the percent decoders pass a malformed `%` through instead of refusing it.
fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let (hi, lo) = (hex(*bytes.get(i + 1)?)?, hex(*bytes.get(i + 2)?)?);
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// The id and secret of an `Authorization: Basic` header, each half form-decoded (RFC 6749 §2.3.1): `None`
/// without the header, `Some(Err(()))` when it is not Basic or is malformed.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), ()>> {
    headers
        .get(header::AUTHORIZATION)
        .map(|auth| basic_value(auth).ok_or(()))
}

fn basic_value(auth: &axum::http::HeaderValue) -> Option<(String, String)> {
    let value = auth.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    // The encoded id cannot hold a raw `:`, so the first one separates id and secret (RFC 7617 §2).
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
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
    let (id, secret) = basic_value(auth).ok_or(OAuthError::InvalidClient { basic: true })?;
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
/// hashed even for an unknown client so timing does not tell them apart. Failures are counted per
/// (client id, remote address), so wrong secrets from one address never throttle the client elsewhere, and
/// throttled with 429 past `max_auth_failures_per_minute`.
pub fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    peer: PeerAddr,
) -> Result<RegisteredClient, OAuthError> {
    let presented = presented(headers, params)?;
    let (id, basic) = match &presented {
        Presented::Basic { id, .. } => (id.as_str(), true),
        Presented::Post { id, .. } | Presented::IdOnly { id } => (id.as_str(), false),
    };
    // Apple answers every failed client authentication 400 `invalid_client`, Basic or not.
    let apple = state.config.persona == Persona::Apple;
    let basic = basic && !apple;
    let client = state.client(id);
    // Unknown ids share one counter per address, so random ids cannot fill the table from one address.
    let counter = if client.is_some() { id } else { "" };
    let now = state.clock.now();
    let max = state.config.max_auth_failures_per_minute;
    if state.auth_failures.throttled(counter, peer.0, max, now) {
        return Err(OAuthError::TooManyAttempts);
    }
    let fail = || {
        state.auth_failures.record(counter, peer.0, now);
        OAuthError::InvalidClient { basic }
    };
    let Some(client) = client else {
        if let Presented::Basic { secret, .. } | Presented::Post { secret, .. } = &presented {
            let _ = secret_hash(secret);
        }
        return Err(fail());
    };
    let method = client.config.token_endpoint_auth_method;
    if apple && !client.config.client_secret_keys.is_empty() {
        // Sign in with Apple: the client secret is a JWT the client signs, sent in the body as Apple
        // takes it; a Basic header is refused. Only the apple persona reaches this.
        return match &presented {
            Presented::Post { secret, .. }
                if crate::quirks::client_secret_valid(state, &client, secret) =>
            {
                Ok(client)
            }
            _ => Err(fail()),
        };
    }
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

#[cfg(test)]
mod tests {
    use super::form_decode;

    #[test]
    fn a_credential_half_is_decoded_as_one_whole_form_value() {
        assert_eq!(
            form_decode("a%26b%3Dc%3Ad%25e%2Bf+g").as_deref(),
            Some("a&b=c:d%e+f g")
        );
        // Nothing is split off: `&` and `=` are ordinary characters of the value.
        assert_eq!(
            form_decode("web-secret&anything").as_deref(),
            Some("web-secret&anything")
        );
        for malformed in ["%", "%2", "%zz", "%+1", "%C3%28"] {
            assert_eq!(form_decode(malformed), None, "{malformed}");
        }
    }
}
