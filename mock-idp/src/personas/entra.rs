//! The Entra persona: Microsoft Entra ID's v2.0 endpoints, as "Microsoft identity platform and OpenID
//! Connect protocol" documents them, served under the tenant segment of the path:
//!
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration`: discovery. For a tenant GUID the issuer is
//!   `{base}/{tenant}/v2.0`; for the multi-tenant `common`, `organizations` and `consumers` it is the
//!   template `{base}/{tenantid}/v2.0`, with the literal placeholder.
//! - `GET /{tenant}/oauth2/v2.0/authorize`, `POST /{tenant}/oauth2/v2.0/token`,
//!   `GET /{tenant}/discovery/v2.0/keys`, `GET|POST /oidc/userinfo`.
//!
//! Its departures in the tokens are in `quirks/entra.rs`.

use axum::{
    Router,
    extract::{Path, RawQuery, State},
    http::HeaderMap,
    response::Response,
    routing::{get, post},
};

use crate::{
    authorize, conn::PeerAddr, discovery, discovery::Endpoints, faults::Point, grants,
    model::PersonaRequest, resource, state::AppState,
};

/// The Entra persona's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(grants::token).fallback(grants::token_wrong_method),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks))
        .route(
            "/oidc/userinfo",
            get(resource::userinfo).post(resource::userinfo),
        )
}

/// The multi-tenant path segments, whose discovery names the templated issuer.
pub const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

/// The issuer a tenant path's discovery names: the template for a multi-tenant segment.
pub(crate) fn issuer_of_path(state: &AppState, tenant: &str) -> String {
    if MULTI_TENANT.contains(&tenant) {
        format!("{}/{{tenantid}}/v2.0", state.issuer)
    } else {
        issuer_of_tenant(state, tenant)
    }
}

/// The issuer of tokens from directory tenant `tid`.
pub(crate) fn issuer_of_tenant(state: &AppState, tid: &str) -> String {
    format!("{}/{tid}/v2.0", state.issuer)
}

/// The endpoints under one tenant segment.
fn endpoints(tenant: &str) -> Endpoints {
    Endpoints {
        authorization: format!("/{tenant}/oauth2/v2.0/authorize"),
        token: format!("/{tenant}/oauth2/v2.0/token"),
        userinfo: Some("/oidc/userinfo".into()),
        jwks: format!("/{tenant}/discovery/v2.0/keys"),
        revocation: None,
        introspection: None,
        end_session: None,
    }
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration`.
async fn openid_configuration(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Response {
    let faults = state.faults.take(Point::Discovery, Default::default());
    let doc = discovery::metadata_at(
        &state,
        &issuer_of_path(&state, &tenant),
        &endpoints(&tenant),
    );
    crate::faults::spoil::discovery(&faults, doc)
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the OpenID checks, remembering the tenant segment.
async fn authorize(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
    peer: PeerAddr,
    headers: HeaderMap,
) -> Response {
    authorize::authorize_as(
        &state,
        query.as_deref().unwrap_or(""),
        peer,
        &headers,
        |_| {
            Ok(Some(Box::new(PersonaRequest {
                path_tenant: Some(tenant),
                ..PersonaRequest::default()
            })))
        },
    )
}
