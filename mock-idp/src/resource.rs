//! The endpoints that take tokens: userinfo (OIDC Core §5.3, RFC 6750), revocation (RFC 7009) and
//! introspection (RFC 7662).

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{
    error::{BearerError, BearerInvalidRequest, BearerMissing, InsufficientScope, OAuthError},
    faults::{Context as FaultContext, Point, spoil},
    grants::{Params, PeerAddr, authenticate, no_store_json},
    requests::Note,
    state::AppState,
    store::{RefreshGrant, RefreshRedemption},
    tokens::{user_claims, verify_access_token},
};

/// Where a request to userinfo carries its access token (RFC 6750 §2).
enum Presented {
    /// Exactly one token, from the `Authorization: Bearer` header (§2.1) or a form-encoded POST body (§2.2).
    One(String),
    /// No token at all: the challenge carries no error code (§3.1).
    None,
    /// A token in the URL query (§2.3, which this server does not support), sent two ways at once
    /// ("Clients MUST NOT use more than one method", §2), or a repeated `access_token`: `invalid_request`.
    Malformed(&'static str),
}

/// The access token a userinfo request presents.
fn presented_token(
    method: &axum::http::Method,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Presented {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    let in_query = query.is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token")
    });
    if in_query {
        return Presented::Malformed("the access token must not be sent in the URL query");
    }
    let form_body = *method == axum::http::Method::POST
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';').next().is_some_and(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
    let from_body: Vec<String> = if form_body {
        url::form_urlencoded::parse(body)
            .filter(|(k, _)| k == "access_token")
            .map(|(_, v)| v.into_owned())
            .collect()
    } else {
        Vec::new()
    };
    match (from_header, from_body.as_slice()) {
        (Some(_), [_, ..]) => Presented::Malformed("the access token was sent more than one way"),
        (None, [_, _, ..]) => Presented::Malformed("access_token is repeated"),
        (Some(token), []) => Presented::One(token),
        (None, [token]) => Presented::One(token.clone()),
        (None, []) => Presented::None,
    }
}

/// `GET|POST /userinfo`: the claims of the token's scope, for a live access token sent as Bearer in the
/// header or in a form-encoded POST body (RFC 6750 §2.1–2.2).
pub async fn userinfo(
    State(state): State<AppState>,
    method: axum::http::Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let token = match presented_token(&method, &headers, query.as_deref(), &body) {
        Presented::One(token) => token,
        Presented::None => return BearerMissing.into_response(),
        Presented::Malformed(why) => return BearerInvalidRequest(why).into_response(),
    };
    let token = token.as_str();
    let Some(claims) = verify_access_token(&state, token) else {
        return BearerError.into_response();
    };
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let Some(user) = state.user_by_sub(sub) else {
        return BearerError.into_response();
    };
    let scope: Vec<String> = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .split(' ')
        .map(str::to_owned)
        .collect();
    // Google's userinfo answers tokens of `profile` or `email` without `openid` too.
    let google_scopes = || {
        state.config.persona == crate::model::Persona::Google
            && scope.iter().any(|s| s == "profile" || s == "email")
    };
    if !scope.iter().any(|s| s == "openid") && !google_scopes() {
        return InsufficientScope("openid").into_response();
    }
    let mut body = user_claims(&user, &scope, &state.issuer);
    body.insert("sub".into(), json!(user.sub));
    let client_id = claims.get("client_id").and_then(Value::as_str);
    if state.config.persona != crate::model::Persona::Oidc {
        crate::quirks::userinfo_claims(&state, client_id, &user, &mut body);
    }
    let faults = state.faults.take(
        Point::Userinfo,
        FaultContext {
            client_id,
            username: Some(&user.username),
        },
    );
    // Core §5.3.2: a client registered with `userinfo_signed_response_alg` gets a signed JWT. Validation
    // made that the algorithm of the provider's key, so the active key signs it.
    let signs = client_id.is_some_and(|id| {
        crate::state::read(&state.clients)
            .get(id)
            .is_some_and(|c| c.config.userinfo_signed_response_alg.is_some())
    });
    let mut response = if signs {
        match state.keys.active() {
            Ok(key) => {
                let signed = spoil::SignedUserinfo {
                    key: &key,
                    issuer: &state.issuer,
                    client_id: client_id.unwrap_or_default(),
                };
                spoil::userinfo(&faults, body, Some(signed)).await
            }
            Err(e) => {
                tracing::error!(error = %e, "signing userinfo");
                OAuthError::ServerError.into_response()
            }
        }
    } else {
        spoil::userinfo(&faults, body, None).await
    };
    Note {
        username: Some(user.username.clone()),
        client_id: client_id.map(str::to_owned),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// `POST /revoke` (RFC 7009 §2.1): revoking a refresh token revokes its grant; an unknown token is a
/// success (§2.2); another client's token, refresh or access, is refused with `unauthorized_client`.
pub async fn revoke(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let result = (|| {
        let params = Params::parse(&headers, query.as_deref(), &body)?;
        let client = authenticate(&state, &headers, &params, peer)?;
        let token = params.require("token", "token is missing")?;
        let hint = params.get("token_type_hint");
        if !matches!(hint, None | Some("access_token") | Some("refresh_token")) {
            return Err(OAuthError::UnsupportedTokenType);
        }
        let id = &client.config.client_id;
        let now = state.clock.now();
        match state.refresh.revoke(token, id) {
            RefreshRedemption::Fresh(RefreshGrant { grant_id, .. })
            | RefreshRedemption::Replayed { grant_id } => {
                let until = state.tokens_dead_by(&client.config);
                state.tokens.revoke_grant(&grant_id, until, now)?;
                return Ok(());
            }
            RefreshRedemption::WrongClient => return Err(OAuthError::UnauthorizedClient),
            RefreshRedemption::Unknown => {}
        }
        if let Some((_, claims)) = state.keys.verify(token) {
            let owner = claims.get("client_id").and_then(Value::as_str);
            if owner != Some(id.as_str()) {
                return Err(OAuthError::UnauthorizedClient);
            }
            let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
            if let Some(jti) = claims.get("jti").and_then(Value::as_str) {
                state.tokens.revoke_jti(jti, exp, now)?;
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => no_store_json(json!({})),
        Err(e) => e.into_response(),
    }
}

/// `POST /introspect` (RFC 7662 §2): a live token's metadata for an authenticated caller; anything else is
/// only `{"active": false}` (§2.2).
pub async fn introspect(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let result = (|| {
        let params = Params::parse(&headers, query.as_deref(), &body)?;
        let client = authenticate(&state, &headers, &params, peer)?;
        if !client.is_confidential() {
            return Err(OAuthError::InvalidClient { basic: false });
        }
        let token = params.require("token", "token is missing")?;
        if let Some(claims) = verify_access_token(&state, token) {
            let mut body = json!({"active": true, "token_type": "Bearer"});
            for k in [
                "scope",
                "client_id",
                "sub",
                "aud",
                "iss",
                "exp",
                "iat",
                "jti",
            ] {
                if let Some(v) = claims.get(k) {
                    body[k] = v.clone();
                }
            }
            if let Some(user) = claims
                .get("sub")
                .and_then(Value::as_str)
                .and_then(|s| state.user_by_sub(s))
            {
                body["username"] = json!(user.username);
            }
            return Ok(body);
        }
        if let Some(grant) = state.refresh.get_unspent(token)
            && grant.expires_at > state.clock.now()
            && !state.tokens.is_grant_revoked(&grant.grant_id)
        {
            return Ok(json!({
                "active": true,
                "token_type": "refresh_token",
                "client_id": grant.client_id,
                "sub": grant.sub,
                "scope": grant.scope.join(" "),
                "exp": grant.expires_at,
                "iss": state.issuer,
            }));
        }
        Ok(json!({"active": false}))
    })();
    match result {
        Ok(body) => no_store_json(body),
        Err(e) => e.into_response(),
    }
}
