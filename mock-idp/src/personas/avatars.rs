//! Generated avatars: `GET /avatars/{username}.svg` is a small SVG with the user's initials on a colour
//! taken from a hash of the username, so the built-in users' pictures work without internet access.

use axum::{
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::state::AppState;

/// `GET /avatars/{file}`: only `NAME.svg` of a known user; anything else is 404. The path is read as a
/// map: under a tenant, the dispatcher's own parameters (`tenant`, `rest`) are in it too.
pub async fn avatar(
    State(state): State<AppState>,
    Path(params): Path<std::collections::HashMap<String, String>>,
) -> Response {
    let Some(user) = params
        .get("file")
        .and_then(|f| f.strip_suffix(".svg"))
        .and_then(|username| state.user(username))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let label = user.name.as_deref().unwrap_or(&user.username);
    let mut response = (StatusCode::OK, svg(&user.username, label)).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    // An SVG opened as a document could run script; this one has none and may have none.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The initials (ASCII letters and digits only, so nothing in the SVG needs escaping: written by hand
/// rather than through the template engine, whose escaping is for HTML) and a colour from the username.
pub fn svg(username: &str, label: &str) -> String {
    let initials: String = label
        .split_whitespace()
        .filter_map(|w| w.chars().find(char::is_ascii_alphanumeric))
        .take(2)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let initials = if initials.is_empty() {
        "?".to_owned()
    } else {
        initials
    };
    let digest = crate::keys::sha256(username.as_bytes());
    let hue = u16::from_be_bytes([digest[0], digest[1]]) % 360;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"64\" height=\"64\" viewBox=\"0 0 64 64\">\
         <circle cx=\"32\" cy=\"32\" r=\"32\" fill=\"hsl({hue},55%,45%)\"/>\
         <text x=\"32\" y=\"41\" font-family=\"sans-serif\" font-size=\"26\" fill=\"#fff\" \
         text-anchor=\"middle\">{initials}</text></svg>"
    )
}
