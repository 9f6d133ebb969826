//! Discovery (OIDC Discovery 1.0 §3, RFC 8414 §2) and the JWKS (RFC 7517 §5).

use axum::{
    extract::State,
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{
    faults::{Context, Fault, Point, spoil},
    requests::Note,
    state::AppState,
};

/// The metadata document; every endpoint here is served by this server.
pub fn metadata(state: &AppState) -> Value {
    let mut doc = json!({
        "issuer": state.issuer,
        "authorization_endpoint": state.url("/authorize"),
        "token_endpoint": state.url("/token"),
        "userinfo_endpoint": state.url("/userinfo"),
        "jwks_uri": state.url("/jwks"),
        "revocation_endpoint": state.url("/revoke"),
        "introspection_endpoint": state.url("/introspect"),
        "end_session_endpoint": state.url(crate::logout::LOGOUT_PATH),
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": state.id_token_algs(),
        // Core §5.3.2: a client registered with `userinfo_signed_response_alg` gets a JWT signed with
        // the provider's id_token key.
        "userinfo_signing_alg_values_supported": [state.keys.alg().as_str()],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": crate::authorize::SCOPES,
        "claims_supported": [
            "iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid",
            "preferred_username", "name", "given_name", "family_name", "picture",
            "email", "email_verified", "phone_number"
        ],
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
    });
    if state.faults.is_armed(&Fault::JwksMoved) {
        doc["jwks_uri"] = json!(state.url(&state.moved_jwks_path));
    }
    doc
}

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub async fn discovery(State(state): State<AppState>) -> Response {
    let faults = state.faults.take(Point::Discovery, Context::default());
    spoil::discovery(&faults, metadata(&state))
}

/// `GET /jwks`: every published key, the signing one first; 404 while `jwks.moved` is armed.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let faults = state.faults.take(Point::Jwks, Context::default());
    if faults.contains(&Fault::JwksMoved) {
        return moved_away(&faults);
    }
    spoil::jwks(&faults, state.jwks())
}

/// `GET /keys/{tag}/jwks`: the JWKS at its moved path ([`crate::state::Inner::moved_jwks_path`]) while
/// `jwks.moved` is armed; 404 for any other tag, or when the fault is not armed. The path is read whole
/// (a tenant's request arrives with `/t/NAME` stripped and the outer route's parameters still attached).
pub async fn moved_jwks(State(state): State<AppState>, uri: Uri) -> Response {
    if uri.path() != state.moved_jwks_path || !state.faults.is_armed(&Fault::JwksMoved) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let faults = state.faults.take(Point::Jwks, Context::default());
    spoil::jwks(&faults, state.jwks())
}

/// The old path's answer while the JWKS has moved: a bare 404, as for any path this server does not serve.
fn moved_away(faults: &[Fault]) -> Response {
    let mut response = StatusCode::NOT_FOUND.into_response();
    Note {
        faults: faults.iter().map(|f| f.name().to_owned()).collect(),
        ..Note::default()
    }
    .attach(&mut response);
    response
}
