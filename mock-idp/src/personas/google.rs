//! The Google persona: Google's OpenID Connect for web server applications, as "OpenID Connect" and
//! "Using OAuth 2.0 for Web Server Applications" document it:
//!
//! - `GET /.well-known/openid-configuration` (issuer: the provider's base, as `https://accounts.google.com`).
//! - `GET /o/oauth2/v2/auth` (`hd`, `access_type`, `prompt=consent`), `POST /token`, `GET /v1/userinfo`,
//!   `GET /oauth2/v3/certs`, `POST /revoke`.
//!
//! Its departures in the tokens are in `quirks/google.rs`.

use axum::{
    Router,
    extract::{RawQuery, State},
    http::HeaderMap,
    response::Response,
    routing::{get, post},
};

use crate::{
    PersonaRequest, authorize, conn::PeerAddr, discovery, discovery::Endpoints, error::OAuthError,
    faults::Point, grants, resource, state::AppState,
};

/// The Google persona's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/o/oauth2/v2/auth", get(authorize))
        .route(
            "/token",
            post(grants::token).fallback(grants::token_wrong_method),
        )
        .route(
            "/v1/userinfo",
            get(resource::userinfo).post(resource::userinfo),
        )
        .route("/oauth2/v3/certs", get(discovery::jwks))
        .route("/revoke", post(resource::revoke))
}

/// Where Google serves its endpoints.
fn endpoints() -> Endpoints {
    Endpoints {
        authorization: "/o/oauth2/v2/auth".into(),
        token: "/token".into(),
        userinfo: Some("/v1/userinfo".into()),
        jwks: "/oauth2/v3/certs".into(),
        revocation: Some("/revoke".into()),
        introspection: None,
        end_session: None,
    }
}

/// `GET /.well-known/openid-configuration`.
async fn openid_configuration(State(state): State<AppState>) -> Response {
    let faults = state.faults.take(Point::Discovery, Default::default());
    let mut doc = discovery::metadata_at(&state, &state.issuer, &endpoints());
    // Google sends `iss` in its authorization responses without declaring it.
    if let Some(map) = doc.as_object_mut() {
        map.remove("authorization_response_iss_parameter_supported");
    }
    crate::faults::spoil::discovery(&faults, doc)
}

/// `GET /o/oauth2/v2/auth`.
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
        |_| asked(query.as_deref().unwrap_or("")).map(|a| Some(Box::new(a))),
    )
}

/// What a Google authorization request asks beyond OpenID Connect: `hd` (recorded; a hint only, the
/// token carries the account's own domain), `access_type` (`online`, the default, or `offline`) and
/// whether `prompt` holds `consent`.
fn asked(query: &str) -> Result<PersonaRequest, OAuthError> {
    let mut asked = PersonaRequest::default();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        match &*name {
            "hd" if !value.is_empty() => asked.hd = Some(value.into_owned()),
            "access_type" => match &*value {
                "offline" => asked.offline = true,
                "online" => asked.offline = false,
                _ => {
                    return Err(OAuthError::InvalidRequest(
                        "access_type must be online or offline",
                    ));
                }
            },
            "prompt" => asked.consent = value.split(' ').any(|p| p == "consent"),
            _ => {}
        }
    }
    Ok(asked)
}
