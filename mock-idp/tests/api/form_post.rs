//! `response_mode=form_post` (OAuth 2.0 Form Post Response Mode §2) and `prompt=none` (Core §3.1.2.1):
//! AZ-FORM-POST.

use crate::helpers::*;
use reqwest::StatusCode;

/// What a browser reads from the form_post page: the form's action and its hidden fields, unescaped.
struct Posted {
    action: String,
    fields: Vec<(String, String)>,
}

impl Posted {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The attribute `name="…"` values after each `marker` in `html`.
fn attribute_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(unescape(&html[start..end]))
}

fn posted(reply: &Reply) -> Posted {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert!(
        reply.header("location").is_none(),
        "form_post never redirects"
    );
    assert!(
        reply
            .header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let body = &reply.body;
    assert!(
        body.contains("<form method=\"post\""),
        "a POST form: {body}"
    );
    let action = attribute_after(body, "action=\"").expect("the form's action");
    let mut fields = Vec::new();
    let mut rest = body.as_str();
    while let Some(at) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[at..];
        let name = attribute_after(rest, "name=\"").expect("name");
        let value = attribute_after(rest, "value=\"").expect("value");
        fields.push((name, value));
        rest = &rest[1..];
    }
    Posted { action, fields }
}

fn with<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut p = vec![
        ("client_id", WEB),
        ("redirect_uri", WEB_REDIRECT),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", "st&\"<1>"),
        ("response_mode", "form_post"),
    ];
    for (k, v) in extra {
        p.retain(|(pk, _)| pk != k);
        p.push((k, v));
    }
    p
}

// AZ-FORM-POST
#[tokio::test]
async fn form_post_posts_code_state_and_iss_to_the_exact_redirect_uri_and_the_code_works() {
    let t = spawn_idp().await;
    t.idp.next_login("alice");
    let reply = t.authorize(&with(&[])).await;
    let form = posted(&reply);
    assert_eq!(form.action, WEB_REDIRECT);
    assert_eq!(form.get("state"), Some("st&\"<1>"), "state byte-exact");
    assert_eq!(form.get("iss"), Some(t.idp.issuer()));
    let code = form.get("code").expect("a code").to_owned();
    assert!(
        !reply.body.contains(&format!("?code={code}")),
        "the code is in no URL"
    );
    // The page runs one script, allowed by its hash and nothing else; it is not cached or framed.
    let csp = reply.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains("script-src 'sha256-"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.body.contains("document.forms[0].submit()"));
    let tokens = t.exchange(&code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{tokens:?}");
}

// AZ-FORM-POST
#[tokio::test]
async fn a_login_on_the_page_answers_by_form_post_too() {
    let t = spawn_idp().await;
    let page = t.authorize(&with(&[])).await;
    assert_eq!(page.status, StatusCode::OK);
    let request_id = hidden(&page.body, "request_id");
    let csrf = hidden(&page.body, "csrf");
    let reply = t
        .sign_in(&request_id, &csrf, "alice", "alice-password")
        .await;
    let form = posted(&reply);
    assert_eq!(form.action, WEB_REDIRECT);
    assert!(form.get("code").is_some());
    // A denial is posted the same way.
    let page = t.authorize(&with(&[])).await;
    let request_id = hidden(&page.body, "request_id");
    let csrf = hidden(&page.body, "csrf");
    let reply = t
        .post_login(&[
            ("request_id", &request_id),
            ("csrf", &csrf),
            ("action", "deny"),
        ])
        .await;
    let form = posted(&reply);
    assert_eq!(form.get("error"), Some("access_denied"));
    assert_eq!(form.get("state"), Some("st&\"<1>"));
    assert_eq!(form.get("iss"), Some(t.idp.issuer()));
    assert_eq!(form.get("code"), None);
}

// AZ-FORM-POST
#[tokio::test]
async fn an_error_after_the_redirect_uri_is_trusted_is_posted_and_an_unknown_mode_is_refused_by_query()
 {
    let t = spawn_idp().await;
    let form = posted(&t.authorize(&with(&[("scope", "openid nonsense")])).await);
    assert_eq!(form.get("error"), Some("invalid_scope"));
    assert_eq!(form.get("state"), Some("st&\"<1>"));
    // An untrusted redirect URI is still a page of the provider's own, whatever the mode.
    let r = t
        .authorize(&with(&[("redirect_uri", "http://127.0.0.1:3000/other")]))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.body.contains("<form method=\"post\""));
    for mode in ["fragment", "jwt", ""] {
        let r = t.authorize(&with(&[("response_mode", mode)])).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{mode}");
        assert_eq!(
            param(&r.location(), "error").as_deref(),
            Some("invalid_request")
        );
    }
    let r = t.authorize(&with(&[("response_mode", "query")])).await;
    assert_eq!(r.status, StatusCode::OK, "query: the login page");
}

// AZ-FORM-POST
#[tokio::test]
async fn discovery_lists_form_post_beside_query() {
    let t = spawn_idp().await;
    let doc: serde_json::Value = t
        .http
        .get(t.idp.url("/.well-known/openid-configuration"))
        .send()
        .await
        .expect("discovery")
        .json()
        .await
        .expect("json");
    assert_eq!(
        doc["response_modes_supported"],
        serde_json::json!(["query", "form_post"])
    );
}

// AZ-FORM-POST (prompt=none, by the requested mode)
#[tokio::test]
async fn prompt_none_is_login_required_when_the_user_would_have_to_log_in() {
    let t = spawn_idp().await;
    let form = posted(&t.authorize(&with(&[("prompt", "none")])).await);
    assert_eq!(form.get("error"), Some("login_required"));
    assert_eq!(form.get("iss"), Some(t.idp.issuer()));
    let r = t
        .authorize(&with(&[("prompt", "none"), ("response_mode", "query")]))
        .await;
    assert_eq!(
        param(&r.location(), "error").as_deref(),
        Some("login_required")
    );
    // A login the provider completes without a page (here, the next login arranged) is no hindrance,
    // unless max_age=0 asks for the user to authenticate again.
    t.idp.next_login("alice");
    let form = posted(&t.authorize(&with(&[("prompt", "none")])).await);
    assert!(form.get("code").is_some(), "{:?}", form.fields);
    t.idp.next_login("alice");
    let form = posted(
        &t.authorize(&with(&[("prompt", "none"), ("max_age", "0")]))
            .await,
    );
    assert_eq!(form.get("error"), Some("login_required"));
    let form = posted(&t.authorize(&with(&[("prompt", "none login")])).await);
    assert_eq!(form.get("error"), Some("invalid_request"));
}
