//! The token endpoint (RFC 6749 §3.2). The request is parsed once, the client authenticated once, then one
//! `match` on `grant_type` hands it to the module of that grant.

mod authorization_code;
pub(crate) mod client_auth;
mod client_credentials;
mod refresh_token;

pub use client_auth::{PeerAddr, authenticate};

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::{
    error::OAuthError,
    faults::{Context as FaultContext, Point, spoil},
    requests::Note,
    state::AppState,
    tokens::Issued,
};

/// Form parameters of a request, each present at most once (RFC 6749 §3.1, §3.2: "parameters MUST NOT be
/// included more than once").
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` request: the content type, the absence of credentials in
    /// the URL, and that no parameter repeats.
    pub fn parse(
        headers: &HeaderMap,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Params, OAuthError> {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(OAuthError::InvalidRequest(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        // RFC 6749 §2.3.1: secrets must not travel in the request URI.
        if let Some(q) = query
            && url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "client_secret")
        {
            return Err(OAuthError::InvalidRequest(
                "client_secret must not be sent in the URL",
            ));
        }
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            if map.insert(k.into_owned(), v.into_owned()).is_some() {
                return Err(OAuthError::InvalidRequest("a parameter is repeated"));
            }
        }
        Ok(Params(map))
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required parameter.
    pub fn require(&self, name: &str, missing: &'static str) -> Result<&str, OAuthError> {
        self.get(name).ok_or(OAuthError::InvalidRequest(missing))
    }
}

pub use crate::error::no_store_json;

/// `POST /token`.
pub async fn token(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    state
        .token_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    match token_response(&state, &headers, query.as_deref(), &body, peer) {
        Ok(issued) => {
            // The one point where token-endpoint faults apply: to an otherwise successful answer.
            let faults = state.faults.take(
                Point::Token,
                FaultContext {
                    client_id: Some(&issued.client_id),
                    username: issued.username.as_deref(),
                },
            );
            let issued_access_token = issued
                .body
                .get("access_token")
                .and_then(serde_json::Value::as_str)
                .map(crate::requests::fingerprint);
            let mut response = spoil::token(&faults, issued.body).await;
            Note {
                issued_access_token,
                username: issued.username,
                client_id: Some(issued.client_id),
                id_token_kid: issued.id_token_kid,
                faults: issued.faults,
                ..Note::default()
            }
            .attach(&mut response);
            response
        }
        Err(e) => {
            let code = e.code();
            let mut response = match state.config.persona {
                // Apple's error body is `{"error"}` alone; only the apple persona reaches this.
                crate::model::Persona::Apple => crate::quirks::apple::token_error(e),
                _ => e.into_response(),
            };
            Note {
                error: Some(code.to_owned()),
                ..Note::default()
            }
            .attach(&mut response);
            response
        }
    }
}

fn token_response(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
    peer: PeerAddr,
) -> Result<Issued, OAuthError> {
    let params = Params::parse(headers, query, body)?;
    // Authenticate before looking at the grant, so a foreign client can neither spend nor revoke a code
    // (RFC 6749 §4.1.3).
    let client = authenticate(state, headers, &params, peer)?;
    let grant_type = params.require("grant_type", "grant_type is missing")?;
    let allowed = |g: crate::model::GrantType| client.config.grant_types.contains(&g);
    use crate::model::GrantType as G;
    match grant_type {
        "authorization_code" if allowed(G::AuthorizationCode) => {
            authorization_code::exchange(state, &client, &params)
        }
        "refresh_token" if allowed(G::RefreshToken) => {
            refresh_token::exchange(state, &client, &params)
        }
        "client_credentials" if allowed(G::ClientCredentials) => {
            client_credentials::exchange(state, &client, &params)
        }
        "authorization_code" | "refresh_token" | "client_credentials" => {
            Err(OAuthError::UnauthorizedClient)
        }
        _ => Err(OAuthError::UnsupportedGrantType),
    }
}

/// `GET /token` and other methods: the token endpoint takes POST only (RFC 6749 §3.2).
pub async fn token_wrong_method() -> Response {
    let mut response =
        OAuthError::InvalidRequest("the token endpoint accepts POST only").into_response();
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}
