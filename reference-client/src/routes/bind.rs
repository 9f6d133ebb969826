//! The require-binding policy's second half: a binding ticket plus a phone number become a user and a token.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::Response;
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::{TX_COOKIE, complete_login};
use crate::db::{NewUser, Role};
use crate::error::ApiError;
use crate::startup::AppState;

/// `{ticket, phone}`.
#[derive(Debug, Deserialize)]
pub struct BindRequest {
    /// The ticket from the callback's `binding_required` answer.
    pub ticket: String,
    /// E.164 phone number, e.g. `+15555550101`.
    pub phone: String,
}

/// E.164: a `+` and 8 to 15 digits.
fn valid_phone(phone: &str) -> bool {
    phone
        .strip_prefix('+')
        .is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// `POST /api/auth/bind`: redeems a single-use ticket (same browser, unexpired) into a user + identity.
pub async fn bind(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Result<Json<BindRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    // Checked before the ticket is spent, so a typo does not force a new login.
    if !valid_phone(&req.phone) {
        return Err(ApiError::InvalidRequest(
            "phone must be in E.164 form, e.g. +15555550101".into(),
        ));
    }
    let browser = jar.get(TX_COOKIE).map(|c| c.value().to_owned());
    let pending = state
        .binding_tickets
        .take(
            &req.ticket,
            browser.as_deref(),
            state.now(),
            state.settings.binding_ticket_ttl.as_secs(),
        )
        .ok_or(ApiError::InvalidTicket)?;
    let new = NewUser {
        display_name: pending.display_name.unwrap_or_else(|| "New user".into()),
        role: Role::User,
        avatar_url: pending.avatar_url,
        phone: Some(req.phone),
    };
    let now = i64::try_from(state.now()).unwrap_or(i64::MAX);
    let provider = state.providers.name_for(&pending.issuer);
    let (issuer, subject) = (pending.issuer, pending.subject);
    let (user, _) = state
        .db
        .call(move |db| {
            db.find_or_create_user_via(provider.as_deref(), &issuer, &subject, &new, now)
        })
        .await?;
    complete_login(&state, jar, &user, None)
}

#[cfg(test)]
mod tests {
    #[test]
    fn phone_numbers_must_be_e164() {
        assert!(super::valid_phone("+15555550101"));
        assert!(!super::valid_phone("5555550101"));
        assert!(!super::valid_phone("+1555x550101"));
        assert!(!super::valid_phone("+1"));
    }
}
