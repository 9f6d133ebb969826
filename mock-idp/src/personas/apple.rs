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

use crate::{
    authorize, conn::PeerAddr, discovery, discovery::Endpoints, faults::Point, grants, resource,
    state::AppState,
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

/// `GET /.well-known/openid-configuration`.
async fn openid_configuration(State(state): State<AppState>) -> Response {
    let faults = state.faults.take(Point::Discovery, Default::default());
    let doc = discovery::metadata_at(&state, &state.issuer, &endpoints());
    crate::faults::spoil::discovery(&faults, doc)
}

/// `GET /auth/authorize`.
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
        |_| Ok(None),
    )
}
