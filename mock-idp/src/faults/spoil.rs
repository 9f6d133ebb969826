//! Turns a correct response or claim set into the spoiled one. Each endpoint calls one function here, at
//! one point, with the faults [`super::FaultRegistry::take`] gave it; with no faults, each returns the
//! correct response unchanged.

use std::time::Duration;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use serde_json::{Map, Value, json};

use super::{ErrorStatus, Fault};
use crate::{
    error::OAuthError,
    keys::{KeyError, SigningKey},
    requests::Note,
    state::random_token,
};

/// The audience an `id_token.wrong_aud` token names, and the untrusted one of `id_token.extra_aud`.
pub const FOREIGN_AUDIENCE: &str = "another-client";
/// How far `id_token.expired` and `id_token.iat_future` move time: ten minutes, past any sane skew.
const SHIFT_SECS: u64 = 600;

fn names(faults: &[Fault]) -> Vec<String> {
    faults.iter().map(|f| f.name().to_owned()).collect()
}

/// The HMAC keys of the client an id_token is for (see [`id_token`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientMacs<'a> {
    /// Set when the client registered `id_token_signed_response_alg = HS256`: its id_tokens are MACed.
    pub id_token: Option<&'a aws_lc_rs::hmac::Key>,
    /// Its secret's MAC key, whatever it registered; `None` for a public client.
    pub secret: Option<&'a aws_lc_rs::hmac::Key>,
}

fn hs256(mac_key: &aws_lc_rs::hmac::Key, input: &str) -> String {
    let tag = aws_lc_rs::hmac::sign(mac_key, input.as_bytes());
    format!("{input}.{}", B64.encode(tag.as_ref()))
}

/// Applies the claim faults to an id_token's claims, then signs it, applying the header and signature
/// faults. Returns the token and the kid its header names (`None` when it names none).
///
/// `client` is the client's MAC keys: the one its id_tokens are MACed with when it registered HS256, and
/// the one its secret makes whatever it registered (the `id_token.other_alg` fault's).
pub fn id_token(
    key: &SigningKey,
    client: ClientMacs<'_>,
    issuer: &str,
    ttl: u64,
    mut claims: Map<String, Value>,
    faults: &[Fault],
) -> Result<(String, Option<String>), KeyError> {
    let now = claims
        .get("iat")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    for fault in faults {
        match fault {
            Fault::IdTokenWrongIss => {
                // One trailing slash is enough to be another issuer (Core §3.1.3.7 #2: exact match).
                claims.insert("iss".into(), json!(format!("{issuer}/")));
            }
            Fault::IdTokenMissingIss => {
                claims.remove("iss");
            }
            Fault::IdTokenIssWithoutScheme => {
                let bare = issuer
                    .strip_prefix("https://")
                    .or_else(|| issuer.strip_prefix("http://"))
                    .unwrap_or(issuer);
                claims.insert("iss".into(), json!(bare));
            }
            Fault::IdTokenWrongAud => {
                claims.insert("aud".into(), json!(FOREIGN_AUDIENCE));
            }
            Fault::IdTokenExtraAud => {
                let aud = claims.get("aud").cloned().unwrap_or(Value::Null);
                claims.insert("aud".into(), json!([aud, FOREIGN_AUDIENCE]));
            }
            Fault::IdTokenMissingAud => {
                claims.remove("aud");
            }
            Fault::IdTokenWrongNonce => {
                claims.insert("nonce".into(), json!(format!("wrong-{}", random_token(16))));
            }
            Fault::IdTokenMissingNonce => {
                claims.remove("nonce");
            }
            Fault::IdTokenExpired => {
                let exp = now.saturating_sub(SHIFT_SECS);
                claims.insert("exp".into(), json!(exp));
                claims.insert("iat".into(), json!(exp.saturating_sub(ttl)));
            }
            Fault::IdTokenMissingExp => {
                claims.remove("exp");
            }
            Fault::IdTokenIatFuture => {
                claims.insert("iat".into(), json!(now + SHIFT_SECS));
                claims.insert("exp".into(), json!(now + SHIFT_SECS + ttl));
            }
            Fault::IdTokenMissingIat => {
                claims.remove("iat");
            }
            Fault::IdTokenMissingSub => {
                claims.remove("sub");
            }
            Fault::IdTokenNoProfile => {
                for k in [
                    "name",
                    "given_name",
                    "family_name",
                    "preferred_username",
                    "picture",
                    "email",
                    "email_verified",
                    "phone_number",
                ] {
                    claims.remove(k);
                }
            }
            _ => {}
        }
    }
    // `id_token.other_alg` swaps the client's way of signing for the other one (ID-SIG-HS256).
    let other_alg = faults.contains(&Fault::IdTokenOtherAlg);
    let mac = match (client.id_token, other_alg) {
        (Some(mac), false) => Some(mac),
        (Some(_), true) => None,
        (None, false) => None,
        (None, true) => client.secret,
    };
    let mut header = match mac {
        // Core §10.1: a MAC names no key; the client knows which secret it is.
        Some(_) => json!({"alg": "HS256", "typ": "JWT"}),
        None => json!({"alg": key.alg().as_str(), "kid": key.kid(), "typ": "JWT"}),
    };
    for fault in faults {
        match fault {
            Fault::IdTokenNoKid => {
                if let Some(h) = header.as_object_mut() {
                    h.remove("kid");
                }
            }
            Fault::IdTokenUnknownKid => {
                header["kid"] = json!(format!("unknown-{}", random_token(6)));
            }
            _ => {}
        }
    }
    let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
    let payload = serde_json::to_vec(&claims).map_err(|e| KeyError::new(e.to_string()))?;
    let signing_input = |header: &Value| {
        format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(&payload)
        )
    };
    if faults.contains(&Fault::IdTokenAlgNone) {
        // RFC 7519 §6.1: an unsecured JWT has an empty signature.
        let header = json!({"alg": "none", "typ": "JWT"});
        return Ok((format!("{}.", signing_input(&header)), None));
    }
    if faults.contains(&Fault::IdTokenHs256PublicKey) {
        // The algorithm-confusion attack (RFC 8725 §2.1): HMAC keyed with the published public key.
        if let Some(h) = header.as_object_mut() {
            h.insert("alg".into(), json!("HS256"));
        }
        let mac_key =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.public_pem()?.as_bytes());
        return Ok((hs256(&mac_key, &signing_input(&header)), kid));
    }
    let input = signing_input(&header);
    let mut signature = match mac {
        Some(mac) => aws_lc_rs::hmac::sign(mac, input.as_bytes())
            .as_ref()
            .to_vec(),
        None => key.sign_bytes(input.as_bytes())?,
    };
    if faults.contains(&Fault::IdTokenBadSignature)
        && let Some(first) = signature.first_mut()
    {
        *first ^= 0x01;
    }
    Ok((format!("{input}.{}", B64.encode(signature)), kid))
}

/// Applies the `refresh.*` faults to the claims of a refresh grant's id_token, before it is signed as
/// usual: another `iss` (the issuer with `/other` appended), or another `sub` (`other_sub`, another user's
/// subject, or the subject with `-other` appended when there is no other user). Core §12.2 requires both to
/// equal the login's.
pub fn refreshed_id_token(
    claims: &mut Map<String, Value>,
    issuer: &str,
    other_sub: Option<String>,
    faults: &[Fault],
) {
    for fault in faults {
        match fault {
            Fault::RefreshIdTokenOtherIss => {
                claims.insert("iss".into(), json!(format!("{issuer}/other")));
            }
            Fault::RefreshIdTokenOtherSub => {
                let own = claims
                    .get("sub")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let other = other_sub.clone().unwrap_or_else(|| format!("{own}-other"));
                claims.insert("sub".into(), json!(other));
            }
            _ => {}
        }
    }
}

/// A back-channel logout token (`claims` as the provider makes them) with the `logout.*` faults applied:
/// `alg: none` and no signature, HS256 keyed with the published public key's PEM, or `events` naming only
/// another event (signed as usual).
pub fn logout_token(
    key: &SigningKey,
    mut claims: Value,
    faults: &[Fault],
) -> Result<String, KeyError> {
    if faults.contains(&Fault::LogoutWrongEvent) {
        claims["events"] = json!({"http://schemas.openid.net/event/foobar": {}});
    }
    let payload =
        B64.encode(serde_json::to_vec(&claims).map_err(|e| KeyError::new(e.to_string()))?);
    if faults.contains(&Fault::LogoutAlgNone) {
        let header = json!({"alg": "none", "typ": "logout+jwt"});
        return Ok(format!("{}.{payload}.", B64.encode(header.to_string())));
    }
    if faults.contains(&Fault::LogoutWrongAlg) {
        let header = json!({"alg": "HS256", "kid": key.kid(), "typ": "logout+jwt"});
        let input = format!("{}.{payload}", B64.encode(header.to_string()));
        let mac_key =
            aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key.public_pem()?.as_bytes());
        let tag = aws_lc_rs::hmac::sign(&mac_key, input.as_bytes());
        return Ok(format!("{input}.{}", B64.encode(tag.as_ref())));
    }
    let header = json!({"alg": key.alg().as_str(), "kid": key.kid(), "typ": "logout+jwt"});
    key.sign_with_header(&B64.encode(header.to_string()), &claims)
}

/// The authorization response's parameters (`code` or `error`, `state`, `iss`) after the faults.
pub fn authorize(faults: &[Fault], params: &mut Vec<(&'static str, String)>) {
    for fault in faults {
        match fault {
            Fault::AuthorizeWrongIss => {
                for (k, v) in params.iter_mut() {
                    if *k == "iss" {
                        *v = "https://attacker.example".to_owned();
                    }
                }
            }
            Fault::AuthorizeMissingIss => params.retain(|(k, _)| *k != "iss"),
            Fault::AuthorizeWrongState => {
                params.retain(|(k, _)| *k != "state");
                params.push(("state", format!("not-your-state-{}", random_token(16))));
            }
            Fault::AuthorizeError(code) => {
                params.retain(|(k, _)| matches!(*k, "state" | "iss"));
                params.insert(0, ("error", code.as_str().to_owned()));
                params.insert(
                    1,
                    (
                        "error_description",
                        "the provider answered this error on purpose".to_owned(),
                    ),
                );
            }
            _ => {}
        }
    }
}

fn error_response(status: ErrorStatus, fault: &str) -> Response {
    let code = StatusCode::from_u16(status.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = if status.html {
        let reason = code.canonical_reason().unwrap_or("Error");
        (
            code,
            Html(format!(
                "<!DOCTYPE html><html><head><title>{} {reason}</title></head>\
                 <body><h1>{} {reason}</h1><p>nginx</p></body></html>",
                status.status, status.status
            )),
        )
            .into_response()
    } else {
        let error = match status.status {
            503 => "temporarily_unavailable",
            500..=599 => "server_error",
            _ => "invalid_request",
        };
        (
            code,
            Json(json!({"error": error, "error_description": format!("fault {fault}")})),
        )
            .into_response()
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn delay_of(faults: &[Fault]) -> Option<Duration> {
    faults.iter().find_map(|f| match f {
        Fault::TokenDelay(d) | Fault::UserinfoDelay(d) => Some(*d),
        _ => None,
    })
}

/// The token endpoint's successful answer `body` after the faults: delayed, replaced by an error,
/// malformed, missing a member, or (for `token.close_connection`) marked so the connection is aborted.
pub async fn token(faults: &[Fault], mut body: Value) -> Response {
    if let Some(delay) = delay_of(faults) {
        tokio::time::sleep(delay).await;
    }
    let note = Note {
        faults: names(faults),
        ..Note::default()
    };
    let mut replaced: Option<Response> = None;
    for fault in faults {
        match fault {
            Fault::TokenStatus(status) => {
                replaced = Some(error_response(*status, fault.name()));
            }
            Fault::TokenRateLimited => {
                let mut r = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({"error": "temporarily_unavailable", "error_description": "rate limited"})),
                )
                    .into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
                replaced = Some(r);
            }
            Fault::TokenInvalidGrant => {
                replaced = Some(
                    OAuthError::InvalidGrant("the code was refused on purpose (fault)")
                        .into_response(),
                );
            }
            Fault::TokenError200 => {
                let mut r = OAuthError::InvalidGrant("the code was refused on purpose (fault)")
                    .into_response();
                *r.status_mut() = StatusCode::OK;
                replaced = Some(r);
            }
            Fault::TokenMalformedJson => {
                let text = body.to_string();
                let cut: String = text.chars().take(text.len() / 2).collect();
                let mut r = (StatusCode::OK, cut).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                replaced = Some(r);
            }
            Fault::TokenMissingAccessToken => {
                if let Some(b) = body.as_object_mut() {
                    b.remove("access_token");
                }
            }
            Fault::TokenMissingIdToken => {
                if let Some(b) = body.as_object_mut() {
                    b.remove("id_token");
                }
            }
            Fault::TokenTokenType(t) => body["token_type"] = json!(t),
            Fault::TokenBearerLowercase => body["token_type"] = json!("bearer"),
            _ => {}
        }
    }
    let mut response = replaced.unwrap_or_else(|| crate::error::no_store_json(body));
    let abort = faults.contains(&Fault::TokenCloseConnection);
    Note { abort, ..note }.attach(&mut response);
    response
}

/// A persona's token answer after the faults: `success` renders the correct answer in the persona's
/// format, `protocol_error` its own error with HTTP 200 (`token.error_200`, `token.invalid_grant`). The
/// transport faults (status, rate limit, delay, malformed body, closed connection) are the OpenID ones.
pub async fn persona_token(
    faults: &[Fault],
    body: Value,
    success: impl FnOnce(Value) -> Response,
    protocol_error: impl FnOnce() -> Response,
) -> Response {
    if faults.is_empty() {
        return success(body);
    }
    let persona_error = faults
        .iter()
        .any(|f| matches!(f, Fault::TokenError200 | Fault::TokenInvalidGrant));
    let transport = faults.iter().any(|f| {
        matches!(
            f,
            Fault::TokenStatus(_) | Fault::TokenRateLimited | Fault::TokenMalformedJson
        )
    });
    if transport {
        // The OpenID spoiler does exactly these (and notes the faults); the body it keeps is not used.
        return token(faults, body).await;
    }
    if let Some(delay) = delay_of(faults) {
        tokio::time::sleep(delay).await;
    }
    let mut body = body;
    if faults.contains(&Fault::TokenMissingAccessToken)
        && let Some(b) = body.as_object_mut()
    {
        b.remove("access_token");
    }
    let mut response = if persona_error {
        protocol_error()
    } else {
        success(body)
    };
    Note {
        faults: names(faults),
        abort: faults.contains(&Fault::TokenCloseConnection),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// How userinfo answers a client registered with `userinfo_signed_response_alg` (OIDC Core §5.3.2): a JWT
/// signed with the id_token key, with the provider's `iss` and the client as `aud`.
#[derive(Debug, Clone, Copy)]
pub struct SignedUserinfo<'a> {
    /// The provider's active id_token key.
    pub key: &'a SigningKey,
    /// The provider's issuer: the JWT's `iss`.
    pub issuer: &'a str,
    /// The client: the JWT's `aud`.
    pub client_id: &'a str,
}

/// The userinfo answer `body` after the faults (OpenID: the subject is `sub`): JSON, or for a client
/// registered with `userinfo_signed_response_alg` a signed JWT of the same (spoiled) claims, whose signature
/// `userinfo.bad_signature` breaks.
pub async fn userinfo(
    faults: &[Fault],
    body: Map<String, Value>,
    signed: Option<SignedUserinfo<'_>>,
) -> Response {
    let Some(signed) = signed else {
        return user_api(faults, body, "sub").await;
    };
    let mut response = match spoil_user_api(faults, body, "sub").await {
        Err(replaced) => replaced,
        Ok(mut claims) => {
            claims.insert("iss".into(), json!(signed.issuer));
            claims.insert("aud".into(), json!(signed.client_id));
            match signed_userinfo(signed.key, &claims, faults) {
                Ok(jwt) => {
                    let mut r = (StatusCode::OK, jwt).into_response();
                    let headers = r.headers_mut();
                    // Core §5.3.2: a signed userinfo is `application/jwt`.
                    headers.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("application/jwt"),
                    );
                    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    r
                }
                Err(e) => {
                    tracing::error!(error = %e, "signing userinfo");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            }
        }
    };
    Note {
        faults: names(faults),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// The signed userinfo JWT: header `{alg, kid, typ: "JWT"}`, the claims, and a signature that
/// `userinfo.bad_signature` spoils (one bit flipped, as `id_token.bad_signature` does).
fn signed_userinfo(
    key: &SigningKey,
    claims: &Map<String, Value>,
    faults: &[Fault],
) -> Result<String, KeyError> {
    let jwt = key.sign(claims)?;
    if !faults.contains(&Fault::UserinfoBadSignature) {
        return Ok(jwt);
    }
    let (input, signature) = jwt
        .rsplit_once('.')
        .ok_or_else(|| KeyError::new("a JWS without a signature".into()))?;
    let mut signature = B64
        .decode(signature)
        .map_err(|e| KeyError::new(e.to_string()))?;
    if let Some(first) = signature.first_mut() {
        *first ^= 0x01;
    }
    Ok(format!("{input}.{}", B64.encode(signature)))
}

/// A user API's answer `body` after the faults; `userinfo.wrong_sub` changes the member `subject` (a
/// string or, for GitHub's `id`, a number).
pub async fn user_api(faults: &[Fault], body: Map<String, Value>, subject: &str) -> Response {
    let mut response = match spoil_user_api(faults, body, subject).await {
        Ok(body) => crate::error::no_store_json(Value::Object(body)),
        Err(replaced) => replaced,
    };
    Note {
        faults: names(faults),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// The user API's claims after the faults (delayed, another subject), or the error answer that replaces
/// them (`userinfo.status`).
async fn spoil_user_api(
    faults: &[Fault],
    mut body: Map<String, Value>,
    subject: &str,
) -> Result<Map<String, Value>, Response> {
    if let Some(delay) = delay_of(faults) {
        tokio::time::sleep(delay).await;
    }
    let mut replaced = None;
    for fault in faults {
        match fault {
            Fault::UserinfoWrongSub => {
                let other = match body.get(subject) {
                    Some(Value::Number(n)) => json!(n.as_u64().unwrap_or_default() + 1_000_000),
                    Some(Value::String(s)) => json!(format!("{s}-someone-else")),
                    _ => json!("someone-else"),
                };
                body.insert(subject.to_owned(), other);
            }
            Fault::UserinfoStatus(status) => replaced = Some(error_response(*status, fault.name())),
            _ => {}
        }
    }
    match replaced {
        Some(r) => Err(r),
        None => Ok(body),
    }
}

/// The discovery document after the faults.
pub fn discovery(faults: &[Fault], mut doc: Value) -> Response {
    let mut replaced = None;
    for fault in faults {
        match fault {
            Fault::DiscoveryUnavailable => {
                replaced = Some(error_response(ErrorStatus::json(503), fault.name()));
            }
            Fault::DiscoveryWrongIssuer => {
                let issuer = doc["issuer"].as_str().unwrap_or_default().to_owned();
                doc["issuer"] = json!(format!("{issuer}/other"));
            }
            _ => {}
        }
    }
    let mut response = replaced.unwrap_or_else(|| Json(doc).into_response());
    Note {
        faults: names(faults),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// The JWKS after the faults; the note lists the kids it published.
pub fn jwks(faults: &[Fault], mut doc: Value) -> Response {
    let mut replaced = None;
    for fault in faults {
        match fault {
            Fault::JwksUnavailable => {
                replaced = Some(error_response(ErrorStatus::json(503), fault.name()));
            }
            Fault::JwksEmpty => doc = json!({"keys": []}),
            Fault::JwksNoKid => {
                if let Some(keys) = doc["keys"].as_array_mut() {
                    for key in keys.iter_mut().filter_map(Value::as_object_mut) {
                        key.remove("kid");
                    }
                }
            }
            Fault::JwksUnusableKeys => {
                if let Some(keys) = doc["keys"].as_array_mut() {
                    // An ML-DSA public key shape (draft-ietf-cose-dilithium) and a kty nobody defines.
                    keys.insert(
                        0,
                        json!({"kty": "AKP", "alg": "ML-DSA-44", "kid": "unusable-akp", "use": "sig",
                               "pub": B64.encode([7u8; 64])}),
                    );
                    keys.push(
                        json!({"kty": "XYZ", "kid": "unusable-xyz", "crv": "none", "q": "AAAA"}),
                    );
                }
            }
            _ => {}
        }
    }
    let kids = doc["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k.get("kid").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let published = replaced.is_none();
    let mut response = replaced.unwrap_or_else(|| Json(doc).into_response());
    Note {
        faults: names(faults),
        jwks_kids: published.then_some(kids),
        ..Note::default()
    }
    .attach(&mut response);
    response
}
