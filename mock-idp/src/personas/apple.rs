//! The Apple persona: Sign in with Apple for the web, as "Sign in with Apple REST API" documents it:
//!
//! - `GET /.well-known/openid-configuration` (issuer: the provider's base, as `https://appleid.apple.com`).
//! - `GET /auth/authorize`, `POST /auth/token`, `GET /auth/keys`, `POST /auth/revoke`.
//!
//! Its departures in the tokens are in `quirks/apple.rs`.

use axum::{
    Router,
    extract::{RawQuery, State},
    http::HeaderMap,
    response::Response,
    routing::{get, post},
};

use serde_json::json;

use crate::{
    authorize, conn::PeerAddr, discovery, discovery::Endpoints, error::OAuthError, faults::Point,
    grants, resource, state::AppState,
};

/// The Apple persona's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/auth/authorize", get(authorize))
        .route(
            "/auth/token",
            post(grants::token).fallback(grants::token_wrong_method),
        )
        .route("/auth/keys", get(discovery::jwks))
        .route("/auth/revoke", post(resource::revoke))
}

/// Where Apple serves its endpoints.
fn endpoints() -> Endpoints {
    Endpoints {
        authorization: "/auth/authorize".into(),
        token: "/auth/token".into(),
        userinfo: None,
        jwks: "/auth/keys".into(),
        revocation: Some("/auth/revoke".into()),
        introspection: None,
        end_session: None,
    }
}

/// `GET /.well-known/openid-configuration`: Apple's document, with this provider's URLs. No
/// `authorization_response_iss_parameter_supported` (Apple sends no `iss` with the code), no userinfo.
async fn openid_configuration(State(state): State<AppState>) -> Response {
    let faults = state.faults.take(Point::Discovery, Default::default());
    let mut doc = discovery::metadata_at(&state, &state.issuer, &endpoints());
    let keep = [
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "revocation_endpoint",
        "jwks_uri",
        "id_token_signing_alg_values_supported",
    ];
    if let Some(map) = doc.as_object_mut() {
        map.retain(|k, _| keep.contains(&k.as_str()));
        for (k, v) in [
            ("response_types_supported", json!(["code"])),
            ("response_modes_supported", json!(["query", "form_post"])),
            ("subject_types_supported", json!(["pairwise"])),
            ("scopes_supported", json!(["openid", "email", "name"])),
            (
                "token_endpoint_auth_methods_supported",
                json!(["client_secret_post"]),
            ),
            (
                "claims_supported",
                json!([
                    "aud",
                    "email",
                    "email_verified",
                    "exp",
                    "iat",
                    "is_private_email",
                    "iss",
                    "nonce",
                    "nonce_supported",
                    "real_user_status",
                    "sub",
                    "auth_time",
                    "at_hash"
                ]),
            ),
        ] {
            map.insert(k.into(), v);
        }
    }
    crate::faults::spoil::discovery(&faults, doc)
}

/// `GET /auth/authorize`: the OpenID checks (with Apple's `name` scope), then Apple's own rule: when
/// `name` or `email` is asked, the response must come by `response_mode=form_post`.
async fn authorize(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    peer: PeerAddr,
    headers: HeaderMap,
) -> Response {
    authorize::authorize_as(
        &state,
        query.as_deref().unwrap_or(""),
        peer,
        &headers,
        |request| {
            let asks_user = request.scope.iter().any(|s| s == "name" || s == "email");
            if asks_user && request.response_mode != authorize::ResponseMode::FormPost {
                return Err(OAuthError::InvalidRequest(
                    "response_mode must be form_post when name or email scope is requested",
                ));
            }
            Ok(None)
        },
    )
}
