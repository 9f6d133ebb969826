//! The frontend without a build step: two HTML pages and one script, compiled into the binary.

use axum::http::header;
use axum::response::{Html, IntoResponse};

/// `GET /`: a login button, or the profile and avatar once logged in, and logout.
pub async fn index() -> Html<&'static str> {
    Html(include_str!("../../static/index.html"))
}

/// `GET /callback`: the redirect URI; its script posts code, state and iss to `/api/auth/callback`.
pub async fn callback() -> Html<&'static str> {
    Html(include_str!("../../static/callback.html"))
}

/// `GET /app.js`: the script of both pages (a separate file so the CSP can forbid inline script).
pub async fn script() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../static/app.js"),
    )
}

/// `GET /health`: liveness.
pub async fn health() -> &'static str {
    "ok"
}
