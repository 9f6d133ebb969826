//! `GET /api/me/provider-profile`: the signed-in user's claims at the provider's userinfo, fetched with
//! the access token their login left on the server. When that token has expired (by its `expires_in` on
//! our clock, or userinfo answers 401), the refresh token is redeemed first (RFC 6749 §6) and the refreshed
//! id_token checked (OIDC Core §12.2); only then is the new access token used (CONFORMANCE RF-HAPPY,
//! RF-ID-TOKEN).

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::me::AuthUser;
use crate::db::User;
use crate::error::ApiError;
use crate::oidc::{Provider, UserinfoAnswer};
use crate::provider_tokens::ProviderTokens;
use crate::providers::Protocol;
use crate::startup::AppState;

/// Keeps the tokens of an OpenID login for the user's session (nothing for WeChat or GitHub logins).
/// They live as long as the session the login starts and die with a logout.
pub async fn keep_tokens(
    state: &AppState,
    user: &User,
    provider: &str,
    tokens: Option<ProviderTokens>,
) -> Result<(), ApiError> {
    let Some(tokens) = tokens else {
        return Ok(());
    };
    let (id, version, provider) = (user.id, user.session_version, provider.to_owned());
    let now = state.now();
    let keep_until = now.saturating_add(state.settings.jwt_ttl.as_secs());
    state
        .db
        .call(move |db| db.keep_provider_tokens(id, version, &provider, &tokens, keep_until, now))
        .await?;
    Ok(())
}

/// `GET /api/me/provider-profile`: `{"provider": NAME, "userinfo": {...}}`.
pub async fn provider_profile(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> Result<Json<Value>, ApiError> {
    provider_profile_with(&state, &user, |provider, tokens| async move {
        provider.refresh(&tokens).await
    })
    .await
}

/// The handler with its refresh step given: `refresh` redeems the refresh token and checks the
/// refreshed id_token ([`Provider::refresh`]); a test may weaken it. Refreshes of one user are
/// serialised: a second request waits and uses the first one's tokens instead of presenting the spent
/// refresh token again, which the provider would take for a replay (RFC 9700 §4.14.2).
pub async fn provider_profile_with<F, Fut>(
    state: &AppState,
    user: &User,
    refresh: F,
) -> Result<Json<Value>, ApiError>
where
    F: FnOnce(Arc<Provider>, ProviderTokens) -> Fut,
    Fut: Future<Output = Result<ProviderTokens, ApiError>>,
{
    let (name, tokens) = kept_tokens(state, user).await?;
    let provider = state
        .providers
        .get(Some(&name))
        .and_then(|p| match &p.protocol {
            Protocol::Oidc(oidc) | Protocol::Entra(oidc) => Some(oidc.clone()),
            _ => None,
        })
        .ok_or(ApiError::NoProviderTokens)?;
    if !tokens.access_expired(state.now())
        && let UserinfoAnswer::Claims(claims) = provider.userinfo(&tokens.access_token).await?
    {
        return answer(&name, &tokens, claims);
    }
    let _serialised = state.refresh_lock(user.id).lock().await;
    // Another request may have refreshed meanwhile: then its access token is the one to use.
    let (_, current) = kept_tokens(state, user).await?;
    let tokens = if current.access_token != tokens.access_token {
        current
    } else {
        match refresh(provider.clone(), current).await {
            Ok(tokens) => {
                let (id, kept) = (user.id, tokens.clone());
                state
                    .db
                    .call(move |db| db.refreshed_provider_tokens(id, &kept))
                    .await?;
                tokens
            }
            Err(e) => {
                // The refresh token is spent or refused, and a refused id_token says nothing good
                // about the rest of the answer: nothing of it is kept or used.
                let id = user.id;
                state
                    .db
                    .call(move |db| db.forget_provider_tokens(id))
                    .await?;
                tracing::warn!(user_id = user.id, error = %e, "refreshing the provider's tokens failed");
                return Err(ApiError::RefreshFailed(e.to_string()));
            }
        }
    };
    match provider.userinfo(&tokens.access_token).await? {
        UserinfoAnswer::Claims(claims) => answer(&name, &tokens, claims),
        UserinfoAnswer::Unauthorized => Err(ApiError::Provider(
            "userinfo refused the refreshed access token".into(),
        )),
    }
}

async fn kept_tokens(state: &AppState, user: &User) -> Result<(String, ProviderTokens), ApiError> {
    let (id, version, now) = (user.id, user.session_version, state.now());
    state
        .db
        .call(move |db| db.provider_tokens(id, version, now))
        .await?
        .ok_or(ApiError::NoProviderTokens)
}

/// Userinfo's claims, believed only when they are about the login's subject (Core §5.3.2).
fn answer(
    provider: &str,
    tokens: &ProviderTokens,
    claims: serde_json::Map<String, Value>,
) -> Result<Json<Value>, ApiError> {
    if claims.get("sub").and_then(Value::as_str) != Some(tokens.subject.as_str()) {
        return Err(ApiError::Provider(
            "userinfo names another subject than the login".into(),
        ));
    }
    Ok(Json(json!({"provider": provider, "userinfo": claims})))
}
