//! The authorization endpoint (RFC 6749 §3.1, §4.1.1–4.1.2; OIDC Core §3.1.2): the request is checked by an
//! ordered list of small checks (`checks.rs`), then the user logs in on a page (`login.rs`) or headlessly.

mod checks;
mod login;
pub(crate) mod request;

pub use crate::store::{Pending, PendingStore};
pub use request::{AuthRequest, ResponseMode, SCOPES};

use axum::{
    extract::{RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
};

use crate::{
    conn::PeerAddr,
    error::OAuthError,
    faults::{Context as FaultContext, Fault, Point, spoil},
    model::{Persona, UserConfig},
    requests::{Note, fingerprint},
    state::{AppState, random_token},
    store::{AuthorizationCode, Session},
};

pub use login::{BROWSER_COOKIE, LOGIN_PATH, login_submit};

/// Headers for every HTML page: not cacheable, not frameable, no referrer (RFC 9700 §4.16, §4.2.4).
pub fn page_headers(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// An HTML error page: used when the client or redirect URI cannot be trusted, so nothing may be
/// redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11.2).
pub fn error_page(
    state: &AppState,
    status: StatusCode,
    error: &str,
    description: &str,
) -> Response {
    let body = state
        .templates
        .get_template("error.html")
        .and_then(|t| t.render(minijinja::context! { error, description }))
        .unwrap_or_else(|e| {
            tracing::error!("rendering error page: {e}");
            "error".to_owned()
        });
    let mut response = (status, Html(body)).into_response();
    page_headers(response.headers_mut());
    response
}

/// `GET /authorize`.
pub async fn authorize(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    peer: PeerAddr,
    headers: HeaderMap,
) -> Response {
    authorize_as(
        &state,
        query.as_deref().unwrap_or(""),
        peer,
        &headers,
        |_| Ok(None),
    )
}

/// The OpenID authorization endpoint for an OpenID persona (`entra`, `apple`, `google`): the same checks
/// in the same order, then `persona` reads what only it reads from the checked request (or refuses it,
/// by redirect: the client and redirect URI are trusted by then) before the login completes or shows.
pub(crate) fn authorize_as(
    state: &AppState,
    query: &str,
    peer: PeerAddr,
    headers: &HeaderMap,
    persona: impl FnOnce(&AuthRequest) -> Result<Option<Box<crate::model::PersonaRequest>>, OAuthError>,
) -> Response {
    let mut request = match checks::check(state, query) {
        Ok(request) => request,
        Err(checks::Rejection::Page { error, description }) => {
            return error_page(state, StatusCode::BAD_REQUEST, error, description);
        }
        Err(checks::Rejection::Redirect {
            redirect_uri,
            state: st,
            error,
            mode,
        }) => {
            return redirect_error(state, &redirect_uri, mode, st.as_deref(), &error);
        }
    };
    match persona(&request) {
        Ok(asked) => request.persona = asked,
        Err(error) => {
            return redirect_error(
                state,
                &request.redirect_uri,
                request.response_mode,
                request.state.as_deref(),
                &error,
            );
        }
    }
    complete_or_show(state, request, peer, headers)
}

/// A checked request, completed headlessly (a queued next login, or `login_hint` when enabled) or shown
/// the login page (whose pending request counts against `peer`'s share). Every persona's authorization
/// endpoint ends here.
pub fn complete_or_show(
    state: &AppState,
    request: AuthRequest,
    peer: PeerAddr,
    headers: &HeaderMap,
) -> Response {
    // Headless completion: a next login arranged through the handle, or login_hint when enabled.
    let queued = {
        let mut queue = state.next_logins.lock().unwrap_or_else(|p| p.into_inner());
        queue.pop_front()
    };
    let headless = queued.or_else(|| {
        (state.config.login_hint_auto_login)
            .then(|| request.login_hint.clone())
            .flatten()
    });
    // prompt=none: a login that needs the user (no headless completion, or max_age=0) is login_required.
    if request.prompt_none && (headless.is_none() || request.reauthenticate) {
        return redirect_error(
            state,
            &request.redirect_uri,
            request.response_mode,
            request.state.as_deref(),
            &OAuthError::LoginRequired,
        );
    }
    if let Some(username) = headless {
        return match state.user(&username) {
            Some(user) => issue_code(state, &request, &user),
            None => error_page(
                state,
                StatusCode::BAD_REQUEST,
                "login_required",
                "the user arranged for the next login does not exist",
            ),
        };
    }
    login::show(state, request, peer, headers)
}

/// Builds `redirect_uri` plus `params`, keeping the URI's own query (RFC 6749 §3.1.2).
pub(crate) fn redirect_to(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let location = match url::Url::parse(redirect_uri) {
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            url.to_string()
        }
        // Registered URIs are validated at configuration time; this is unreachable in practice.
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    // 303 so the browser follows with GET and never re-posts the login form (RFC 9700 §4.12).
    let mut response = Redirect::to(&location).into_response();
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The inline script of the form_post page, and its CSP hash (the page runs nothing else).
const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

/// The form_post page's Content-Security-Policy: no source but the one script, known by its hash.
fn form_post_csp() -> &'static HeaderValue {
    static CSP: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
    CSP.get_or_init(|| {
        use base64::Engine as _;
        let hash = base64::engine::general_purpose::STANDARD
            .encode(crate::keys::sha256(FORM_POST_SCRIPT.as_bytes()));
        HeaderValue::from_str(&format!(
            "default-src 'none'; script-src 'sha256-{hash}'; style-src 'unsafe-inline'; \
             frame-ancestors 'none'"
        ))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
    })
}

/// The authorization response `params` sent to `redirect_uri` as the client asked: a redirect with them in
/// the query, or (form_post) a page whose form POSTs them there as it loads, nothing in any URL
/// (OAuth 2.0 Form Post Response Mode §2).
pub(crate) fn respond(
    state: &AppState,
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, &str)],
) -> Response {
    if mode == ResponseMode::Query {
        return redirect_to(redirect_uri, params);
    }
    let body = state
        .templates
        .get_template("form_post.html")
        .and_then(|t| {
            t.render(minijinja::context! {
                action => redirect_uri,
                params => params.iter().map(|(k, v)| [k.to_string(), v.to_string()]).collect::<Vec<_>>(),
                script => FORM_POST_SCRIPT,
            })
        });
    let body = match body {
        Ok(body) => body,
        Err(e) => {
            tracing::error!("rendering the form_post page: {e}");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut response = Html(body).into_response();
    page_headers(response.headers_mut());
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, form_post_csp().clone());
    response
}

/// An error response: `error`, the exact `state` when one was sent, and `iss` (RFC 9207 §2), by `mode`.
pub fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    mode: ResponseMode,
    st: Option<&str>,
    error: &OAuthError,
) -> Response {
    let mut params = vec![
        ("error", error.code()),
        ("error_description", error.description()),
    ];
    if let Some(s) = st {
        params.push(("state", s));
    }
    // RFC 9207 is OpenID territory; WeChat and GitHub send no `iss`.
    if state.config.persona == Persona::Oidc {
        params.push(("iss", &state.issuer));
    }
    respond(state, redirect_uri, mode, &params)
}

/// Mints a code for `user` and sends `code`, `state` and `iss` back (RFC 6749 §4.1.2, RFC 9207 §2) by the
/// requested response mode.
/// Armed `authorize.*` faults for this client and user spoil the redirect here (and only here).
pub fn issue_code(state: &AppState, request: &AuthRequest, user: &UserConfig) -> Response {
    if matches!(
        state.config.persona,
        Persona::Entra | Persona::Apple | Persona::Google
    ) {
        let of = crate::quirks::AuthorizedFor {
            client_id: &request.client_id,
            user,
            scope: &request.scope,
            asked: request.persona.as_deref(),
        };
        if let Some(error) = crate::quirks::refuse_login(state, of) {
            return redirect_error(
                state,
                &request.redirect_uri,
                request.response_mode,
                request.state.as_deref(),
                &error,
            );
        }
    }
    let sub = user.sub.as_str();
    // 256 bits from the OS CSPRNG: well above the 128 bits of RFC 6749 §10.10.
    let code = random_token(32);
    let now = state.clock.now();
    let expires_at = now + state.config.code_ttl;
    let grant = AuthorizationCode {
        grant_id: random_token(16),
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri_param.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        sub: sub.to_owned(),
        auth_time: now,
        code_challenge: request.code_challenge.clone(),
        expires_at,
        persona: request.persona.clone(),
    };
    // A login for a back-channel client is kept as a session (its sid is the grant id), so that logout can
    // tell the client (Back-Channel Logout 1.0 §2.7). Other clients' logins cost nothing here.
    if request.backchannel {
        let session = Session {
            sub: sub.to_owned(),
            username: user.username.clone(),
            client_id: request.client_id.clone(),
            expires_at: now.saturating_add(
                state
                    .config
                    .refresh_token_ttl
                    .max(state.config.id_token_ttl),
            ),
        };
        if let Err(full) = state.sessions.insert(&grant.grant_id, session, now) {
            let error = OAuthError::from(full);
            return redirect_error(
                state,
                &request.redirect_uri,
                request.response_mode,
                request.state.as_deref(),
                &error,
            );
        }
    }
    // Until it expires; once redeemed, the token endpoint keeps a small spent record for replays.
    if let Err(full) = state.codes.insert(&code, grant, now) {
        let error = OAuthError::from(full);
        return redirect_error(
            state,
            &request.redirect_uri,
            request.response_mode,
            request.state.as_deref(),
            &error,
        );
    }
    let mut params = vec![("code", code.clone())];
    if let Some(s) = &request.state {
        params.push(("state", s.clone()));
    }
    let mut applied = Vec::new();
    match state.config.persona {
        Persona::Oidc => params.push(("iss", state.issuer.clone())),
        Persona::Wechat | Persona::Github => {}
        Persona::Entra | Persona::Apple | Persona::Google => {
            let of = crate::quirks::AuthorizedFor {
                client_id: &request.client_id,
                user,
                scope: &request.scope,
                asked: request.persona.as_deref(),
            };
            applied = crate::quirks::authorization_params(state, of, &mut params);
        }
    }
    let faults = state.faults.take(
        Point::Authorize,
        FaultContext {
            client_id: Some(&request.client_id),
            username: Some(&user.username),
        },
    );
    spoil::authorize(&faults, &mut params);
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut response = respond(state, &request.redirect_uri, request.response_mode, &params);
    let issued = params.iter().any(|(k, _)| *k == "code");
    Note {
        username: Some(user.username.clone()),
        client_id: Some(request.client_id.clone()),
        faults: (faults.iter().map(Fault::name))
            .chain(applied)
            .map(str::to_owned)
            .collect(),
        issued_code: issued.then(|| fingerprint(&code)),
        redirect_uri: request.redirect_uri_param.clone(),
        ..Note::default()
    }
    .attach(&mut response);
    response
}
