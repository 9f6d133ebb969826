//! The GitHub persona: GitHub's OAuth apps (not its OpenID Connect for Actions).
//!
//! - `GET /login/oauth/authorize?client_id&redirect_uri&state&scope`: the login page, then a redirect
//!   with `code` and `state`.
//! - `POST /login/oauth/access_token` with `client_id`, `client_secret`, `code` (and `redirect_uri`) as
//!   form parameters: answered **form-encoded** (`access_token=…&scope=…&token_type=bearer`) unless the
//!   request says `Accept: application/json`. Errors too are HTTP 200: `error=bad_verification_code`,
//!   `incorrect_client_credentials`, `redirect_uri_mismatch` ([`GithubError`]).
//! - `GET /user` with `Authorization: Bearer` (or `token`): `{id, login, name, avatar_url, email, …}`;
//!   `GET /user/emails` (scope `user:email` or `user`).

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

use super::{
    ClientError, CodeError, PersonaAuthorize, authenticate, github_id, github_login, issue_tokens,
    redeem_code, token_faults, token_owner, user_api_faults,
};
use crate::{
    conn::PeerAddr, faults::spoil, requests::Note, state::AppState, tokens::published_url,
};

/// Where GitHub's errors point for help.
const DOCS: &str = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors";

/// The GitHub persona's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/oauth/authorize", get(authorize))
        .route("/login/oauth/access_token", post(access_token))
        .route("/user", get(user))
        .route("/user/emails", get(emails))
}

/// The token endpoint's errors, answered with HTTP 200 as GitHub does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GithubError {
    /// The code is unknown, expired, used or another app's.
    BadVerificationCode,
    /// The client id or secret is wrong or missing.
    IncorrectClientCredentials,
    /// `redirect_uri` differs from the authorization request's.
    RedirectUriMismatch,
    /// Too many failed authentications of this app from this address in the last minute: 429, as GitHub
    /// answers a rate limit, with `Retry-After` (the throttle of the OpenID token endpoint).
    RateLimited,
}

impl GithubError {
    /// The `error` value.
    pub fn code(self) -> &'static str {
        match self {
            GithubError::BadVerificationCode => "bad_verification_code",
            GithubError::IncorrectClientCredentials => "incorrect_client_credentials",
            GithubError::RedirectUriMismatch => "redirect_uri_mismatch",
            GithubError::RateLimited => "rate_limited",
        }
    }

    /// The `error_description`, as GitHub words it.
    pub fn description(self) -> &'static str {
        match self {
            GithubError::BadVerificationCode => "The code passed is incorrect or expired.",
            GithubError::IncorrectClientCredentials => {
                "The client_id and/or client_secret passed are incorrect."
            }
            GithubError::RedirectUriMismatch => {
                "The redirect_uri MUST match the registered callback URL for this application."
            }
            GithubError::RateLimited => {
                "Too many failed authentications from this address. Retry in a minute."
            }
        }
    }

    /// HTTP 200 with the error as JSON or as a form, as the request's `Accept` asked.
    pub fn respond(self, json: bool) -> Response {
        let body = json!({
            "error": self.code(),
            "error_description": self.description(),
            "error_uri": DOCS,
        });
        let mut response = render(body, json);
        if self == GithubError::RateLimited {
            *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        Note {
            error: Some(self.code().to_owned()),
            ..Note::default()
        }
        .attach(&mut response);
        response
    }
}

/// A flat JSON object as JSON, or form-encoded (GitHub's default).
fn render(body: Value, json: bool) -> Response {
    let mut response = if json {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        if let Value::Object(map) = &body {
            for (k, v) in map {
                match v {
                    Value::String(s) => form.append_pair(k, s),
                    other => form.append_pair(k, &other.to_string()),
                };
            }
        }
        let mut r = (StatusCode::OK, form.finish()).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        r
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// `GET /login/oauth/authorize`: scopes are space- or comma-separated; the client and redirect URI are
/// checked exactly (GitHub allows sub-paths of the callback; this mock is stricter).
pub async fn authorize(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
    peer: PeerAddr,
    headers: HeaderMap,
) -> Response {
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let scope = get("scope")
        .unwrap_or_default()
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    super::authorize(
        &state,
        PersonaAuthorize {
            client_id: get("client_id"),
            redirect_uri: get("redirect_uri"),
            state: get("state"),
            scope,
        },
        peer,
        &headers,
    )
}

/// `POST /login/oauth/access_token`: credentials and code as form parameters.
pub async fn access_token(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state
        .token_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let json = wants_json(&headers);
    let params: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let step = || -> Result<_, GithubError> {
        let (Some(id), Some(secret)) = (get("client_id"), get("client_secret")) else {
            return Err(GithubError::IncorrectClientCredentials);
        };
        let client = authenticate(&state, id, secret, peer).map_err(|e| match e {
            ClientError::UnknownClient | ClientError::WrongSecret => {
                GithubError::IncorrectClientCredentials
            }
            ClientError::Throttled => GithubError::RateLimited,
        })?;
        let code = get("code").ok_or(GithubError::BadVerificationCode)?;
        let redeemed =
            redeem_code(&state, &client, code, get("redirect_uri")).map_err(|e| match e {
                CodeError::RedirectMismatch => GithubError::RedirectUriMismatch,
                _ => GithubError::BadVerificationCode,
            })?;
        let issued = issue_tokens(&state, &client, &redeemed, false)
            .map_err(|_| GithubError::BadVerificationCode)?;
        Ok((client, redeemed, issued))
    };
    let (client, redeemed, issued) = match step() {
        Ok(ok) => ok,
        Err(e) => return e.respond(json),
    };
    let client_id = client.config.client_id.as_str();
    let body = json!({
        "access_token": issued.body["access_token"],
        // GitHub lists the granted scopes comma-separated and says `bearer` in lower case.
        "scope": redeemed.grant.scope.join(","),
        "token_type": "bearer",
    });
    let faults = token_faults(&state, client_id, &redeemed.user.username);
    let mut response = spoil::persona_token(
        &faults,
        body,
        |b| render(b, json),
        || GithubError::BadVerificationCode.respond(json),
    )
    .await;
    Note {
        username: Some(redeemed.user.username.clone()),
        client_id: Some(client_id.to_owned()),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// GitHub's 401.
fn bad_credentials() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})),
    )
        .into_response();
    Note {
        error: Some("bad_credentials".into()),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// The owner of the `Authorization: Bearer|token` header's token.
fn owner(state: &AppState, headers: &HeaderMap) -> Option<super::TokenOwner> {
    let (scheme, token) = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .split_once(' ')?;
    if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")) {
        return None;
    }
    token_owner(state, token.trim())
}

/// `GET /user`: the numeric `id` is the identity; `login` can be renamed.
pub async fn user(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(owner) = owner(&state, &headers) else {
        return bad_credentials();
    };
    let u = &owner.user;
    let login = github_login(u);
    let mut body = Map::new();
    body.insert("login".into(), json!(login));
    body.insert("id".into(), json!(github_id(u)));
    body.insert("node_id".into(), json!(format!("U_{}", github_id(u))));
    body.insert(
        "avatar_url".into(),
        json!(
            u.picture
                .as_deref()
                .map(|p| published_url(&state.issuer, p))
        ),
    );
    body.insert(
        "html_url".into(),
        json!(format!("{}/{login}", state.issuer)),
    );
    body.insert("type".into(), json!("User"));
    body.insert("name".into(), json!(u.name));
    body.insert("email".into(), json!(u.email));
    let faults = user_api_faults(&state, &owner.client_id, &u.username);
    let mut response = spoil::user_api(&faults, body, "id").await;
    Note {
        username: Some(u.username.clone()),
        client_id: Some(owner.client_id.clone()),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// `GET /user/emails`: needs scope `user:email` or `user` (404 otherwise, as GitHub answers).
pub async fn emails(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(owner) = owner(&state, &headers) else {
        return bad_credentials();
    };
    if !owner.scope.iter().any(|s| s == "user:email" || s == "user") {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})),
        )
            .into_response();
    }
    let u = &owner.user;
    let list: Vec<Value> = u
        .email
        .iter()
        .map(|e| {
            json!({"email": e, "primary": true, "verified": u.email_verified.unwrap_or(false), "visibility": "public"})
        })
        .collect();
    Json(Value::Array(list)).into_response()
}
