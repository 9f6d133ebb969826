//! One provider's router: its endpoints for its persona, with the request log and headers around them.

use std::time::Duration;

use axum::{
    Router,
    extract::Request,
    http::{HeaderValue, header},
    routing::{get, post},
};
use tower_http::{set_header::SetResponseHeaderLayer, trace::TraceLayer};

use crate::{authorize, discovery, grants, model::Persona, personas, resource, state::AppState};

/// Builds the router for a state; tests may drive it with `tower::ServiceExt::oneshot` without a socket.
pub(crate) fn router(state: AppState) -> Router {
    // The persona is chosen once, here: its protocol's routes, over the same state.
    let routes = match state.config.persona {
        Persona::Oidc => oidc_routes(),
        Persona::Wechat => personas::wechat::routes(),
        Persona::Github => personas::github::routes(),
        Persona::Entra => personas::entra::routes(),
        Persona::Apple => personas::apple::routes(),
        Persona::Google => personas::google::routes(),
    };
    routes
        .route(authorize::LOGIN_PATH, post(authorize::login_submit))
        .route("/avatars/{file}", get(personas::avatars::avatar))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::logging::record,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(
            // One line per request: method, path (never the query: it carries codes), status and time.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    tracing::info_span!("http", method = %req.method(), path = %req.uri().path())
                })
                .on_request(())
                .on_response(
                    |res: &axum::response::Response, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(status = res.status().as_u16(), latency_us = latency.as_micros() as u64, "served");
                    },
                ),
        )
        .with_state(state)
}

/// The OpenID Connect persona's routes.
fn oidc_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::discovery),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::discovery),
        )
        .route("/jwks", get(discovery::jwks))
        .route("/keys/{tag}/jwks", get(discovery::moved_jwks))
        .route("/authorize", get(authorize::authorize))
        .route(
            "/token",
            post(grants::token).fallback(grants::token_wrong_method),
        )
        .route(
            "/userinfo",
            get(resource::userinfo).post(resource::userinfo),
        )
        .route("/revoke", post(resource::revoke))
        .route("/introspect", post(resource::introspect))
        // RP-Initiated Logout 1.0 §2: GET or POST.
        .route(
            crate::logout::LOGOUT_PATH,
            get(crate::logout::end_session).post(crate::logout::end_session),
        )
}
