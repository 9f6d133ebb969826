//! The logged-in user's linked identities: list, and unlink (never the last one). Linking is a second
//! "Log in with …" while logged in (`routes::login`, `routes::callback`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::me::AuthUser;
use crate::db::UnlinkOutcome;
use crate::error::ApiError;
use crate::startup::AppState;

/// One linked identity as the API shows it.
#[derive(Debug, Serialize)]
pub struct IdentityView {
    /// Names it for `DELETE /api/me/identities/{id}`.
    pub id: i64,
    /// The configured provider's name, when known.
    pub provider: Option<String>,
    /// The OpenID issuer, or the `wechat:`/`github:` namespace.
    pub issuer: String,
    /// The provider's subject.
    pub subject: String,
}

/// `GET /api/me/identities`: `{"identities": [...]}` in linking order.
pub async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = state.db.call(move |db| db.identities_of(user.id)).await?;
    let views: Vec<IdentityView> = rows
        .into_iter()
        .map(|i| IdentityView {
            id: i.id,
            // Rows from before providers were named: the configured provider of their namespace.
            provider: i.provider.or_else(|| state.providers.name_for(&i.issuer)),
            issuer: i.issuer,
            subject: i.subject,
        })
        .collect();
    Ok(Json(serde_json::json!({ "identities": views })))
}

/// `DELETE /api/me/identities/{id}`: 204, or 409 `last_identity`, or 404.
pub async fn unlink(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let outcome = state
        .db
        .call(move |db| db.unlink_identity(user.id, id))
        .await?;
    match outcome {
        UnlinkOutcome::Unlinked => Ok(StatusCode::NO_CONTENT.into_response()),
        UnlinkOutcome::LastOne => Err(ApiError::LastIdentity),
        UnlinkOutcome::NotFound => Err(ApiError::NotFound),
    }
}
