//! The browser's cookie jar, with the `SameSite` rules a browser applies (draft-ietf-httpbis-rfc6265bis
//! §5.6.7, §5.8.3, as Chromium ships them): a cookie without the attribute is `Lax`; `SameSite=None` is
//! refused without `Secure`; a top-level navigation that another site starts (the provider's redirect back,
//! or its form_post page) carries `Lax` cookies only when it is a `GET`, and `Strict` ones never.
//!
//! The harness runs provider and backend on one host, which a browser would call one site; a real
//! deployment never does, so the harness treats every navigation the provider starts as coming from
//! another site (CONFORMANCE ST-FORM-POST). Chromium's temporary exception that still sends a cookie
//! without the attribute on a cross-site `POST` within two minutes of setting it is not applied: a login
//! that takes longer (a second factor, a slow user) would lose its transaction in Chromium.

use std::sync::RwLock;

use cookie::SameSite;
use reqwest::header::HeaderValue;
use url::Url;

/// How a request is made, as far as `SameSite` is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Navigation {
    /// From the site itself (its pages, its scripts): every matching cookie goes.
    SameSite,
    /// A top-level `GET` that another site starts: `Lax` and `None` cookies go.
    CrossSiteGet,
    /// A top-level `POST` that another site starts (a form_post response): only `None` cookies go.
    CrossSitePost,
}

/// A cookie jar that knows each cookie's `SameSite`.
#[derive(Debug, Default)]
pub struct SiteJar(RwLock<cookie_store::CookieStore>);

/// The `SameSite` a browser applies to a cookie: `Lax` when the attribute is absent.
fn effective(cookie: &cookie::Cookie<'_>) -> SameSite {
    cookie.same_site().unwrap_or(SameSite::Lax)
}

/// Whether a cookie with this effective `SameSite` goes with a request made as `navigation`.
fn goes(same_site: SameSite, navigation: Navigation) -> bool {
    match navigation {
        Navigation::SameSite => true,
        Navigation::CrossSiteGet => same_site != SameSite::Strict,
        Navigation::CrossSitePost => same_site == SameSite::None,
    }
}

impl SiteJar {
    /// The `Cookie` header for `url` when requested as `navigation`.
    pub fn header(&self, url: &Url, navigation: Navigation) -> Option<String> {
        let store = self.0.read().unwrap_or_else(|p| p.into_inner());
        let pairs: Vec<String> = store
            .matches(url)
            .into_iter()
            .filter(|c| goes(effective(c), navigation))
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// The cookies for `url` that a request made as `navigation` leaves behind, each with its `SameSite`
    /// as set (`name (SameSite=Lax)`, or `name (no SameSite: Lax)`): what a failure message names.
    pub fn withheld(&self, url: &Url, navigation: Navigation) -> Vec<String> {
        let store = self.0.read().unwrap_or_else(|p| p.into_inner());
        store
            .matches(url)
            .into_iter()
            .filter(|c| !goes(effective(c), navigation))
            .map(|c| match c.same_site() {
                Some(s) => format!("{} (SameSite={s})", c.name()),
                None => format!("{} (no SameSite, so Lax)", c.name()),
            })
            .collect()
    }

    /// Stores the cookies that `Set-Cookie` headers from `url` set; a `SameSite=None` cookie without
    /// `Secure` is refused, as a browser refuses it.
    pub fn store<'a>(&self, headers: impl Iterator<Item = &'a HeaderValue>, url: &Url) {
        let cookies: Vec<cookie::Cookie<'static>> = headers
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| cookie::Cookie::parse(v.to_owned()).ok())
            .filter(|c| c.same_site() != Some(SameSite::None) || c.secure() == Some(true))
            .collect();
        let mut store = self.0.write().unwrap_or_else(|p| p.into_inner());
        store.store_response_cookies(cookies.into_iter(), url);
    }
}

impl reqwest::cookie::CookieStore for SiteJar {
    fn set_cookies(&self, cookie_headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        self.store(cookie_headers, url);
    }

    /// Requests through the jar are the site's own (its pages, its scripts, a redirect it answers).
    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        self.header(url, Navigation::SameSite)
            .and_then(|h| HeaderValue::from_str(&h).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar_with(set_cookies: &[&str], url: &Url) -> SiteJar {
        let jar = SiteJar::default();
        let values: Vec<HeaderValue> = set_cookies
            .iter()
            .map(|c| HeaderValue::from_str(c).expect("header"))
            .collect();
        jar.store(values.iter(), url);
        jar
    }

    #[test]
    fn a_cross_site_post_carries_only_secure_samesite_none_cookies() {
        let url = Url::parse("http://127.0.0.1:4000/callback").expect("url");
        let jar = jar_with(
            &[
                "none=1; SameSite=None; Secure; HttpOnly",
                "insecure_none=2; SameSite=None",
                "lax=3; SameSite=Lax",
                "strict=4; SameSite=Strict",
                "plain=5",
            ],
            &url,
        );
        assert_eq!(
            jar.header(&url, Navigation::CrossSitePost).as_deref(),
            Some("none=1")
        );
        let mut get: Vec<String> = jar
            .header(&url, Navigation::CrossSiteGet)
            .unwrap_or_default()
            .split("; ")
            .map(str::to_owned)
            .collect();
        get.sort();
        assert_eq!(get, ["lax=3", "none=1", "plain=5"]);
        let all = jar.header(&url, Navigation::SameSite).unwrap_or_default();
        assert_eq!(
            all.split("; ").count(),
            4,
            "{all}: SameSite=None without Secure is refused"
        );
        let mut withheld = jar.withheld(&url, Navigation::CrossSitePost);
        withheld.sort();
        assert_eq!(
            withheld,
            [
                "lax (SameSite=Lax)",
                "plain (no SameSite, so Lax)",
                "strict (SameSite=Strict)"
            ]
        );
    }
}
