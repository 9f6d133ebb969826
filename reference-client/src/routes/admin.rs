//! Admin-only endpoints: 403 `forbidden` for ordinary users.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::UserView;
use super::me::AuthUser;
use crate::db::Role;
use crate::error::ApiError;
use crate::startup::AppState;

/// `{"users": [...]}`.
#[derive(Debug, Serialize)]
pub struct UserList {
    /// Every user, with `disabled`.
    pub users: Vec<AdminUserView>,
}

/// A user as an admin sees it.
#[derive(Debug, Serialize)]
pub struct AdminUserView {
    /// The public fields.
    #[serde(flatten)]
    pub user: UserView,
    /// Whether the user is disabled.
    pub disabled: bool,
}

/// `GET /api/admin/users`.
pub async fn list_users(
    State(state): State<AppState>,
    AuthUser(me): AuthUser,
) -> Result<Json<UserList>, ApiError> {
    if me.role != Role::Admin {
        return Err(ApiError::Forbidden);
    }
    let users = state
        .db
        .call(|db| db.list_users())
        .await?
        .iter()
        .map(|u| AdminUserView {
            user: u.into(),
            disabled: u.disabled,
        })
        .collect();
    Ok(Json(UserList { users }))
}
