//! The login page and its form post. The form is bound to the browser by a cookie and to the page by a
//! hidden token (CSRF, RFC 6749 §10.12); the page cannot be framed (§10.13).

use axum::{
    Form,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::store::PENDING_TTL;

use super::{AuthRequest, Pending, error_page, issue_code, page_headers, redirect_error};
use crate::{
    conn::PeerAddr,
    error::OAuthError,
    state::{AppState, random_token, read},
};

/// The cookie naming this browser to the login form.
pub const BROWSER_COOKIE: &str = "mockidp_browser";
/// Where the form posts.
pub const LOGIN_PATH: &str = "/authorize/login";
/// The most bytes of request parameters a login page keeps (state, nonce, login_hint, scopes, redirect
/// URI…). A page is state any visitor creates, so its size is bounded as well as its number: with the
/// default `[limits]`, 5,000 pages stay under about 25 MiB, one address's 1,000 under 5 MiB.
pub const MAX_PENDING_BYTES: usize = 4096;
/// The most users the login page offers as one-click buttons.
pub const LOGIN_PAGE_USERS: usize = 50;

fn ct_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Renders the login page for a checked request, creating the pending request it posts back to.
pub fn show(
    state: &AppState,
    request: AuthRequest,
    peer: PeerAddr,
    headers: &HeaderMap,
) -> Response {
    let jar = CookieJar::from_headers(headers);
    let (browser, new_cookie) = match jar.get(BROWSER_COOKIE) {
        Some(c) if c.value().len() >= 22 => (c.value().to_owned(), false),
        _ => (random_token(32), true),
    };
    let r = &request;
    let bytes = [&r.redirect_uri_param, &r.state, &r.nonce, &r.login_hint]
        .iter()
        .map(|v| v.as_ref().map_or(0, String::len))
        .sum::<usize>()
        + r.client_id.len()
        + r.redirect_uri.len()
        + r.scope.iter().map(|s| s.len() + 1).sum::<usize>();
    if bytes > MAX_PENDING_BYTES {
        return redirect_error(
            state,
            &r.redirect_uri,
            r.response_mode,
            r.state.as_deref(),
            &OAuthError::InvalidRequest("the request's parameters are longer than 4096 bytes"),
        );
    }
    let now = state.clock.now();
    let id = random_token(24);
    let pending = Pending {
        request,
        browser: browser.clone(),
        csrf: random_token(24),
        expires_at: now + PENDING_TTL,
    };
    if let Err(full) = state
        .pending
        .insert(id.clone(), pending.clone(), peer.0, now)
    {
        let r = &pending.request;
        return redirect_error(
            state,
            &r.redirect_uri,
            r.response_mode,
            r.state.as_deref(),
            &full.into(),
        );
    }
    let mut response = render(state, &id, &pending, "", None, StatusCode::OK);
    if new_cookie {
        let cookie = Cookie::build((BROWSER_COOKIE, browser))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path(format!("{}/authorize", state.base_path))
            .build();
        if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

fn render(
    state: &AppState,
    id: &str,
    pending: &Pending,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    // The one-click list is for a handful of test users: with thousands configured the page shows the first
    // ones in username order, without copying the rest, and the form still takes any username.
    let (users, more) = {
        let all = read(&state.users);
        let shown: Vec<_> = all
            .iter()
            .take(LOGIN_PAGE_USERS)
            .map(|u| minijinja::context! { username => &u.username, name => &u.name })
            .collect();
        let more = all.len().saturating_sub(shown.len());
        (shown, more)
    };
    let r = &pending.request;
    let body = state.templates.get_template("login.html").and_then(|t| {
        t.render(minijinja::context! {
            action => format!("{}{LOGIN_PATH}", state.base_path),
            request_id => id,
            csrf => &pending.csrf,
            client_id => &r.client_id,
            scope => r.scope.join(" "),
            state => &r.state,
            username,
            error,
            users,
            more,
        })
    });
    match body {
        Ok(body) => {
            let mut response = (status, Html(body)).into_response();
            page_headers(response.headers_mut());
            response
        }
        Err(e) => {
            tracing::error!("rendering login page: {e}");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The login form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    request_id: String,
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    /// `login`, `pick` (one-click test user) or `deny`.
    #[serde(default = "default_action")]
    action: String,
}

fn default_action() -> String {
    "login".to_owned()
}

/// `POST /authorize/login`: log in, pick a test user, or deny.
pub async fn login_submit(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let now = state.clock.now();
    let Some(pending) = state.pending.get(&form.request_id, now) else {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "This login page has expired or was already used. Start again from the application.",
        );
    };
    let browser_ok = jar
        .get(BROWSER_COOKIE)
        .is_some_and(|c| ct_eq(c.value(), &pending.browser));
    if !browser_ok || !ct_eq(&form.csrf, &pending.csrf) {
        return error_page(
            &state,
            StatusCode::FORBIDDEN,
            "invalid_request",
            "The form did not come from this browser's login page (CSRF check failed).",
        );
    }
    let request = &pending.request;
    let user = match form.action.as_str() {
        "deny" => {
            state.pending.take(&form.request_id, now);
            return redirect_error(
                &state,
                &request.redirect_uri,
                request.response_mode,
                request.state.as_deref(),
                &OAuthError::AccessDenied,
            );
        }
        "pick" => state.user(&form.username),
        "login" => state
            .user(&form.username)
            .filter(|u| ct_eq(u.password.expose(), &form.password)),
        _ => {
            return error_page(
                &state,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Unknown action.",
            );
        }
    };
    let Some(user) = user else {
        return render(
            &state,
            &form.request_id,
            &pending,
            &form.username,
            Some("Wrong username or password."),
            StatusCode::OK,
        );
    };
    // Single use: a second post of the same page finds nothing.
    if state.pending.take(&form.request_id, now).is_none() {
        return error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "This login page was already used.",
        );
    }
    issue_code(&state, request, &user)
}
