//! The Entra persona: Microsoft Entra ID's v2.0 endpoints, as "Microsoft identity platform and OpenID
//! Connect protocol" documents them, served under the tenant segment of the path:
//!
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration`: discovery. For a tenant GUID the issuer is
//!   `{base}/{tenant}/v2.0`; for the multi-tenant `common` and `organizations` it is the template
//!   `{base}/{tenantid}/v2.0`, with the literal placeholder; `consumers` names the consumer tenant's
//!   issuer, as Microsoft's does.
//!
//! A tenant segment that is neither a GUID nor one of the three names is answered as Entra does:
//! AADSTS90002 (a JSON error at discovery and the token endpoint, an error page at authorize).
//! - `GET /{tenant}/oauth2/v2.0/authorize`, `POST /{tenant}/oauth2/v2.0/token`,
//!   `GET /{tenant}/discovery/v2.0/keys`, `GET|POST /oidc/userinfo`.
//!
//! Its departures in the tokens are in `quirks/entra.rs`.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;

use crate::{
    authorize,
    conn::PeerAddr,
    discovery,
    discovery::Endpoints,
    faults::Point,
    grants,
    model::PersonaRequest,
    quirks::entra::{CONSUMER_TENANT, is_guid},
    resource,
    state::AppState,
};

/// The Entra persona's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{directory}/v2.0/.well-known/openid-configuration",
            get(openid_configuration),
        )
        .route("/{directory}/oauth2/v2.0/authorize", get(authorize))
        .route(
            "/{directory}/oauth2/v2.0/token",
            post(token).fallback(grants::token_wrong_method),
        )
        .route("/{directory}/discovery/v2.0/keys", get(discovery::jwks))
        .route(
            "/oidc/userinfo",
            get(resource::userinfo).post(resource::userinfo),
        )
}

/// The `{directory}` segment (Entra's tenant), read by name: under a mock-idp tenant (`/t/{tenant}/…`)
/// the outer route's parameters come along, so the inner one needs a name of its own.
#[derive(Debug, serde::Deserialize)]
struct TenantPath {
    directory: String,
}

/// The multi-tenant path segments, whose discovery names the templated issuer.
pub const MULTI_TENANT: [&str; 3] = ["common", "organizations", "consumers"];

/// The issuer a tenant path's discovery names: the template for `common` and `organizations`, the
/// consumer tenant's issuer for `consumers`.
pub(crate) fn issuer_of_path(state: &AppState, tenant: &str) -> String {
    match tenant {
        "common" | "organizations" => format!("{}/{{tenantid}}/v2.0", state.issuer),
        "consumers" => issuer_of_tenant(state, CONSUMER_TENANT),
        guid => issuer_of_tenant(state, guid),
    }
}

/// The issuer of tokens from directory tenant `tid`.
pub(crate) fn issuer_of_tenant(state: &AppState, tid: &str) -> String {
    crate::quirks::entra::issuer_of_tenant(state, tid)
}

/// Whether a path's tenant segment is one Entra serves: a GUID or a multi-tenant name.
pub fn known_tenant(tenant: &str) -> bool {
    MULTI_TENANT.contains(&tenant) || is_guid(tenant)
}

/// The AADSTS90002 description for an unknown tenant segment.
const TENANT_NOT_FOUND: &str = "AADSTS90002: Tenant not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.";

/// Entra's JSON error for an unknown tenant: `error`, `error_description` starting with the AADSTS
/// code, `error_codes`.
fn tenant_not_found(error: &str) -> Response {
    let body = json!({
        "error": error,
        "error_description": TENANT_NOT_FOUND,
        "error_codes": [90002],
    });
    let mut response = (StatusCode::BAD_REQUEST, Json(body)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

/// `POST /{tenant}/oauth2/v2.0/token`: the OpenID token endpoint under a known tenant segment.
async fn token(
    state: State<AppState>,
    Path(TenantPath { directory: tenant }): Path<TenantPath>,
    peer: PeerAddr,
    headers: HeaderMap,
    query: RawQuery,
    body: Bytes,
) -> Response {
    if !known_tenant(&tenant) {
        return tenant_not_found("invalid_request");
    }
    grants::token(state, peer, headers, query, body).await
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
    Path(TenantPath { directory: tenant }): Path<TenantPath>,
) -> Response {
    if !known_tenant(&tenant) {
        return tenant_not_found("invalid_tenant");
    }
    let faults = state.faults.take(Point::Discovery, Default::default());
    let mut doc = discovery::metadata_at(
        &state,
        &issuer_of_path(&state, &tenant),
        &endpoints(&tenant),
    );
    // As Microsoft's document: no RFC 9207 `iss` in the authorization response, no back-channel
    // logout, pairwise subjects, and the tenant claims.
    if let Some(map) = doc.as_object_mut() {
        for k in [
            "authorization_response_iss_parameter_supported",
            "backchannel_logout_supported",
            "backchannel_logout_session_supported",
        ] {
            map.remove(k);
        }
        map.insert("subject_types_supported".into(), json!(["pairwise"]));
        map.insert(
            "claims_supported".into(),
            json!([
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "name",
                "preferred_username",
                "email",
                "tid",
                "oid",
                "ver"
            ]),
        );
    }
    crate::faults::spoil::discovery(&faults, doc)
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the OpenID checks, remembering the tenant segment.
async fn authorize(
    State(state): State<AppState>,
    Path(TenantPath { directory: tenant }): Path<TenantPath>,
    RawQuery(query): RawQuery,
    peer: PeerAddr,
    headers: HeaderMap,
) -> Response {
    if !known_tenant(&tenant) {
        return authorize::error_page(
            &state,
            StatusCode::BAD_REQUEST,
            "invalid_tenant",
            TENANT_NOT_FOUND,
        );
    }
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
