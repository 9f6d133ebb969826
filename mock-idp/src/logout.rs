//! Logout: the end-session endpoint (OpenID Connect RP-Initiated Logout 1.0) and the back-channel
//! notifications it sends (OpenID Connect Back-Channel Logout 1.0).
//!
//! `GET|POST /logout` checks its request in order (§2): parameters not repeated, `id_token_hint` signed by
//! this provider, `client_id` registered and matching the hint's audience, `post_logout_redirect_uri`
//! registered for that client by exact string comparison (§3). A failed check is answered with an HTML
//! error page, never a redirect. Then the login session the hint names ends, the browser's login cookie is
//! cleared, every client of the ended sessions that registered a `backchannel_logout_uri` is sent a signed
//! `logout_token` (Back-Channel §2.4–§2.7; each POST bounded by [`BACKCHANNEL_TIMEOUT`]), and the
//! browser goes to the `post_logout_redirect_uri` with `state` echoed, or sees a "logged out" page.

use std::{collections::HashMap, time::Duration};

use axum::{
    body::Bytes,
    extract::{RawQuery, State},
    http::{HeaderValue, Method, StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::{
    authorize::{error_page, page_headers},
    faults::{Context as FaultContext, Fault, Point},
    requests::Note,
    state::{AppState, random_token},
    store::Session,
};

/// The end-session endpoint's path.
pub const LOGOUT_PATH: &str = "/logout";
/// The longest one back-channel POST may take (connect, send, status line); they run concurrently, so the
/// end-session response waits at most about this long (Back-Channel §2.7 lets the OP wait or not).
pub const BACKCHANNEL_TIMEOUT: Duration = Duration::from_secs(2);
/// The `events` member of a logout token (Back-Channel §2.4).
pub const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid, in seconds (Back-Channel §2.4 recommends a short `exp`).
const LOGOUT_TOKEN_TTL: u64 = 120;

/// What a back-channel POST to one client came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The client notified.
    pub client_id: String,
    /// The HTTP status it answered, or why there was none (`timed out`, a connection error).
    pub outcome: String,
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.client_id, self.outcome)
    }
}

/// `GET /logout` (query) and `POST /logout` (form), RP-Initiated Logout 1.0 §2.
pub async fn end_session(
    State(state): State<AppState>,
    method: Method,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let raw: &[u8] = if method == Method::POST {
        &body
    } else {
        query.as_deref().unwrap_or("").as_bytes()
    };
    let request = match check(&state, raw) {
        Ok(r) => r,
        Err(description) => {
            let mut response = error_page(
                &state,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                description,
            );
            Note {
                error: Some("invalid_request".into()),
                ..Note::default()
            }
            .attach(&mut response);
            return response;
        }
    };
    let ended = match (&request.sid, &request.sub) {
        (Some(sid), _) => {
            let now = state.clock.now();
            state
                .sessions
                .end(sid, now)
                .map(|s| vec![(sid.clone(), s)])
                .unwrap_or_default()
        }
        // A hint without `sid` (e.g. minted by `mock-idp token`): every session of its subject.
        (None, Some(sub)) => state.sessions.end_user(sub, state.clock.now()),
        (None, None) => Vec::new(),
    };
    let username = ended.first().map(|(_, s)| s.username.clone());
    let deliveries = notify(&state, ended).await;
    let mut response = match &request.post_logout_redirect_uri {
        Some(uri) => {
            // §3: `state` is passed back exactly as sent, unless an `end_session.*` fault says otherwise.
            let faults = state.faults.take(
                Point::EndSession,
                FaultContext {
                    client_id: request.client_id.as_deref(),
                    username: username.as_deref(),
                },
            );
            let mut st = request.state.clone();
            if faults.contains(&Fault::EndSessionOtherState) {
                st = Some(format!("other-{}", random_token(12)));
            }
            if faults.contains(&Fault::EndSessionNoState) {
                st = None;
            }
            let params: Vec<(&str, &str)> = st.iter().map(|s| ("state", s.as_str())).collect();
            let mut response = crate::authorize::redirect_to(uri, &params);
            if !faults.is_empty() {
                Note {
                    faults: faults.iter().map(|f| f.name().to_owned()).collect(),
                    ..Note::default()
                }
                .attach(&mut response);
            }
            response
        }
        None => logged_out_page(&state),
    };
    // The browser's login cookie is cleared: login pages it opened before can no longer be submitted, and
    // the next authorization starts from the login page (this provider keeps no single sign-on).
    let cookie = format!(
        "{}=; Path={}/authorize; Max-Age=0; HttpOnly; SameSite=Lax",
        crate::authorize::BROWSER_COOKIE,
        state.base_path
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Note {
        client_id: request.client_id,
        username,
        redirect_uri: request.post_logout_redirect_uri,
        backchannel: deliveries.iter().map(Delivery::to_string).collect(),
        ..Note::default()
    }
    .attach(&mut response);
    response
}

/// A checked end-session request.
#[derive(Debug, Default)]
struct LogoutRequest {
    /// The client, from `client_id` or the hint's `aud`.
    client_id: Option<String>,
    /// The hint's `sub`.
    sub: Option<String>,
    /// The hint's `sid`.
    sid: Option<String>,
    /// A registered post-logout redirect URI.
    post_logout_redirect_uri: Option<String>,
    /// The opaque `state`, echoed byte-exact (§3).
    state: Option<String>,
}

/// The ordered checks of §2–§3; an `Err` is shown on an error page.
fn check(state: &AppState, raw: &[u8]) -> Result<LogoutRequest, &'static str> {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        params
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    if params.values().any(|v| v.len() > 1) {
        return Err("A parameter is repeated.");
    }
    let get = |name: &str| params.get(name).and_then(|v| v.first()).cloned();
    let mut request = LogoutRequest {
        state: get("state"),
        ..LogoutRequest::default()
    };
    // 1. The hint must be an id_token this provider issued (§2); an expired one is still a good hint.
    let mut hint_aud = Vec::new();
    if let Some(hint) = get("id_token_hint") {
        let claims = match state
            .verify_signed(&hint)
            .or_else(|| verify_hs256_hint(state, &hint))
        {
            // An id_token (typ JWT), not an access token or a logout token.
            Some((typ, claims)) if typ.as_deref().is_none_or(|t| t == "JWT") => claims,
            _ => return Err("id_token_hint is not an ID Token issued by this provider."),
        };
        if claims.get("iss").and_then(Value::as_str) != Some(state.issuer.as_str()) {
            return Err("id_token_hint was issued by another provider.");
        }
        hint_aud = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        };
        request.sub = claims.get("sub").and_then(Value::as_str).map(str::to_owned);
        request.sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
        if request.sub.is_none() {
            return Err("id_token_hint has no sub.");
        }
    }
    // 2. The client: `client_id`, which must match the hint's audience (§2), or the hint's audience.
    request.client_id = match get("client_id") {
        Some(id) if !hint_aud.is_empty() && !hint_aud.contains(&id) => {
            return Err("client_id is not the audience of id_token_hint.");
        }
        Some(id) => Some(id),
        None => hint_aud.first().cloned(),
    };
    let client = match &request.client_id {
        Some(id) => Some(state.client(id).ok_or("client_id is not registered.")?),
        None => None,
    };
    // 3. The redirect URI must be registered for that client, compared as exact strings (§3).
    if let Some(uri) = get("post_logout_redirect_uri") {
        let Some(client) = client else {
            return Err(
                "post_logout_redirect_uri needs client_id or id_token_hint to identify the client.",
            );
        };
        if !client.config.post_logout_redirect_uris.contains(&uri) {
            return Err("post_logout_redirect_uri is not registered for this client.");
        }
        request.post_logout_redirect_uri = Some(uri);
    }
    Ok(request)
}

fn logged_out_page(state: &AppState) -> Response {
    let body = state
        .templates
        .get_template("logged_out.html")
        .and_then(|t| t.render(minijinja::context! {}))
        .unwrap_or_else(|e| {
            tracing::error!("rendering logged-out page: {e}");
            "logged out".to_owned()
        });
    let mut response = (StatusCode::OK, Html(body)).into_response();
    page_headers(response.headers_mut());
    response
}

/// Ends every live session of `username` at the provider and notifies the clients' back-channel
/// endpoints (what the handle and the admin API call: a logout that starts at the provider).
pub async fn logout_user(state: &AppState, username: &str) -> Option<Vec<Delivery>> {
    let user = state.user(username)?;
    let ended = state.sessions.end_user(&user.sub, state.clock.now());
    Some(notify(state, ended).await)
}

/// Sends a logout token to each ended session's client that registered a back-channel URI, concurrently,
/// each bounded by [`BACKCHANNEL_TIMEOUT`] (Back-Channel §2.7); returns what each delivery came to.
pub async fn notify(state: &AppState, ended: Vec<(String, Session)>) -> Vec<Delivery> {
    let mut tasks = tokio::task::JoinSet::new();
    for (sid, session) in ended {
        // The URI registered now: the provider only ever posts to a URI the client registered.
        let Some(uri) = state
            .client(&session.client_id)
            .and_then(|c| c.config.backchannel_logout_uri)
        else {
            continue;
        };
        let faults = state.faults.take(
            Point::Logout,
            FaultContext {
                client_id: Some(&session.client_id),
                username: Some(&session.username),
            },
        );
        let token =
            match spoiled_logout_token(state, &session.client_id, &session.sub, &sid, &faults) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!("signing a logout token: {e}");
                    continue;
                }
            };
        let client_id = session.client_id;
        tasks.spawn(async move {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("logout_token", &token)
                .finish();
            let outcome =
                match tokio::time::timeout(BACKCHANNEL_TIMEOUT, post_form(&uri, &body)).await {
                    Ok(Ok(status)) => status.to_string(),
                    Ok(Err(e)) => e,
                    Err(_) => "timed out".to_owned(),
                };
            tracing::info!(client_id, outcome, "back-channel logout");
            Delivery { client_id, outcome }
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Ok(d) = done {
            out.push(d);
        }
    }
    out.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    out
}

/// A signed logout token for `client_id` (Back-Channel §2.4): `iss`, `aud`, `iat`, `exp`, `jti`, the
/// back-channel `events` member, `sub` and `sid`, never a `nonce`; header `typ: logout+jwt`.
pub fn logout_token(
    state: &AppState,
    client_id: &str,
    sub: &str,
    sid: &str,
) -> Result<String, crate::keys::KeyError> {
    spoiled_logout_token(state, client_id, sub, sid, &[])
}

/// [`logout_token`] with the armed `logout.*` faults applied.
fn spoiled_logout_token(
    state: &AppState,
    client_id: &str,
    sub: &str,
    sid: &str,
    faults: &[Fault],
) -> Result<String, crate::keys::KeyError> {
    use base64::Engine;
    let key = state.keys.active()?;
    let now = state.clock.now();
    let claims = json!({
        "iss": state.issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": random_token(16),
        "events": { BACKCHANNEL_EVENT: {} },
        "sub": sub,
        "sid": sid,
    });
    if faults.is_empty() {
        let header = json!({"alg": key.alg().as_str(), "kid": key.kid(), "typ": "logout+jwt"});
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(header.to_string());
        return key.sign_with_header(&header, &claims);
    }
    crate::faults::spoil::logout_token(&key, claims, faults)
}

/// POSTs a form to an `http` URI and returns the answer's status code. Written on a bare socket because the
/// embeddable build carries no HTTP client, and all this needs is one request and a status line.
async fn post_form(uri: &str, body: &str) -> Result<u16, String> {
    let url = url::Url::parse(uri).map_err(|e| format!("bad URI: {e}"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "{} back-channel URIs are not supported",
            url.scheme()
        ));
    }
    let host = url.host_str().ok_or("no host")?;
    let port = url.port_or_known_default().ok_or("no port")?;
    let target = &url[url::Position::BeforePath..url::Position::AfterQuery];
    let mut stream = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        &url[url::Position::BeforeHost..url::Position::AfterPort],
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("cannot send: {e}"))?;
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("cannot read: {e}"))?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    // "HTTP/1.1 200 OK"
    std::str::from_utf8(&head)
        .ok()
        .and_then(|h| h.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "no HTTP status in the answer".to_owned())
}

/// An id_token this provider MACed for a client registered with HS256 (TK-HS256): the MAC checks with the
/// key of the client its `aud` names. Returns its header `typ` and claims, as [`crate::keys::KeySet::verify`].
fn verify_hs256_hint(state: &AppState, jws: &str) -> Option<(Option<String>, Value)> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    let (signed, sig) = jws.rsplit_once('.')?;
    let (header, payload) = signed.split_once('.')?;
    let header: Value = serde_json::from_slice(&B64.decode(header).ok()?).ok()?;
    if header.get("alg")?.as_str()? != "HS256" {
        return None;
    }
    let claims: Value = serde_json::from_slice(&B64.decode(payload).ok()?).ok()?;
    let client = state.client(claims.get("aud")?.as_str()?)?;
    let mac = client.id_token_mac()?;
    aws_lc_rs::hmac::verify(mac, signed.as_bytes(), &B64.decode(sig).ok()?).ok()?;
    let typ = header.get("typ").and_then(Value::as_str).map(str::to_owned);
    Some((typ, claims))
}
