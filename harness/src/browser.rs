//! A browser: one reqwest client with its own cookie jar that never follows redirects, so steps can look at
//! every `Location` before deciding to go there.

use anyhow::{Context, anyhow};
use reqwest::{Method, header::HeaderMap};
use serde_json::Value;
use url::Url;

use crate::{
    cookies::{Navigation, SiteJar},
    trace::{Exchange, Lane, Trace},
};

/// One HTTP response, read whole.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
    /// The URL that answered, against which a relative `Location` is resolved.
    pub url: Option<Url>,
}

impl HttpResponse {
    /// Reads a reqwest response.
    pub async fn read(response: reqwest::Response) -> anyhow::Result<HttpResponse> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let url = Some(response.url().clone());
        let body = response.text().await.context("reading a response body")?;
        Ok(HttpResponse {
            status,
            headers,
            body,
            url,
        })
    }

    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the status is 3xx.
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The `Location` of a redirect, as an absolute URL (a relative one resolved against the URL that
    /// answered, RFC 9110 §10.2.2).
    pub fn location(&self) -> anyhow::Result<Url> {
        if !self.is_redirect() {
            return Err(anyhow!("expected a redirect, got {}", self.brief()));
        }
        let location = self
            .header("location")
            .ok_or_else(|| anyhow!("redirect {} without Location", self.status))?;
        match &self.url {
            Some(base) => base.join(location),
            None => Url::parse(location),
        }
        .with_context(|| format!("Location {location} is not a URL"))
    }

    /// The status, content type and the start of the body, for a failure message: a whole HTML page in
    /// every message helps nobody.
    pub fn brief(&self) -> String {
        const SHOWN: usize = 300;
        let kind = self.header("content-type").unwrap_or("no content type");
        let body = self.body.trim();
        let mut cut = body.len().min(SHOWN);
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        let more = if body.len() > cut { " …" } else { "" };
        let body: String = body[..cut].split_whitespace().collect::<Vec<_>>().join(" ");
        format!("{} ({kind}) {body}{more}", self.status)
    }

    /// Whether this response sets cookie `name` to a value (not an empty or expired one that removes it).
    pub fn sets_cookie(&self, name: &str) -> bool {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| cookie::Cookie::parse(v.to_owned()).ok())
            .any(|c| {
                c.name() == name
                    && !c.value().is_empty()
                    && c.max_age()
                        .is_none_or(|age| !age.is_zero() && !age.is_negative())
            })
    }

    /// The names of the cookies this response sets.
    pub fn cookies_set(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split('=').next())
            .map(|n| n.trim().to_owned())
            .collect()
    }
}

/// The value of query parameter `name`, if present once or more (first wins).
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The `User-Agent` of the harness's browsers, so the provider's request log tells their requests
/// (already in the scenario's trace) from the backend's.
pub const USER_AGENT: &str = "conformance-harness-browser";

/// Where a browser writes what it sends, for the report's sequence diagram.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The scenario's trace.
    pub trace: Trace,
    /// Who is sending: the browser itself, or the frontend's JavaScript in it.
    pub lane: Lane,
    /// `scheme://host:port` of the provider; any other origin is the backend.
    pub provider_origin: String,
}

/// A browser with its own cookie jar. Redirects are not followed.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The client; its cookie store is [`Browser::jar`].
    client: reqwest::Client,
    /// This browser's cookies.
    jar: std::sync::Arc<SiteJar>,
    /// The same client without the jar: sends a `Cookie` header it is given and keeps nothing it is sent.
    bare: reqwest::Client,
    /// Where its exchanges are recorded, if anywhere.
    recording: Option<Recording>,
}

impl Browser {
    /// A fresh browser with an empty cookie jar.
    pub fn new() -> anyhow::Result<Browser> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .user_agent(USER_AGENT)
                .timeout(std::time::Duration::from_secs(10))
        };
        let jar = std::sync::Arc::new(SiteJar::default());
        let client = builder()
            .cookie_provider(jar.clone())
            .build()
            .context("building a browser")?;
        let bare = builder().build().context("building a browser")?;
        Ok(Browser {
            client,
            jar,
            bare,
            recording: None,
        })
    }

    /// This browser (same cookie jar), recording its exchanges as `lane` into `trace`.
    pub fn recording(&self, trace: &Trace, lane: Lane, provider_origin: &str) -> Browser {
        Browser {
            client: self.client.clone(),
            jar: self.jar.clone(),
            bare: self.bare.clone(),
            recording: Some(Recording {
                trace: trace.clone(),
                lane,
                provider_origin: provider_origin.to_owned(),
            }),
        }
    }

    /// The same browser with its frontend's JavaScript as the sender in the trace.
    pub fn as_frontend(&self) -> Browser {
        let mut b = self.clone();
        if let Some(r) = &mut b.recording {
            r.lane = Lane::Frontend;
        }
        b
    }

    /// The `Cookie` header this browser sends to `url` from the site itself, if any.
    pub fn cookie_header(&self, url: &Url) -> Option<String> {
        self.jar.header(url, Navigation::SameSite)
    }

    /// The cookies for `url` that a navigation made as `navigation` would leave behind, with their
    /// `SameSite` (what a failure message names).
    pub fn withheld_cookies(&self, url: &Url, navigation: Navigation) -> Vec<String> {
        self.jar.withheld(url, navigation)
    }

    /// A top-level navigation that another site (the provider) starts: its redirect back (`GET url`), or
    /// its form_post page (`POST` of `form` to `url`). The jar's cookies go as `SameSite` lets them
    /// ([`crate::cookies`]), and what the answer sets is kept.
    pub async fn navigate_from_other_site(
        &self,
        url: &Url,
        form: Option<&[(&str, &str)]>,
    ) -> anyhow::Result<HttpResponse> {
        let (navigation, request, method, params) = match form {
            Some(form) => (
                Navigation::CrossSitePost,
                self.bare.post(url.clone()).form(form),
                "POST",
                form.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            None => (
                Navigation::CrossSiteGet,
                self.bare.get(url.clone()),
                "GET",
                Vec::new(),
            ),
        };
        let request = match self.jar.header(url, navigation) {
            Some(cookies) => request.header(reqwest::header::COOKIE, cookies),
            None => request,
        };
        let response = self.send(request, method, url, params).await?;
        self.jar.store(
            response.headers.get_all(reqwest::header::SET_COOKIE).iter(),
            url,
        );
        Ok(response)
    }

    /// `GET url` with exactly this `Cookie` header instead of the jar's (the jar is left as it is).
    pub async fn get_with_cookies(&self, url: &Url, cookies: &str) -> anyhow::Result<HttpResponse> {
        let request = self
            .bare
            .get(url.clone())
            .header(reqwest::header::COOKIE, cookies);
        self.send(request, "GET", url, vec![("cookie".into(), cookies.into())])
            .await
    }

    /// `GET url`.
    pub async fn get(&self, url: &Url) -> anyhow::Result<HttpResponse> {
        self.send(self.client.get(url.clone()), "GET", url, Vec::new())
            .await
    }

    /// `GET url` with a bearer token.
    pub async fn get_with_bearer(&self, url: &Url, token: &str) -> anyhow::Result<HttpResponse> {
        self.send(
            self.client.get(url.clone()).bearer_auth(token),
            "GET",
            url,
            bearer_param(Some(token)),
        )
        .await
    }

    /// `POST url` with a form body.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
    ) -> anyhow::Result<HttpResponse> {
        let params = form
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.send(
            self.client.post(url.clone()).form(form),
            "POST",
            url,
            params,
        )
        .await
    }

    /// `DELETE url`, with a bearer token when given.
    pub async fn delete(&self, url: &Url, token: Option<&str>) -> anyhow::Result<HttpResponse> {
        let mut request = self.client.delete(url.clone());
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        self.send(request, "DELETE", url, bearer_param(token)).await
    }

    /// `POST url` with an empty body and `Authorization: Bearer` (or, without a token, the cookies only).
    pub async fn post_with_bearer(
        &self,
        url: &Url,
        token: Option<&str>,
    ) -> anyhow::Result<HttpResponse> {
        let mut request = self.client.post(url.clone());
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        self.send(request, "POST", url, bearer_param(token)).await
    }

    /// `POST url` with a JSON body.
    pub async fn post_json(&self, url: &Url, body: &Value) -> anyhow::Result<HttpResponse> {
        let params = match body {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        self.send(
            self.client.request(Method::POST, url.clone()).json(body),
            "POST",
            url,
            params,
        )
        .await
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        method: &str,
        url: &Url,
        mut params: Vec<(String, String)>,
    ) -> anyhow::Result<HttpResponse> {
        let at_ms = crate::trace::now_ms();
        // With the cause (a timeout, a refused connection): the step's message is all a failure report shows.
        let sent = request
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("sending {method} {url}: {:#}", anyhow::Error::from(e)));
        let outcome = match sent {
            Ok(response) => HttpResponse::read(response).await,
            Err(e) => Err(e),
        };
        if let Some(r) = &self.recording {
            let mut query: Vec<(String, String)> = url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            query.append(&mut params);
            let to = if url.origin().ascii_serialization() == r.provider_origin {
                Lane::Provider
            } else {
                Lane::Backend
            };
            let (status, note) = match &outcome {
                Ok(resp) => (resp.status, answer_note(resp)),
                Err(e) => (0, Some(format!("{e:#}"))),
            };
            r.trace.record(Exchange {
                at_ms,
                from: r.lane,
                to,
                method: method.to_owned(),
                path: url.path().to_owned(),
                status,
                params: query,
                note,
            });
        }
        outcome
    }
}

/// The trace's record of a bearer token (masked when recorded).
fn bearer_param(token: Option<&str>) -> Vec<(String, String)> {
    token
        .map(|t| vec![("authorization".to_owned(), format!("Bearer {t}"))])
        .unwrap_or_default()
}

/// What the diagram says about an answer: where a redirect goes (the query's state/code/error), or
/// the JSON error code, or that it carries a token.
fn answer_note(response: &HttpResponse) -> Option<String> {
    if let Some(location) = response.header("location") {
        let target = Url::parse(location).ok();
        let mut note = match &target {
            Some(u) => format!("→ {}{}", u.origin().ascii_serialization(), u.path()),
            None => format!("→ {location}"),
        };
        if let Some(u) = &target {
            for name in ["code", "state", "error", "iss"] {
                if let Some(v) = query_param(u, name) {
                    note.push_str(&format!(" {name}={}", crate::trace::mask(name, &v)));
                }
            }
        }
        return Some(note);
    }
    let json = response.json();
    if let Some(error) = json.get("error").and_then(Value::as_str) {
        return Some(format!("error={error}"));
    }
    if let Some(token) = json.get("token").and_then(Value::as_str) {
        return Some(format!("app token {}", crate::trace::mask("token", token)));
    }
    None
}

/// HTML text as a browser shows it (`&amp;` → `&`, `&#39;` → `'`): what a page's pattern captured.
pub fn unescape_html(text: &str) -> String {
    let fragment = scraper::Html::parse_fragment(text);
    fragment.root_element().text().collect()
}

/// A form found on a page: where it posts and the values it would send as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// The absolute action URL.
    pub action: Url,
    /// `POST` or `GET`, upper case.
    pub method: String,
    /// Its inputs' names and values (hidden ones included, buttons with a name included), in order.
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The fields as `&str` pairs, for [`Browser::post_form`].
    pub fn pairs(&self) -> Vec<(&str, &str)> {
        self.fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// The forms of an HTML page, their actions resolved against `page` (the page's URL). Parsed with an
/// HTML5 parser (`scraper`), so entities, attribute order and quoting are as a browser reads them.
pub fn forms(html: &str, page: &Url) -> Vec<Form> {
    let document = scraper::Html::parse_document(html);
    let (Ok(form_sel), Ok(field_sel)) = (
        scraper::Selector::parse("form"),
        scraper::Selector::parse("input, button, textarea"),
    ) else {
        return Vec::new();
    };
    document
        .select(&form_sel)
        .filter_map(|form| {
            let el = form.value();
            let action = el.attr("action").unwrap_or("");
            let action = page.join(action).ok()?;
            let method = el.attr("method").unwrap_or("GET").to_ascii_uppercase();
            let fields = form
                .select(&field_sel)
                .filter_map(|field| {
                    let f = field.value();
                    let name = f.attr("name")?;
                    let kind = f.attr("type").unwrap_or("").to_ascii_lowercase();
                    if matches!(kind.as_str(), "checkbox" | "radio") && f.attr("checked").is_none()
                    {
                        return None;
                    }
                    let value = if f.name() == "textarea" {
                        field.text().collect::<String>()
                    } else {
                        f.attr("value").unwrap_or("").to_owned()
                    };
                    Some((name.to_owned(), value))
                })
                .collect();
            Some(Form {
                action,
                method,
                fields,
            })
        })
        .collect()
}

/// The form a page submits as it loads (a form_post response, or a page that re-posts it): an HTML answer
/// with one `POST` form and a script or `onload` that calls `submit()`. Parsed, not run: the harness's
/// browser has no JavaScript, so this is the one script it honours.
pub fn auto_submitted_form(response: &HttpResponse) -> Option<Form> {
    let html = response
        .header("content-type")
        .is_some_and(|t| t.starts_with("text/html"));
    if !response.is_success() || !html || !response.body.contains("submit()") {
        return None;
    }
    let page = response.url.as_ref()?;
    let mut all = forms(&response.body, page);
    (all.len() == 1 && all[0].method == "POST").then(|| all.remove(0))
}

/// The form on `page` whose action is `action` (a URL, or a path its action ends with).
pub fn form_posting_to(html: &str, page: &Url, action: &str) -> anyhow::Result<Form> {
    let all = forms(html, page);
    let wanted = page.join(action).ok();
    all.iter()
        .find(|f| Some(&f.action) == wanted.as_ref() || f.action.path() == action)
        .cloned()
        .ok_or_else(|| {
            let found: Vec<String> = all.iter().map(|f| f.action.to_string()).collect();
            anyhow!("no form on {page} posts to {action} (its forms post to {found:?})")
        })
}

/// The value of the hidden form input `name` in an HTML page (the login page's `request_id` and `csrf`).
/// The values are base64url tokens, so a plain search is enough: no entity decoding is needed.
pub fn hidden_input(html: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .ok_or_else(|| anyhow!("no hidden input {name} on the page"))?
        + marker.len();
    let end = html[start..]
        .find('"')
        .ok_or_else(|| anyhow!("unterminated value of {name}"))?;
    Ok(html[start..start + end].to_owned())
}
