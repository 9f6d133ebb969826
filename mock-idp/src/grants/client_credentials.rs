//! `grant_type=client_credentials` (RFC 6749 §4.4): an access token for the client itself, no id_token,
//! no refresh token (§4.4.3).

use super::Params;
use crate::{
    authorize::SCOPES,
    error::OAuthError,
    state::{AppState, RegisteredClient},
    tokens::{Issue, Issued, issue},
};

/// Issues a token to an authenticated confidential client.
pub fn exchange(
    state: &AppState,
    client: &RegisteredClient,
    params: &Params,
) -> Result<Issued, OAuthError> {
    if !client.is_confidential() {
        return Err(OAuthError::UnauthorizedClient);
    }
    let scope: Vec<String> = params
        .get("scope")
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    // User scopes mean nothing without a user.
    if scope.iter().any(|s| SCOPES.contains(&s.as_str())) {
        return Err(OAuthError::InvalidScope(
            "user scopes cannot be granted to a client",
        ));
    }
    issue(
        state,
        Issue {
            grant_id: None,
            client,
            sub: &client.config.client_id,
            scope: &scope,
            user: None,
            nonce: None,
            auth_time: state.clock.now(),
            refresh: false,
            id_token: false,
            refreshed: false,
            access: crate::tokens::AccessFormat::Jwt,
            access_ttl: None,
            refresh_ttl: None,
            minted: None,
        },
    )
}
