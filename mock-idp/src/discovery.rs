//! Discovery (OIDC Discovery 1.0 §3, RFC 8414 §2) and the JWKS (RFC 7517 §5).

use axum::{extract::State, response::Response};
use serde_json::{Value, json};

use crate::{
    faults::{Context, Point, spoil},
    state::AppState,
};

/// The metadata document; every endpoint here is served by this server.
pub fn metadata(state: &AppState) -> Value {
    json!({
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
    })
}

/// `GET /.well-known/openid-configuration` and `/.well-known/oauth-authorization-server`.
pub async fn discovery(State(state): State<AppState>) -> Response {
    let faults = state.faults.take(Point::Discovery, Context::default());
    spoil::discovery(&faults, metadata(&state))
}

/// `GET /jwks`: every published key, the signing one first.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let faults = state.faults.take(Point::Jwks, Context::default());
    spoil::jwks(&faults, state.jwks())
}
