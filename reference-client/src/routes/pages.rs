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

/// The authorization response as the provider's form_post page POSTs it (Form Post Response Mode §2).
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct PostedResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_description: Option<String>,
    /// Sign in with Apple's `user` field (first authorization only).
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
}

/// `POST /callback` (only with `response_mode = "form_post"`): the callback page with the posted response
/// in its `data-response` attribute, where its script reads it instead of the query. Nothing is checked
/// here: the script hands the response to `/api/auth/callback` same-origin, so the `SameSite=Lax`
/// transaction cookie goes with it and every check of a query callback applies unchanged.
pub async fn callback_posted(axum::Form(posted): axum::Form<PostedResponse>) -> Html<String> {
    let json = serde_json::to_string(&posted).unwrap_or_else(|_| "{}".to_owned());
    let page = include_str!("../../static/callback.html").replacen(
        "data-page=\"callback\"",
        &format!(
            "data-page=\"callback\" data-response=\"{}\"",
            escape_attribute(&json)
        ),
        1,
    );
    Html(page)
}

/// `text` safe inside a double-quoted HTML attribute.
fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_posted_response_lands_in_the_page_escaped() {
        let posted = PostedResponse {
            code: Some("c0de".into()),
            state: Some("\"><script>alert(1)</script>&".into()),
            iss: None,
            error: None,
            error_description: None,
            user: Some(r#"{"name":{"firstName":"<b>"}}"#.into()),
        };
        let Html(page) = callback_posted(axum::Form(posted)).await;
        // Apple's `user` field goes along, escaped.
        assert!(
            page.contains("&quot;user&quot;:&quot;{\\&quot;name\\&quot;"),
            "{page}"
        );
        assert!(!page.contains("<b>"), "{page}");
        assert!(
            page.contains("data-response=\"{&quot;code&quot;:&quot;c0de&quot;"),
            "{page}"
        );
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(
            page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&amp;"),
            "{page}"
        );
        assert!(!page.contains("null"), "absent fields are left out: {page}");
    }
}
