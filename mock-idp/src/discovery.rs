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

/// Where a provider serves its endpoints: paths below its issuer's base (`state.url`). An OpenID persona
/// (`entra`, `apple`, `google`) serves the OpenID core at its provider's paths; `None` leaves the endpoint
/// out of discovery.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    /// `authorization_endpoint`.
    pub authorization: String,
    /// `token_endpoint`.
    pub token: String,
    /// `userinfo_endpoint`.
    pub userinfo: Option<String>,
    /// `jwks_uri`.
    pub jwks: String,
    /// `revocation_endpoint`.
    pub revocation: Option<String>,
    /// `introspection_endpoint`.
    pub introspection: Option<String>,
    /// `end_session_endpoint`.
    pub end_session: Option<String>,
}

impl Endpoints {
    /// The OpenID Connect persona's paths.
    pub(crate) fn openid() -> Endpoints {
        Endpoints {
            authorization: "/authorize".into(),
            token: "/token".into(),
            userinfo: Some("/userinfo".into()),
            jwks: "/jwks".into(),
            revocation: Some("/revoke".into()),
            introspection: Some("/introspect".into()),
            end_session: Some(crate::logout::LOGOUT_PATH.into()),
        }
    }
}

/// The metadata document; every endpoint here is served by this server.
pub fn metadata(state: &AppState) -> Value {
    metadata_at(state, &state.issuer, &Endpoints::openid())
}

/// The metadata document naming `issuer` and the endpoints at `at`.
pub(crate) fn metadata_at(state: &AppState, issuer: &str, at: &Endpoints) -> Value {
    let optional = |path: &Option<String>| path.as_ref().map(|p| state.url(p));
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": state.url(&at.authorization),
        "token_endpoint": state.url(&at.token),
        "userinfo_endpoint": optional(&at.userinfo),
        "jwks_uri": state.url(&at.jwks),
        "revocation_endpoint": optional(&at.revocation),
        "introspection_endpoint": optional(&at.introspection),
        "end_session_endpoint": optional(&at.end_session),
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
    if let Some(map) = doc.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
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
