//! The test hooks of a conformance run (`test_hooks = true`, loopback only): what a scenario must set up
//! or observe that no user can do over the app's own API. They follow the hooks a `conform` target file
//! names (harness `http_target`): seed a user bound to an identity, count users, move the clock and put
//! it back, sign an app token with the app's own key. None of them exists unless configured.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::{NewUser, Role};
use crate::error::ApiError;
use crate::startup::AppState;

/// The hooks' routes, under `/test/`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/test/users", post(seed_user))
        .route("/test/users/bound", post(users_bound_to))
        .route("/test/users/count", get(user_count))
        .route("/test/clock", post(advance_clock))
        .route("/test/clock/reset", post(reset_clock))
        .route("/test/tokens", post(forge_token))
}

/// `POST /test/users`: a user bound to (issuer, subject).
#[derive(Debug, Deserialize)]
pub struct SeedUser {
    display_name: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
    #[serde(default)]
    disabled: bool,
    issuer: String,
    subject: String,
    #[serde(default)]
    phone: Option<String>,
}

async fn seed_user(
    State(state): State<AppState>,
    Json(seed): Json<SeedUser>,
) -> Result<Json<Value>, ApiError> {
    let role = match seed.role.as_deref() {
        None => Role::User,
        Some(name) => Role::parse(name)
            .ok_or_else(|| ApiError::InvalidRequest(format!("unknown role {name:?}")))?,
    };
    let now = i64::try_from(state.clock.now_unix()).unwrap_or(i64::MAX);
    let id = state
        .db
        .call(move |db| {
            let user = db.add_user(
                &NewUser {
                    display_name: seed.display_name,
                    role,
                    avatar_url: seed.avatar_url,
                    phone: seed.phone,
                },
                now,
            )?;
            db.bind_identity(&seed.issuer, &seed.subject, user.id, now)?;
            if seed.disabled {
                db.set_disabled(user.id, true)?;
            }
            Ok(user.id)
        })
        .await?;
    Ok(Json(json!({ "id": id })))
}

/// `POST /test/users/bound` `{issuer, subject}`.
#[derive(Debug, Deserialize)]
pub struct Identity {
    issuer: String,
    subject: String,
}

async fn users_bound_to(
    State(state): State<AppState>,
    Json(identity): Json<Identity>,
) -> Result<Json<Value>, ApiError> {
    let count = state
        .db
        .call(move |db| db.count_users_bound_to(&identity.issuer, &identity.subject))
        .await?;
    Ok(Json(json!({ "count": count })))
}

async fn user_count(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let count = state.db.call(|db| Ok(db.list_users()?.len())).await?;
    Ok(Json(json!({ "count": count })))
}

/// `POST /test/clock` `{seconds}`.
#[derive(Debug, Deserialize)]
pub struct Advance {
    seconds: u64,
}

async fn advance_clock(State(state): State<AppState>, Json(by): Json<Advance>) -> Json<Value> {
    state
        .clock
        .advance(std::time::Duration::from_secs(by.seconds));
    Json(json!({ "now": state.clock.now_unix() }))
}

async fn reset_clock(State(state): State<AppState>) -> Json<Value> {
    state.clock.reset();
    Json(json!({ "now": state.clock.now_unix() }))
}

/// `POST /test/tokens` `{claims}`.
#[derive(Debug, Deserialize)]
pub struct Forge {
    claims: Value,
}

async fn forge_token(
    State(state): State<AppState>,
    Json(forge): Json<Forge>,
) -> Result<Json<Value>, ApiError> {
    let token = state.jwt.sign_claims(&forge.claims)?;
    Ok(Json(json!({ "token": token })))
}
