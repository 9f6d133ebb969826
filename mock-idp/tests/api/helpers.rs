//! `spawn_idp()` and a `TestIdp` with one method per endpoint.

use base64::{Engine, engine::general_purpose::STANDARD, engine::general_purpose::URL_SAFE_NO_PAD};
use mock_idp::{Config, MockIdp};
use reqwest::{StatusCode, header::HeaderMap};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const WEB: &str = "web";
pub const WEB_SECRET: &str = "web-secret";
pub const WEB_REDIRECT: &str = "http://127.0.0.1:3000/callback";

/// A running IdP and a browser-like client: cookies kept, redirects not followed.
pub struct TestIdp {
    pub idp: MockIdp,
    pub http: reqwest::Client,
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn location(&self) -> url::Url {
        let loc = self
            .header("location")
            .unwrap_or_else(|| panic!("no Location: {self:?}"));
        url::Url::parse(loc).expect("absolute Location")
    }
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

pub async fn spawn_idp() -> TestIdp {
    spawn_idp_with(Config::builtin()).await
}

pub async fn spawn_idp_with(config: Config) -> TestIdp {
    let idp = MockIdp::start(config).await.expect("idp starts");
    TestIdp {
        idp,
        http: browser(),
    }
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    Reply {
        status,
        headers,
        body,
    }
}

/// The value of a query parameter of a URL.
pub fn param(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A fresh PKCE pair (verifier, S256 challenge).
pub fn pkce_pair() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(rand_bytes());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn rand_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    aws_lc_rs::rand::fill(&mut b).expect("random");
    b
}

/// HTTP Basic as RFC 6749 §2.3.1 wants it: form-urlencode id and secret, then base64.
pub fn basic(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

impl TestIdp {
    /// `GET /authorize` with these query parameters, encoded in order.
    pub async fn authorize(&self, params: &[(&str, &str)]) -> Reply {
        let mut url = url::Url::parse(&self.idp.authorization_endpoint()).expect("url");
        url.query_pairs_mut().extend_pairs(params);
        read(self.http.get(url).send().await.expect("authorize")).await
    }

    /// `GET /authorize` with a raw query string.
    pub async fn authorize_raw(&self, query: &str) -> Reply {
        let url = format!("{}?{query}", self.idp.authorization_endpoint());
        read(self.http.get(url).send().await.expect("authorize")).await
    }

    /// A code for `username` through the headless next-login control, for the web client.
    pub async fn code_for(&self, username: &str, extra: &[(&str, &str)]) -> String {
        self.idp.next_login(username);
        let mut params = vec![
            ("client_id", WEB),
            ("redirect_uri", WEB_REDIRECT),
            ("response_type", "code"),
            ("scope", "openid profile email"),
            ("state", "s1"),
        ];
        for (k, v) in extra {
            params.retain(|(pk, _)| pk != k);
            params.push((k, v));
        }
        let reply = self.authorize(&params).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{reply:?}");
        param(&reply.location(), "code").expect("code in redirect")
    }

    /// `POST /token` with a form body and an optional Authorization header.
    pub async fn token(&self, form: &[(&str, &str)], authorization: Option<&str>) -> Reply {
        let mut req = self.http.post(self.idp.token_endpoint()).form(form);
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        read(req.send().await.expect("token")).await
    }

    /// The web client's standard code exchange (Basic auth).
    pub async fn exchange(&self, code: &str) -> Reply {
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", WEB_REDIRECT),
            ],
            Some(&basic(WEB, WEB_SECRET)),
        )
        .await
    }

    /// A live access token of `username` for the web client: a code, then its exchange.
    pub async fn access_token_of(&self, username: &str) -> String {
        let code = self.code_for(username, &[]).await;
        self.exchange(&code).await.json()["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    pub async fn userinfo(&self, access_token: &str) -> Reply {
        read(
            self.http
                .get(self.idp.userinfo_endpoint())
                .bearer_auth(access_token)
                .send()
                .await
                .expect("userinfo"),
        )
        .await
    }

    pub async fn introspect(&self, token: &str, id: &str, secret: &str) -> Reply {
        read(
            self.http
                .post(self.idp.introspection_endpoint())
                .header("authorization", basic(id, secret))
                .form(&[("token", token)])
                .send()
                .await
                .expect("introspect"),
        )
        .await
    }

    pub async fn revoke(&self, form: &[(&str, &str)], id: &str, secret: &str) -> Reply {
        read(
            self.http
                .post(self.idp.revocation_endpoint())
                .header("authorization", basic(id, secret))
                .form(form)
                .send()
                .await
                .expect("revoke"),
        )
        .await
    }

    /// The login page for the web client, and the hidden form fields it carries.
    pub async fn login_page(&self, state: &str) -> (Reply, String, String) {
        let page = self
            .authorize(&[
                ("client_id", WEB),
                ("redirect_uri", WEB_REDIRECT),
                ("response_type", "code"),
                ("scope", "openid"),
                ("state", state),
            ])
            .await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        let request_id = hidden(&page.body, "request_id");
        let csrf = hidden(&page.body, "csrf");
        (page, request_id, csrf)
    }

    /// Submits the login form of a page with a username and password.
    pub async fn sign_in(
        &self,
        request_id: &str,
        csrf: &str,
        username: &str,
        password: &str,
    ) -> Reply {
        self.post_login(&[
            ("request_id", request_id),
            ("csrf", csrf),
            ("username", username),
            ("password", password),
            ("action", "login"),
        ])
        .await
    }

    pub async fn post_login(&self, form: &[(&str, &str)]) -> Reply {
        read(
            self.http
                .post(self.idp.url("/authorize/login"))
                .form(form)
                .send()
                .await
                .expect("login"),
        )
        .await
    }
}

/// The value of a hidden input in a page.
pub fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in page"))
        + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}

/// The claims of a JWT, not verified.
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json")
}

/// 16 random bytes from the OS, base64url: a state or nonce as a careful client makes them.
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(&rand_bytes()[..16])
}
