//! `grant_type=authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.5–4.6, OIDC Core §3.1.3): the OpenID
//! front of the one code redemption ([`crate::redemption`]), under the persona's rules ([`CodeRules::of`]:
//! [`CodeRules::OPENID`] for OpenID Connect, Entra and Apple; Google's refresh rule).

use super::Params;
use crate::{
    error::OAuthError,
    redemption::{CodeError, CodeRequest, CodeRules, redeem},
    state::{AppState, RegisteredClient},
    tokens::Issued,
};

/// Exchanges a code for tokens.
pub fn exchange(
    state: &AppState,
    client: &RegisteredClient,
    params: &Params,
) -> Result<Issued, OAuthError> {
    let request = CodeRequest {
        code: params.require("code", "code is missing")?,
        redirect_uri: params.get("redirect_uri"),
        code_verifier: params.get("code_verifier"),
    };
    redeem(state, client, request, &CodeRules::of(state.config.persona))
        .map(|r| r.issued)
        .map_err(CodeError::into_oauth)
}
