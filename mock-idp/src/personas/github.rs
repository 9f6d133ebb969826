//! The GitHub persona: GitHub's OAuth apps (not its OpenID Connect for Actions), as "Authorizing OAuth apps"
//! documents them.
//!
//! - `GET /login/oauth/authorize?client_id&redirect_uri&state&scope`: the login page, then a redirect
//!   with `code` and `state`. The `redirect_uri` may be the callback URL, a subdirectory of it, a subdomain
//!   of its host, and for a loopback callback any port ([`redirect_allowed`]).
//! - `POST /login/oauth/access_token` with the code and the app's id and secret as HTTP Basic, as form
//!   fields or in a JSON body (one way per request): answered **form-encoded**
//!   (`access_token=…&scope=…&token_type=bearer`) unless `Accept` asks for JSON or XML. Errors too are
//!   HTTP 200: `error=bad_verification_code`, `incorrect_client_credentials`, `redirect_uri_mismatch`,
//!   `bad_refresh_token` ([`GithubError`]). Access tokens are opaque `gho_` and 36 letters and digits,
//!   and do not expire by time; a client with its own `access_token_ttl` gets GitHub's expiring user
//!   tokens instead (`ghu_…`, `expires_in`, a `ghr_…` refresh token for `grant_type=refresh_token`).
//! - `GET /user` with `Authorization: Bearer` (or `token`): `{id, login, name, avatar_url, email, …}`
//!   and `X-OAuth-Scopes`; `GET /user/emails` (scope `user:email` or `user`).
//! - `DELETE /applications/{client_id}/token` with the app's id and secret as HTTP Basic and
//!   `{"access_token": "…"}`: revokes the token (204), as GitHub's REST API does.

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
    ClientError, CodeError, PersonaAuthorize, Refreshed, authenticate, github_id, github_login,
    redeem_code, refresh_tokens, token_faults, token_owner, user_api_faults,
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
        .route(
            "/applications/{client_id}/token",
            axum::routing::delete(revoke_token),
        )
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
    /// The refresh token is unknown, expired, used or another app's.
    BadRefreshToken,
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
            GithubError::BadRefreshToken => "bad_refresh_token",
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
            GithubError::BadRefreshToken => "The refresh token passed is incorrect or expired.",
            GithubError::RateLimited => {
                "Too many failed authentications from this address. Retry in a minute."
            }
        }
    }

    /// HTTP 200 with the error as a form, JSON or XML, as the request's `Accept` asked.
    pub fn respond(self, format: Format) -> Response {
        let body = json!({
            "error": self.code(),
            "error_description": self.description(),
            "error_uri": DOCS,
        });
        let mut response = render(body, format);
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

/// How GitHub answers a code that gives no tokens: `redirect_uri_mismatch`, else `bad_verification_code`.
fn code_error(e: CodeError) -> GithubError {
    match e {
        CodeError::RedirectMismatch => GithubError::RedirectUriMismatch,
        _ => GithubError::BadVerificationCode,
    }
}

/// How the token endpoint answers: form-encoded unless `Accept` asks for JSON or XML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `application/x-www-form-urlencoded` (GitHub's default).
    Form,
    /// `Accept: application/json`.
    Json,
    /// `Accept: application/xml`: `<OAuth><access_token>…</access_token>…</OAuth>`.
    Xml,
}

impl Format {
    fn of(headers: &HeaderMap) -> Format {
        let accept = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if accept.contains("application/json") {
            Format::Json
        } else if accept.contains("application/xml") {
            Format::Xml
        } else {
            Format::Form
        }
    }
}

/// A flat JSON object's members as (name, text) pairs.
fn members(body: &Value) -> Vec<(String, String)> {
    match body {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k.clone(), s.clone()),
                other => (k.clone(), other.to_string()),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `text` escaped for XML character data.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A flat JSON object as JSON, form-encoded (GitHub's default) or XML.
fn render(body: Value, format: Format) -> Response {
    let (content_type, text) = match format {
        Format::Json => ("application/json; charset=utf-8", body.to_string()),
        Format::Form => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in members(&body) {
                form.append_pair(&k, &v);
            }
            (
                "application/x-www-form-urlencoded; charset=utf-8",
                form.finish(),
            )
        }
        Format::Xml => {
            let mut xml = String::from("<OAuth>");
            for (k, v) in members(&body) {
                xml.push_str(&format!("<{k}>{}</{k}>", xml_text(&v)));
            }
            xml.push_str("</OAuth>");
            ("application/xml; charset=utf-8", xml)
        }
    };
    let mut response = (StatusCode::OK, text).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether GitHub sends the browser to `sent` for an app whose callback URL is `registered`
/// ("Authorizing OAuth apps": Redirect URLs, Loopback redirect URLs): the same scheme; the same host or a
/// subdomain of it; the same port, or any port when the callback's host is a loopback address; the
/// callback's path or a subdirectory of it. No user information.
pub fn redirect_allowed(registered: &str, sent: &str) -> bool {
    if registered == sent {
        return true;
    }
    let (Ok(r), Ok(s)) = (url::Url::parse(registered), url::Url::parse(sent)) else {
        return false;
    };
    let (Some(rh), Some(sh)) = (r.host(), s.host()) else {
        return false;
    };
    let loopback = match &rh {
        url::Host::Domain(d) => *d == "localhost",
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    let same_host = rh == sh;
    let subdomain = matches!((&rh, &sh), (url::Host::Domain(r), url::Host::Domain(s))
        if !loopback && s.ends_with(&format!(".{r}")));
    let port = s.port_or_known_default() == r.port_or_known_default() || (loopback && same_host);
    let base = r.path().trim_end_matches('/');
    let path = s.path() == r.path() || s.path().starts_with(&format!("{base}/"));
    r.scheme() == s.scheme()
        && (same_host || subdomain)
        && port
        && path
        && s.username().is_empty()
        && s.password().is_none()
        && s.fragment().is_none()
}

/// `GET /login/oauth/authorize`: scopes are space- or comma-separated; the redirect URI as GitHub checks
/// it ([`redirect_allowed`]).
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

/// The token request's parameters: a JSON object (`Content-Type: application/json`, as GitHub's own SDK
/// sends) or a form. A body that is neither yields nothing, so the request fails as one without them.
fn body_params(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return url::form_urlencoded::parse(body).into_owned().collect();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k, s)),
                Value::Number(n) => Some((k, n.to_string())),
                _ => None,
            })
            .collect(),
        _ => HashMap::new(),
    }
}

/// The app's id and secret, sent one way: HTTP Basic (RFC 6749 §2.3.1, which Authlib, requests-oauthlib
/// and simple-oauth2 use), or `client_id` and `client_secret` in the body. Both at once, a malformed
/// header, or a missing half is `incorrect_client_credentials`.
fn credentials(
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Result<(String, String), GithubError> {
    let get = |k: &str| params.get(k).filter(|v| !v.is_empty());
    match crate::grants::client_auth::basic_credentials(headers) {
        Some(Ok((id, secret))) => {
            let body_id_differs = get("client_id").is_some_and(|b| *b != id);
            if get("client_secret").is_some() || body_id_differs {
                return Err(GithubError::IncorrectClientCredentials);
            }
            Ok((id, secret))
        }
        Some(Err(())) => Err(GithubError::IncorrectClientCredentials),
        None => match (get("client_id"), get("client_secret")) {
            (Some(id), Some(secret)) => Ok((id.clone(), secret.clone())),
            _ => Err(GithubError::IncorrectClientCredentials),
        },
    }
}

/// The answer to a successful grant: the token, its scopes (comma-separated, as GitHub lists them) and
/// `bearer`; for expiring tokens also their lifetimes and the refresh token.
fn token_body(issued: &crate::tokens::Issued, scope: &[String], expiring: bool) -> Value {
    let mut body = json!({
        "access_token": issued.body["access_token"],
        "scope": scope.join(","),
        "token_type": "bearer",
    });
    if expiring {
        body["expires_in"] = issued.body["expires_in"].clone();
        body["refresh_token"] = issued.body["refresh_token"].clone();
        body["refresh_token_expires_in"] = json!(super::Persona::Github.refresh_ttl());
    }
    body
}

/// `POST /login/oauth/access_token`: a code (or, for expiring tokens, a refresh token) for tokens.
pub async fn access_token(
    State(state): State<AppState>,
    peer: PeerAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state
        .token_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let format = Format::of(&headers);
    let params = body_params(&headers, &body);
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let step = || -> Result<_, GithubError> {
        let (id, secret) = credentials(&headers, &params)?;
        let client = authenticate(&state, &id, &secret, peer).map_err(|e| match e {
            ClientError::UnknownClient | ClientError::WrongSecret => {
                GithubError::IncorrectClientCredentials
            }
            ClientError::Throttled => GithubError::RateLimited,
        })?;
        if get("grant_type") == Some("refresh_token") {
            return refresh(&state, &client, get("refresh_token"));
        }
        let code = get("code").ok_or(GithubError::BadVerificationCode)?;
        let redeemed =
            redeem_code(&state, &client, code, get("redirect_uri")).map_err(code_error)?;
        let expiring = client.config.access_token_ttl.is_some();
        let body = token_body(&redeemed.issued, &redeemed.grant.scope, expiring);
        Ok((client, redeemed.user, body))
    };
    let (client, user, body) = match step() {
        Ok(ok) => ok,
        Err(e) => return e.respond(format),
    };
    let client_id = client.config.client_id.as_str();
    let faults = token_faults(&state, client_id, &user.username);
    let mut response = spoil::persona_token(
        &faults,
        body,
        |b| render(b, format),
        || GithubError::BadVerificationCode.respond(format),
    )
    .await;
    Note {
        username: Some(user.username.clone()),
        client_id: Some(client_id.to_owned()),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// `grant_type=refresh_token` for an app with expiring tokens: the refresh token is spent and replaced
/// (a replay revokes the tokens of its family, as at the OpenID token endpoint).
fn refresh(
    state: &AppState,
    client: &crate::state::RegisteredClient,
    token: Option<&str>,
) -> Result<
    (
        crate::state::RegisteredClient,
        crate::model::UserConfig,
        Value,
    ),
    GithubError,
> {
    let token = token.ok_or(GithubError::BadRefreshToken)?;
    let Refreshed {
        user,
        scope,
        issued,
    } = refresh_tokens(state, client, token).map_err(|_| GithubError::BadRefreshToken)?;
    let body = token_body(&issued, &scope, true);
    Ok((client.clone(), user, body))
}

/// `DELETE /applications/{client_id}/token`: the app (HTTP Basic with its id and secret) revokes one of its
/// tokens. 204 when revoked; 404 for a token that is not a live one of this app; 401 for wrong
/// credentials, under the same throttle as the token endpoint.
pub async fn revoke_token(
    State(state): State<AppState>,
    axum::extract::Path(client_id): axum::extract::Path<String>,
    peer: PeerAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(Ok((id, secret))) = crate::grants::client_auth::basic_credentials(&headers) else {
        return bad_credentials();
    };
    if id != client_id || authenticate(&state, &id, &secret, peer).is_err() {
        return bad_credentials();
    }
    let params = body_params(&headers, &body);
    let revoked = params
        .get("access_token")
        .map(|token| crate::tokens::revoke_opaque(&state, &client_id, token));
    match revoked {
        Some(Ok(true)) => StatusCode::NO_CONTENT.into_response(),
        Some(Err(e)) => e.into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})),
        )
            .into_response(),
    }
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
    scope_headers(&mut response, &owner.scope, "");
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
    let mut response = Json(Value::Array(list)).into_response();
    scope_headers(&mut response, &owner.scope, "user, user:email");
    response
}

/// `X-OAuth-Scopes` (what the token was granted) and `X-Accepted-OAuth-Scopes` (what the endpoint
/// checks for), comma-separated as GitHub sends them ("Scopes for OAuth apps").
fn scope_headers(response: &mut Response, granted: &[String], accepted: &'static str) {
    if let Ok(v) = HeaderValue::from_str(&granted.join(", ")) {
        response.headers_mut().insert("x-oauth-scopes", v);
    }
    response.headers_mut().insert(
        "x-accepted-oauth-scopes",
        HeaderValue::from_static(accepted),
    );
}
