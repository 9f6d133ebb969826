//! A browser: one reqwest client with its own cookie jar that never follows redirects, so steps can look at
//! every `Location` before deciding to go there.

use anyhow::{Context, anyhow};
use reqwest::{Method, header::HeaderMap};
use serde_json::Value;
use url::Url;

/// One HTTP response, read whole.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body as text.
    pub body: String,
}

impl HttpResponse {
    /// Reads a reqwest response.
    pub async fn read(response: reqwest::Response) -> anyhow::Result<HttpResponse> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.context("reading a response body")?;
        Ok(HttpResponse {
            status,
            headers,
            body,
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

    /// The `Location` of a redirect, as an absolute URL.
    pub fn location(&self) -> anyhow::Result<Url> {
        if !self.is_redirect() {
            return Err(anyhow!(
                "expected a redirect, got {} with body {}",
                self.status,
                self.body
            ));
        }
        let location = self
            .header("location")
            .ok_or_else(|| anyhow!("redirect {} without Location", self.status))?;
        Url::parse(location).with_context(|| format!("Location {location} is not absolute"))
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

/// A browser with its own cookie jar. Redirects are not followed.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The client; its cookie store is this browser's jar.
    client: reqwest::Client,
}

impl Browser {
    /// A fresh browser with an empty cookie jar.
    pub fn new() -> anyhow::Result<Browser> {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("building a browser")?;
        Ok(Browser { client })
    }

    /// `GET url`.
    pub async fn get(&self, url: &Url) -> anyhow::Result<HttpResponse> {
        self.send(self.client.get(url.clone())).await
    }

    /// `GET url` with a bearer token.
    pub async fn get_with_bearer(&self, url: &Url, token: &str) -> anyhow::Result<HttpResponse> {
        self.send(self.client.get(url.clone()).bearer_auth(token))
            .await
    }

    /// `POST url` with a form body.
    pub async fn post_form(
        &self,
        url: &Url,
        form: &[(&str, &str)],
    ) -> anyhow::Result<HttpResponse> {
        self.send(self.client.post(url.clone()).form(form)).await
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
        self.send(request).await
    }

    /// `POST url` with a JSON body.
    pub async fn post_json(&self, url: &Url, body: &Value) -> anyhow::Result<HttpResponse> {
        self.send(self.client.request(Method::POST, url.clone()).json(body))
            .await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<HttpResponse> {
        let response = request.send().await.context("sending a request")?;
        HttpResponse::read(response).await
    }
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
