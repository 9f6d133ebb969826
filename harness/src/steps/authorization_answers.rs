//! What the provider's authorization endpoint answered: its redirects back, error pages and login page.

use anyhow::{anyhow, ensure};
use cucumber::then;

use crate::{
    browser::{HttpResponse, query_param},
    parameters::OAuthError,
    world::World,
};

fn last_authorization(w: &World) -> anyhow::Result<(Vec<(String, String)>, HttpResponse)> {
    w.authorization
        .clone()
        .ok_or_else(|| anyhow!("no authorization request was sent"))
}

fn sent(params: &[(String, String)], name: &str) -> Option<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// An error page: a 4xx, no redirect, no Location (RFC 6749 §4.1.2.1).
#[then(expr = "the provider shows an error page and redirects nowhere")]
async fn error_page(w: &mut World) -> anyhow::Result<()> {
    let (_, r) = last_authorization(w)?;
    ensure!(
        (400..500).contains(&r.status) && r.header("location").is_none(),
        "expected an error page, got {} Location {:?}",
        r.status,
        r.header("location")
    );
    Ok(())
}

/// A redirect carrying `error`, the exact `state`, `iss` and no code (RFC 6749 §4.1.2.1, RFC 9207).
#[then(expr = "the provider redirects back with error \"{oauth_error}\" and the same state")]
async fn redirect_with_error(w: &mut World, error: OAuthError) -> anyhow::Result<()> {
    let (params, r) = last_authorization(w)?;
    let back = r.location()?;
    exactly_to(&back, &params)?;
    ensure!(
        query_param(&back, "error") == Some(error.to_string()),
        "error in {back}"
    );
    ensure!(
        query_param(&back, "state") == sent(&params, "state"),
        "state in {back}"
    );
    ensure!(
        query_param(&back, "code").is_none(),
        "a code came with the error: {back}"
    );
    ensure!(
        query_param(&back, "iss").as_deref() == Some(w.provider.idp.issuer()),
        "iss in {back}"
    );
    let description = query_param(&back, "error_description").unwrap_or_default();
    ensure!(
        description
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
        "error_description outside the RFC 6749 §5.2 character set: {description:?}"
    );
    Ok(())
}

/// A login page would be shown; a headless login arranged first gives a code with the exact state.
#[then(expr = "the provider redirects back with a code, that exact state and its issuer")]
async fn redirect_with_code_exact_state(w: &mut World) -> anyhow::Result<()> {
    let back = headless_redirect(w).await?;
    let (params, _) = last_authorization(w)?;
    exactly_to(&back, &params)?;
    ensure!(query_param(&back, "code").is_some(), "no code in {back}");
    ensure!(
        query_param(&back, "state") == sent(&params, "state"),
        "state altered in {back}"
    );
    ensure!(
        query_param(&back, "iss").as_deref() == Some(w.provider.idp.issuer()),
        "iss in {back}"
    );
    Ok(())
}

/// As above for a request without state: no `state` comes back.
#[then(expr = "the provider redirects back with a code and no state")]
async fn redirect_with_code_no_state(w: &mut World) -> anyhow::Result<()> {
    let back = headless_redirect(w).await?;
    ensure!(query_param(&back, "code").is_some(), "no code in {back}");
    ensure!(
        query_param(&back, "state").is_none(),
        "a state came back: {back}"
    );
    Ok(())
}

/// The redirect goes to exactly the `redirect_uri` the request sent, plus a query (RFC 6749 §3.1.2): no
/// prefix match, no fragment.
fn exactly_to(back: &url::Url, params: &[(String, String)]) -> anyhow::Result<()> {
    let expected = sent(params, "redirect_uri").unwrap_or_default();
    let mut base = back.clone();
    base.set_query(None);
    base.set_fragment(None);
    ensure!(
        url::Url::parse(&expected).is_ok_and(|e| e == base) && back.fragment().is_none(),
        "redirected to {back}, not exactly to {expected}"
    );
    Ok(())
}

/// Re-sends the last authorization request with a headless login of `alice` arranged.
async fn headless_redirect(w: &mut World) -> anyhow::Result<url::Url> {
    let (mut params, _) = last_authorization(w)?;
    w.provider.arrange_headless_login("alice", &mut params)?;
    w.provider.authorize(&params).await?.location()
}

/// The form_post page an answer is: `(redirect URI with the posted fields as its query)`, after checking
/// that nothing of the response is in a URL (no `Location`, the form's action is the bare redirect URI).
fn posted_back(r: &HttpResponse, params: &[(String, String)]) -> anyhow::Result<url::Url> {
    ensure!(
        r.header("location").is_none(),
        "form_post answered with a redirect: {}",
        r.brief()
    );
    let form = crate::browser::auto_submitted_form(r)
        .ok_or_else(|| anyhow!("no auto-submitting POST form in the answer: {}", r.brief()))?;
    ensure!(
        form.action.query().is_none(),
        "the form posts to {}, with a query",
        form.action
    );
    let mut back = form.action.clone();
    back.query_pairs_mut().extend_pairs(form.pairs());
    exactly_to(&back, params)?;
    Ok(back)
}

/// AZ-FORM-POST: with a headless login arranged, the page POSTs a code, the exact state and `iss` to the
/// exact redirect URI.
#[then(expr = "the provider posts back a code, that exact state and its issuer")]
async fn posted_code(w: &mut World) -> anyhow::Result<()> {
    let (mut params, _) = last_authorization(w)?;
    w.provider.arrange_headless_login("alice", &mut params)?;
    let answer = w.provider.authorize(&params).await?;
    let back = posted_back(&answer, &params)?;
    ensure!(
        query_param(&back, "code").is_some(),
        "no code posted: {back}"
    );
    ensure!(
        query_param(&back, "state") == sent(&params, "state"),
        "state altered: {back}"
    );
    ensure!(
        query_param(&back, "iss").as_deref() == Some(w.provider.idp.issuer()),
        "iss: {back}"
    );
    Ok(())
}

/// AZ-FORM-POST: an error goes back by the requested mode too, with the state and `iss`, and no code.
#[then(expr = "the provider posts back error \"{oauth_error}\" and the same state")]
async fn posted_error(w: &mut World, error: OAuthError) -> anyhow::Result<()> {
    let (params, r) = last_authorization(w)?;
    let back = posted_back(&r, &params)?;
    ensure!(
        query_param(&back, "error") == Some(error.to_string()),
        "error posted: {back}"
    );
    ensure!(
        query_param(&back, "state") == sent(&params, "state"),
        "state: {back}"
    );
    ensure!(query_param(&back, "code").is_none(), "a code: {back}");
    ensure!(
        query_param(&back, "iss").as_deref() == Some(w.provider.idp.issuer()),
        "iss: {back}"
    );
    Ok(())
}

/// The provider answered 200 with its login form.
#[then(expr = "the provider shows its login page")]
async fn login_page(w: &mut World) -> anyhow::Result<()> {
    let (_, r) = last_authorization(w)?;
    ensure!(
        r.status == 200 && r.body.contains("request_id"),
        "no login page: {}",
        r.status
    );
    Ok(())
}

/// `X-Frame-Options: DENY` or CSP `frame-ancestors 'none'`, and `Referrer-Policy: no-referrer`.
#[then(expr = "the page cannot be framed and sends no referrer")]
async fn page_hardened(w: &mut World) -> anyhow::Result<()> {
    let (_, r) = last_authorization(w)?;
    let frame = r
        .header("x-frame-options")
        .is_some_and(|v| v.eq_ignore_ascii_case("deny"))
        || r.header("content-security-policy")
            .is_some_and(|v| v.contains("frame-ancestors 'none'"));
    ensure!(frame, "the login page can be framed");
    ensure!(
        r.header("referrer-policy") == Some("no-referrer"),
        "Referrer-Policy is {:?}",
        r.header("referrer-policy")
    );
    Ok(())
}
