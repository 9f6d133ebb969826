//! Steps 3–6: the frontend posts the callback parameters; the backend checks the transaction, exchanges the
//! code, verifies the id_token, finds the user, and only then issues its own token.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::{Deserialize, Serialize};

use super::provider_profile::keep_tokens;
use super::{TX_COOKIE, complete_login};
use crate::config::UnknownUserPolicy;
use crate::db::{LinkOutcome, NewUser, Role};
use crate::error::ApiError;
use crate::providers::Protocol;
use crate::startup::AppState;
use crate::store::{PendingBinding, TakeError};

/// What the callback page read from its URL.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackRequest {
    /// The authorization code.
    pub code: Option<String>,
    /// The state the provider echoed.
    pub state: Option<String>,
    /// RFC 9207 issuer of the authorization response.
    pub iss: Option<String>,
    /// An error the provider returned instead of a code.
    pub error: Option<String>,
    /// Its description (logged only).
    pub error_description: Option<String>,
    /// Sign in with Apple's `user` form field (name and email, unsigned), sent on a user's first
    /// authorization only: a display name for a new account at most, never an identity or an email.
    pub user: Option<String>,
}

/// The body when the policy is require-binding and the identity is new.
#[derive(Debug, Serialize)]
pub struct BindingRequired {
    /// Always `binding_required`.
    pub status: &'static str,
    /// Single-use ticket for `POST /api/auth/bind`.
    pub binding_ticket: String,
    /// Seconds the ticket stays valid.
    pub expires_in: u64,
}

/// `POST /api/auth/callback` with `{code, state, iss?, error?, error_description?}`.
pub async fn callback(
    State(state): State<AppState>,
    jar: CookieJar,
    body: Result<Json<CallbackRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::InvalidRequest(e.body_text()))?;
    let browser = jar.get(TX_COOKIE).map(|c| c.value().to_owned());

    // The transaction is taken (removed) before anything else, in particular before any network call: a
    // replayed callback finds nothing and never reaches the token endpoint (CONFORMANCE ST-SINGLE-USE).
    let tx_state = req
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(ApiError::InvalidState("missing state"))?;
    let tx = state
        .transactions
        .take(
            tx_state,
            browser.as_deref(),
            state.now(),
            state.settings.transaction_ttl.as_secs(),
        )
        .map_err(|e| match e {
            TakeError::Unknown => ApiError::InvalidState("unknown or already used state"),
            TakeError::OtherBrowser => ApiError::InvalidState("state belongs to another browser"),
            TakeError::Expired => ApiError::InvalidState("login transaction expired"),
        })?;

    // The provider the browser was sent to: the transaction names it, the callback cannot choose another.
    let provider = state
        .providers
        .get(Some(&tx.provider))
        .ok_or(ApiError::InvalidState(
            "the login's provider is no longer configured",
        ))?;

    // RFC 9207 §2.4: the response must come from the issuer we sent the browser to (ST-ISS-MIXUP).
    match (&provider.protocol, req.iss.as_deref()) {
        (Protocol::Oidc(oidc), Some(iss)) if iss == oidc.issuer() => {}
        (Protocol::Oidc(_), Some(_)) => {
            return Err(ApiError::IssuerMismatch(
                "iss parameter is not the configured issuer",
            ));
        }
        (Protocol::Oidc(oidc), None) => {
            if oidc
                .discovery()
                .await?
                .authorization_response_iss_parameter_supported
            {
                return Err(ApiError::IssuerMismatch("iss parameter missing"));
            }
        }
        // WeChat and GitHub send no `iss`: one in their callback came from somewhere else.
        (_, Some(_)) => {
            return Err(ApiError::IssuerMismatch(
                "iss parameter on a provider that sends none",
            ));
        }
        (_, None) => {}
    }

    // RFC 6749 §4.1.2.1: an error response ends the transaction (ST-ERROR-CALLBACK).
    if let Some(error) = req.error.as_deref() {
        tracing::info!(error, description = ?req.error_description, "provider returned an error");
        return Err(if error == "access_denied" {
            ApiError::AccessDenied
        } else {
            ApiError::Provider(format!("authorization error {error}"))
        });
    }
    let code = req
        .code
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::InvalidRequest("missing code".into()))?;

    let login = provider
        .complete(code, &tx.pkce_verifier, &tx.nonce, req.user.as_deref())
        .await?;
    let now = i64::try_from(state.now()).unwrap_or(i64::MAX);

    // A login started while logged in links this identity to that user, unless it is someone else's.
    if let Some(user_id) = tx.link_user {
        let (name, ns, subject) = (
            provider.name.clone(),
            login.namespace.clone(),
            login.subject.clone(),
        );
        let outcome = state
            .db
            .call(move |db| db.link_identity(&name, &ns, &subject, user_id, now))
            .await?;
        if outcome == LinkOutcome::OtherUser {
            return Err(ApiError::IdentityInUse);
        }
        let user = state
            .db
            .call(move |db| db.get_user(user_id))
            .await?
            .ok_or(ApiError::InvalidToken("unknown user"))?;
        tracing::info!(user_id, provider = %provider.name, "identity linked");
        if !user.disabled {
            keep_tokens(&state, &user, &provider.name, login.tokens).await?;
        }
        return complete_login(&state, jar, &user, tx.return_to);
    }

    // Step 5: the user is found by (provider namespace, subject) only, never by email (UM-KEY,
    // NP-IDENTITY-KEY, NP-NO-EMAIL-LINK).
    let (issuer, subject) = (login.namespace.clone(), login.subject.clone());
    let found = state
        .db
        .call(move |db| db.find_by_identity(&issuer, &subject))
        .await?;
    let user = match found {
        Some(user) => user,
        None => match provider.policy {
            UnknownUserPolicy::Reject => return Err(ApiError::UnknownUser),
            UnknownUserPolicy::AutoCreate => {
                let new = NewUser {
                    display_name: login.name.clone().unwrap_or_else(|| "New user".into()),
                    role: Role::User,
                    avatar_url: login.picture.clone(),
                    phone: None,
                };
                let (issuer, subject) = (login.namespace.clone(), login.subject.clone());
                let name = provider.name.clone();
                let (user, created) = state
                    .db
                    .call(move |db| {
                        db.find_or_create_user_via(Some(&name), &issuer, &subject, &new, now)
                    })
                    .await?;
                if created {
                    tracing::info!(user_id = user.id, "auto-created user on first login");
                }
                user
            }
            UnknownUserPolicy::RequireBinding => {
                let ttl = state.settings.binding_ticket_ttl.as_secs();
                let ticket = state.binding_tickets.issue(
                    PendingBinding {
                        issuer: login.namespace,
                        subject: login.subject,
                        display_name: login.name,
                        avatar_url: login.picture,
                        browser_binding: tx.browser_binding,
                        created_at: state.now(),
                    },
                    state.now(),
                    ttl,
                )?;
                return Ok(Json(BindingRequired {
                    status: "binding_required",
                    binding_ticket: ticket,
                    expires_in: ttl,
                })
                .into_response());
            }
        },
    };
    // The hint of this user's logout, and the provider session a back-channel logout may name.
    if let Some(id_token) = login.id_token.clone() {
        let (id, sid) = (user.id, login.sid.clone());
        state
            .db
            .call(move |db| db.set_login_hint(id, &id_token, sid.as_deref()))
            .await?;
    }
    // A verified email (Apple, a relay address included) is kept as the contact address, after the user
    // was found by identity: it never chose the user.
    let user = match login.email.clone() {
        Some(email) if user.email.as_deref() != Some(email.as_str()) => {
            let id = user.id;
            state.db.call(move |db| db.set_email(id, &email)).await?;
            state
                .db
                .call(move |db| db.get_user(id))
                .await?
                .ok_or(ApiError::InvalidToken("unknown user"))?
        }
        _ => user,
    };
    if !user.disabled {
        keep_tokens(&state, &user, &provider.name, login.tokens).await?;
    }
    complete_login(&state, jar, &user, tx.return_to)
}
