//! `grant_type=refresh_token` with rotation (RFC 6749 §6; RFC 9700 §4.14.2: a replayed refresh token
//! revokes its whole family).

use super::Params;
use crate::{
    error::OAuthError,
    model::Persona,
    state::{AppState, RegisteredClient},
    store::RefreshRedemption,
    tokens::{Issue, Issued, issue},
};

/// Rotates a refresh token and issues new tokens.
pub fn exchange(
    state: &AppState,
    client: &RegisteredClient,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let token = params.require("refresh_token", "refresh_token is missing")?;
    let asked: Option<Vec<String>> = params.get("scope").map(|s| {
        s.split(' ')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    });
    // RFC 6749 §6: a narrower scope may be asked for, never a wider one. Checked before the token is spent,
    // so a refused request leaves it usable and the client's retry is not taken for a replay.
    if let (Some(asked), Some(live)) = (&asked, state.refresh.get_unspent(token))
        && live.client_id == client.config.client_id
        && asked.iter().any(|a| !live.scope.contains(a))
    {
        return Err(OAuthError::InvalidScope("scope exceeds the original grant"));
    }
    // Apple and Google keep the refresh token they issued: the answer carries none and the token stays
    // usable until it expires or is revoked ("Generate and validate tokens"; "Using OAuth 2.0 for Web
    // Server Applications", refreshing an access token).
    let keeps = matches!(state.config.persona, Persona::Apple | Persona::Google);
    let spent = if keeps {
        match state.refresh.get_unspent(token) {
            Some(live) if live.client_id == client.config.client_id => {
                RefreshRedemption::Fresh(live)
            }
            _ => RefreshRedemption::Unknown,
        }
    } else {
        state.refresh.redeem(token, &client.config.client_id)
    };
    let grant = match spent {
        RefreshRedemption::Fresh(grant) => grant,
        RefreshRedemption::Replayed { grant_id } => {
            let (until, now) = (state.tokens_dead_by(&client.config), state.clock.now());
            if state.tokens.revoke_grant(&grant_id, until, now).is_err() {
                tracing::error!("the revoked-grant store is full: a replayed family stays valid");
            }
            tracing::warn!(client_id = %client.config.client_id, "refresh token replayed; its family is revoked");
            return Err(OAuthError::InvalidGrant(
                "the refresh token was already used",
            ));
        }
        RefreshRedemption::WrongClient | RefreshRedemption::Unknown => {
            return Err(OAuthError::InvalidGrant("unknown refresh token"));
        }
    };
    if state.clock.now() >= grant.expires_at || state.tokens.is_grant_revoked(&grant.grant_id) {
        return Err(OAuthError::InvalidGrant(
            "the refresh token has expired or was revoked",
        ));
    }
    let scope: Vec<String> = match asked {
        None => grant.scope.clone(),
        // Checked again on the grant actually spent (the check above only spares a usable token).
        Some(asked) if asked.iter().any(|a| !grant.scope.contains(a)) => {
            return Err(OAuthError::InvalidScope("scope exceeds the original grant"));
        }
        Some(asked) => asked,
    };
    let user = state
        .user_by_sub(&grant.sub)
        .ok_or(OAuthError::InvalidGrant("the user no longer exists"))?;
    issue(
        state,
        Issue {
            grant_id: Some(&grant.grant_id),
            client,
            sub: &grant.sub,
            scope: &scope,
            user: Some(&user),
            nonce: None,
            auth_time: grant.auth_time,
            refresh: !keeps,
            // Sign in with Apple issues an id_token whether or not `openid` was asked.
            id_token: scope.iter().any(|s| s == "openid") || state.config.persona == Persona::Apple,
            refreshed: true,
            access: crate::tokens::AccessFormat::Jwt,
            access_ttl: None,
            refresh_ttl: None,
            minted: None,
        },
    )
}
