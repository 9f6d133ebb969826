//! The ordered checks of an authorization request. Until the client and redirect URI are known to be good,
//! a failure is an error page; after that it is a redirect carrying `error` and `state` (RFC 6749 §4.1.2.1).

use std::collections::HashMap;

use crate::{
    error::OAuthError,
    model::{GrantType, Persona, PkcePolicy},
    state::AppState,
};

use super::request::{AuthRequest, ResponseMode, SCOPES};

/// Why a request was refused.
#[derive(Debug)]
pub enum Rejection {
    /// Client or redirect URI not trusted: answer with a page, never a redirect.
    Page {
        /// Error code shown.
        error: &'static str,
        /// Explanation shown.
        description: &'static str,
    },
    /// Everything else: redirect to the (verified) redirect URI.
    Redirect {
        /// The verified redirect URI.
        redirect_uri: String,
        /// The state to echo, if one was sent once.
        state: Option<String>,
        /// The error.
        error: OAuthError,
        /// How to send it.
        mode: ResponseMode,
    },
}

fn page(error: &'static str, description: &'static str) -> Rejection {
    Rejection::Page { error, description }
}

/// Runs the checks in order: client, redirect URI, duplicates, response type, grant, scope, PKCE.
pub fn check(state: &AppState, query: &str) -> Result<AuthRequest, Rejection> {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        params
            .entry(k.into_owned())
            .or_default()
            .push(v.into_owned());
    }
    let single = |name: &str| -> Result<Option<&String>, ()> {
        match params.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([one]) => Ok(Some(one)),
            Some(_) => Err(()),
        }
    };

    // 1. The client must be identified by exactly one known client_id.
    let client_id = match single("client_id") {
        Ok(Some(id)) => id.clone(),
        Ok(None) => return Err(page("invalid_request", "client_id is missing.")),
        Err(()) => return Err(page("invalid_request", "client_id is repeated.")),
    };
    let Some(client) = state.client(&client_id) else {
        return Err(page("invalid_client", "client_id is not registered."));
    };

    // 2. The redirect URI must be registered, compared as exact strings (RFC 9700 §2.1, §4.1.3).
    let registered = &client.config.redirect_uris;
    let (redirect_uri, redirect_uri_param) = match single("redirect_uri") {
        Ok(Some(uri)) if registered.iter().any(|r| r == uri) => (uri.clone(), Some(uri.clone())),
        Ok(Some(_)) => {
            return Err(page(
                "invalid_request",
                "redirect_uri is not registered for this client (exact match).",
            ));
        }
        // RFC 6749 §3.1.2.3: may be omitted only when exactly one is registered.
        Ok(None) if registered.len() == 1 => (registered[0].clone(), None),
        Ok(None) => {
            return Err(page(
                "invalid_request",
                "redirect_uri is missing and the client has several.",
            ));
        }
        Err(()) => return Err(page("invalid_request", "redirect_uri is repeated.")),
    };

    // From here on errors go back to the client. State is echoed only if it was sent exactly once.
    let sent_state = single("state").ok().flatten().cloned();
    // The response mode decides how every later error travels; one that cannot be honoured is itself
    // answered by the default mode (Multiple Response Types §2.1).
    let response_mode = match single("response_mode").map(|m| m.map(String::as_str)) {
        Ok(None | Some("query")) => ResponseMode::Query,
        Ok(Some("form_post")) => ResponseMode::FormPost,
        Ok(Some(_)) | Err(()) => {
            return Err(Rejection::Redirect {
                redirect_uri: redirect_uri.clone(),
                state: sent_state.clone(),
                error: OAuthError::InvalidRequest(
                    "response_mode must be query or form_post, sent once",
                ),
                mode: ResponseMode::Query,
            });
        }
    };
    let fail = |error: OAuthError| Rejection::Redirect {
        redirect_uri: redirect_uri.clone(),
        state: sent_state.clone(),
        error,
        mode: response_mode,
    };

    // 3. A repeated parameter is invalid_request (RFC 6749 §3.1).
    if params.values().any(|v| v.len() > 1) {
        return Err(fail(OAuthError::InvalidRequest("a parameter is repeated")));
    }
    let get = |name: &str| params.get(name).and_then(|v| v.first()).cloned();

    // 4. response_type (RFC 6749 §3.1.1).
    match get("response_type").as_deref() {
        None | Some("") => {
            return Err(fail(OAuthError::InvalidRequest("response_type is missing")));
        }
        Some("code") => {}
        Some(_) => return Err(fail(OAuthError::UnsupportedResponseType)),
    }

    // 5. The client must be allowed the authorization code grant.
    if !client
        .config
        .grant_types
        .contains(&GrantType::AuthorizationCode)
    {
        return Err(fail(OAuthError::UnauthorizedClient));
    }

    // 6. scope: order does not matter, unknown values are refused (RFC 6749 §3.3).
    let mut scope: Vec<String> = Vec::new();
    for s in get("scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
    {
        // Sign in with Apple's `name` scope (its `email` is the OpenID one); Entra's resource permissions
        // (`User.Read`, `https://graph.microsoft.com/.default`). Asked only when the scope is not one of
        // ours, so the OpenID path does no more work.
        let granted = SCOPES.contains(&s)
            || (s == "name" && state.config.persona == Persona::Apple)
            || (state.config.persona == Persona::Entra
                && crate::quirks::entra::is_resource_scope(s));
        if !granted {
            return Err(fail(OAuthError::InvalidScope(
                "an unknown scope was requested",
            )));
        }
        if !scope.iter().any(|x| x == s) {
            scope.push(s.to_owned());
        }
    }

    // 7. PKCE: S256 only (RFC 7636 §4.3, RFC 9700 §2.1.1); mandatory where the client's policy says so.
    let challenge = get("code_challenge");
    let method = get("code_challenge_method");
    let code_challenge = match (challenge, method.as_deref()) {
        (None, None) if client.config.pkce == PkcePolicy::Required || !client.is_confidential() => {
            return Err(fail(OAuthError::InvalidRequest(
                "code_challenge is required (PKCE S256)",
            )));
        }
        (None, None) => None,
        (None, Some(_)) => {
            return Err(fail(OAuthError::InvalidRequest(
                "code_challenge_method without code_challenge",
            )));
        }
        (Some(_), None | Some("plain")) => {
            return Err(fail(OAuthError::InvalidRequest(
                "code_challenge_method must be S256",
            )));
        }
        (Some(c), Some("S256")) => {
            // A S256 challenge is the base64url of 32 bytes: 43 characters (RFC 7636 §4.2).
            if c.len() != 43
                || !c
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(fail(OAuthError::InvalidRequest(
                    "code_challenge is not a base64url SHA-256",
                )));
            }
            Some(c)
        }
        (Some(_), Some(_)) => {
            return Err(fail(OAuthError::InvalidRequest(
                "code_challenge_method must be S256",
            )));
        }
    };

    // 8. prompt (Core §3.1.2.1): `none` must stand alone; the other values need nothing here (every login
    // shows the page unless it is completed headlessly).
    let prompt = get("prompt").unwrap_or_default();
    let prompts: Vec<&str> = prompt.split(' ').filter(|p| !p.is_empty()).collect();
    let prompt_none = prompts.contains(&"none");
    if prompt_none && prompts.len() > 1 {
        return Err(fail(OAuthError::InvalidRequest(
            "prompt=none cannot be combined with other values",
        )));
    }

    Ok(AuthRequest {
        client_id,
        redirect_uri,
        redirect_uri_param,
        scope,
        state: sent_state,
        nonce: get("nonce"),
        code_challenge,
        login_hint: get("login_hint"),
        backchannel: client.config.backchannel_logout_uri.is_some(),
        response_mode,
        prompt_none,
        reauthenticate: get("max_age").as_deref() == Some("0"),
        persona: None,
    })
}
