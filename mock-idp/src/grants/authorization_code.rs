//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5–4.6, OIDC Core §3.1.3).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use subtle::ConstantTimeEq;

use super::Params;
use crate::{
    error::OAuthError,
    state::{AppState, RegisteredClient},
    store::Redemption,
    tokens::{Issue, Issued, issue},
};

/// A verifier is 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Exchanges a code for tokens.
pub fn exchange(
    state: &AppState,
    client: &RegisteredClient,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let code = params.require("code", "code is missing")?;
    // The spent code is remembered as long as the tokens of this redemption can live, so that a late replay
    // still revokes them; then it is forgotten.
    let spent_until = state.tokens_dead_by(&client.config);
    let grant = match state
        .codes
        .redeem(code, &client.config.client_id, spent_until)
    {
        Redemption::Fresh(grant) => grant,
        Redemption::Replayed { grant_id } => {
            // RFC 6749 §4.1.2: a code used twice revokes the tokens it produced.
            let now = state.clock.now();
            if state
                .tokens
                .revoke_grant(&grant_id, spent_until, now)
                .is_err()
            {
                tracing::error!(
                    "the revoked-grant store is full: a replayed code's tokens stay valid"
                );
            }
            tracing::warn!(client_id = %client.config.client_id, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::InvalidGrant("the code was already used"));
        }
        Redemption::WrongClient => {
            return Err(OAuthError::InvalidGrant(
                "the code was issued to another client",
            ));
        }
        Redemption::Unknown => return Err(OAuthError::InvalidGrant("unknown code")),
    };
    if state.clock.now() >= grant.expires_at {
        return Err(OAuthError::InvalidGrant("the code has expired"));
    }
    // RFC 6749 §4.1.3: the same redirect_uri as in the authorization request, when it had one.
    match (&grant.redirect_uri, params.get("redirect_uri")) {
        (Some(expected), Some(sent)) if expected == sent => {}
        (Some(_), _) => {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri differs from the authorization request",
            ));
        }
        (None, None) => {}
        (None, Some(sent))
            if client.config.redirect_uris.len() == 1 && client.config.redirect_uris[0] == sent => {
        }
        (None, Some(_)) => {
            return Err(OAuthError::InvalidGrant(
                "redirect_uri differs from the authorization request",
            ));
        }
    }
    // RFC 7636 §4.6, and RFC 9700 §4.8.2: a verifier without a challenge is a downgrade attempt.
    match (&grant.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if !verifier_well_formed(verifier) {
                return Err(OAuthError::InvalidGrant("code_verifier is malformed"));
            }
            let computed = B64.encode(crate::keys::sha256(verifier.as_bytes()));
            if !bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
                return Err(OAuthError::InvalidGrant(
                    "code_verifier does not match the challenge",
                ));
            }
        }
        (Some(_), None) => return Err(OAuthError::InvalidGrant("code_verifier is missing")),
        (None, Some(_)) => {
            return Err(OAuthError::InvalidGrant(
                "code_verifier sent but no challenge was",
            ));
        }
        (None, None) => {}
    }
    let user = state.user_by_sub(&grant.sub);
    let Some(user) = user else {
        return Err(OAuthError::InvalidGrant("the user no longer exists"));
    };
    let refresh = client
        .config
        .grant_types
        .contains(&crate::config::GrantType::RefreshToken);
    issue(
        state,
        Issue {
            grant_id: Some(&grant.grant_id),
            client,
            sub: &grant.sub,
            scope: &grant.scope,
            user: Some(&user),
            nonce: grant.nonce.as_deref(),
            auth_time: grant.auth_time,
            refresh,
            id_token: grant.scope.iter().any(|s| s == "openid"),
            refreshed: false,
            access: crate::tokens::AccessFormat::Jwt,
            access_ttl: None,
            refresh_ttl: None,
            minted: None,
        },
    )
}
