//! The one redemption of an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6, OIDC Core §3.1.3.2), which
//! every front's token endpoint calls: the OpenID grant (`grants/authorization_code.rs`) and each persona's
//! (`personas/`). What differs between providers is a [`CodeRules`] value, never a copy of the steps, so a
//! persona is added by choosing values ([`CodeRules::of`]); each front maps [`CodeError`] to its own wire
//! format.
//!
//! The steps, in order: spend the code atomically (a replay revokes the first redemption's tokens), its
//! client, its expiry, the `redirect_uri`, PKCE, its user, then issue the tokens.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
use subtle::ConstantTimeEq;

use crate::{
    error::OAuthError,
    model::{GrantType, Persona, UserConfig},
    state::{AppState, RegisteredClient},
    store::{AuthorizationCode, Redemption},
    tokens::{AccessFormat, Issue, Issued, issue},
};

/// How a provider redeems codes and what it issues for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CodeRules {
    /// How the token request's `redirect_uri` is held against the authorization request's.
    pub redirect_uri: RedirectRule,
    /// Whether PKCE applies (RFC 7636 §4.6): a challenge needs its verifier, a verifier needs a challenge.
    pub pkce: bool,
    /// Whether an id_token (with the authorization request's nonce) is issued when `openid` was granted.
    pub id_token: bool,
    /// How the access token looks.
    pub access: AccessRule,
    /// When a refresh token comes with it.
    pub refresh: RefreshRule,
    /// The access token's lifetime when the client sets none; `None`: the provider's `access_token_ttl`.
    pub access_ttl: Option<u64>,
    /// The refresh token's lifetime; `None`: the provider's `refresh_token_ttl`.
    pub refresh_ttl: Option<u64>,
}

/// How the token request's `redirect_uri` is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RedirectRule {
    /// RFC 6749 §4.1.3: required and identical when the authorization request had one; when it had none,
    /// optional, and if sent it must be the client's only registered URI.
    Rfc6749,
    /// Checked only when the token request sends one: then identical to the authorization request's (or,
    /// when that had none, the client's first registered URI). GitHub's rule.
    IfSent,
    /// Not read: the token request names none, the code is bound to the app (WeChat).
    Unchecked,
}

/// The access token's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessRule {
    /// A signed JWT (RFC 9068).
    Jwt,
    /// Opaque, with `lasting`'s prefix, or `expiring`'s for a client with its own `access_token_ttl`
    /// (GitHub's `gho_` and `ghu_`).
    Opaque {
        /// The prefix of tokens that do not expire by time.
        lasting: &'static str,
        /// The prefix of expiring tokens.
        expiring: &'static str,
    },
}

impl AccessRule {
    /// The format of the tokens issued to `client`.
    pub(crate) fn format(self, client: &RegisteredClient) -> AccessFormat {
        match self {
            AccessRule::Jwt => AccessFormat::Jwt,
            AccessRule::Opaque { expiring, .. } if client.config.access_token_ttl.is_some() => {
                AccessFormat::Opaque(expiring)
            }
            AccessRule::Opaque { lasting, .. } => AccessFormat::Opaque(lasting),
        }
    }
}

/// When a code's tokens include a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshRule {
    /// When the client is registered for the `refresh_token` grant (OpenID Connect).
    IfGranted,
    /// Always (WeChat).
    Always,
    /// When the client has its own `access_token_ttl`, i.e. gets expiring tokens (GitHub).
    IfExpiring,
    /// Google: when the client is registered for the `refresh_token` grant, the request asked
    /// `access_type=offline`, and this is the user's first consent to the client or the request sent
    /// `prompt=consent` ([`offline_consent`]).
    OfflineOnConsent,
}

impl RefreshRule {
    /// Whether `client` gets a refresh token.
    pub(crate) fn applies(self, client: &RegisteredClient) -> bool {
        match self {
            RefreshRule::IfGranted | RefreshRule::OfflineOnConsent => {
                client.config.grant_types.contains(&GrantType::RefreshToken)
            }
            RefreshRule::Always => true,
            RefreshRule::IfExpiring => client.config.access_token_ttl.is_some(),
        }
    }
}

impl CodeRules {
    /// OpenID Connect's token endpoint: RFC 6749's redirect rule, PKCE, id_tokens, JWT access tokens, the
    /// provider's lifetimes.
    pub(crate) const OPENID: CodeRules = CodeRules {
        redirect_uri: RedirectRule::Rfc6749,
        pkce: true,
        id_token: true,
        access: AccessRule::Jwt,
        refresh: RefreshRule::IfGranted,
        access_ttl: None,
        refresh_ttl: None,
    };

    /// The rules of a persona's token endpoint: the one table to extend when a persona is added.
    pub(crate) fn of(persona: Persona) -> CodeRules {
        let lifetimes = CodeRules {
            access_ttl: persona.access_ttl(),
            refresh_ttl: persona.refresh_ttl(),
            ..CodeRules::OPENID
        };
        match persona {
            // OpenID Connect with quirks: the quirks sit in the claims (`quirks/`), not in the code rules.
            Persona::Oidc | Persona::Entra | Persona::Apple => CodeRules::OPENID,
            // A refresh token only for `access_type=offline`, on the first consent or `prompt=consent`.
            Persona::Google => CodeRules {
                refresh: RefreshRule::OfflineOnConsent,
                ..CodeRules::OPENID
            },
            // The website login: no redirect URI, no PKCE, no id_token; a refresh token always.
            Persona::Wechat => CodeRules {
                redirect_uri: RedirectRule::Unchecked,
                pkce: false,
                id_token: false,
                refresh: RefreshRule::Always,
                ..lifetimes
            },
            // OAuth apps: the redirect URI checked when sent, opaque tokens, a refresh token only with
            // expiring tokens.
            Persona::Github => CodeRules {
                redirect_uri: RedirectRule::IfSent,
                pkce: false,
                id_token: false,
                access: AccessRule::Opaque {
                    lasting: "gho_",
                    expiring: "ghu_",
                },
                refresh: RefreshRule::IfExpiring,
                ..lifetimes
            },
        }
    }
}

/// What the token request says about the code.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CodeRequest<'a> {
    /// The code.
    pub code: &'a str,
    /// The `redirect_uri` sent, if any.
    pub redirect_uri: Option<&'a str>,
    /// The PKCE `code_verifier` sent, if any.
    pub code_verifier: Option<&'a str>,
}

/// Why a code gave no tokens; each front answers it in its own format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CodeError {
    /// Never issued, or forgotten.
    Unknown,
    /// Redeemed before: the tokens of the first redemption are revoked now (RFC 6749 §4.1.2).
    Used,
    /// Issued to another client (nothing changed).
    WrongClient,
    /// Past its lifetime.
    Expired,
    /// The token request's `redirect_uri` breaks the rule.
    RedirectMismatch,
    /// A challenge was sent and no verifier is.
    VerifierMissing,
    /// The verifier is not 43–128 characters of `[A-Za-z0-9-._~]`.
    VerifierMalformed,
    /// The verifier does not hash to the challenge.
    VerifierMismatch,
    /// A verifier without a challenge: a downgrade attempt (RFC 9700 §4.8.2).
    VerifierWithoutChallenge,
    /// Its user was removed.
    UserGone,
    /// The tokens could not be issued (a full store, a key).
    Issue(OAuthError),
}

impl CodeError {
    /// The OpenID token endpoint's answer (RFC 6749 §5.2 `invalid_grant`).
    pub(crate) fn into_oauth(self) -> OAuthError {
        OAuthError::InvalidGrant(match self {
            CodeError::Unknown => "unknown code",
            CodeError::Used => "the code was already used",
            CodeError::WrongClient => "the code was issued to another client",
            CodeError::Expired => "the code has expired",
            CodeError::RedirectMismatch => "redirect_uri differs from the authorization request",
            CodeError::VerifierMissing => "code_verifier is missing",
            CodeError::VerifierMalformed => "code_verifier is malformed",
            CodeError::VerifierMismatch => "code_verifier does not match the challenge",
            CodeError::VerifierWithoutChallenge => "code_verifier sent but no challenge was",
            CodeError::UserGone => "the user no longer exists",
            CodeError::Issue(e) => return e,
        })
    }
}

/// A redeemed code: what it stood for, its user, and the tokens issued.
#[derive(Debug)]
pub(crate) struct Redeemed {
    /// What the code stood for.
    pub grant: AuthorizationCode,
    /// Who logged in.
    pub user: UserConfig,
    /// The tokens.
    pub issued: Issued,
}

/// A verifier is 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
fn verifier_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Redeems a code for `client` under `rules` and issues its tokens.
pub(crate) fn redeem(
    state: &AppState,
    client: &RegisteredClient,
    request: CodeRequest<'_>,
    rules: &CodeRules,
) -> Result<Redeemed, CodeError> {
    // The spent code is remembered as long as the tokens of this redemption can live, so that a late replay
    // still revokes them; then it is forgotten.
    let spent_until = state.tokens_dead_by(&client.config);
    let grant = match state
        .codes
        .redeem(request.code, &client.config.client_id, spent_until)
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
            return Err(CodeError::Used);
        }
        Redemption::WrongClient => return Err(CodeError::WrongClient),
        Redemption::Unknown => return Err(CodeError::Unknown),
    };
    if state.clock.now() >= grant.expires_at {
        return Err(CodeError::Expired);
    }
    if !redirect_uri_ok(rules.redirect_uri, &grant, client, request.redirect_uri) {
        return Err(CodeError::RedirectMismatch);
    }
    if rules.pkce {
        check_pkce(grant.code_challenge.as_deref(), request.code_verifier)?;
    }
    let user = state.user_by_sub(&grant.sub).ok_or(CodeError::UserGone)?;
    let refresh = rules.refresh.applies(client)
        && (rules.refresh != RefreshRule::OfflineOnConsent
            || offline_consent(state, &client.config.client_id, &grant));
    let issued = issue(
        state,
        Issue {
            grant_id: Some(&grant.grant_id),
            client,
            sub: &grant.sub,
            scope: &grant.scope,
            user: Some(&user),
            nonce: if rules.id_token {
                grant.nonce.as_deref()
            } else {
                None
            },
            auth_time: grant.auth_time,
            refresh,
            // Sign in with Apple issues an id_token whether or not `openid` was asked.
            id_token: rules.id_token
                && (grant.scope.iter().any(|s| s == "openid")
                    || state.config.persona == Persona::Apple),
            refreshed: false,
            access: rules.access.format(client),
            access_ttl: rules.access_ttl,
            refresh_ttl: rules.refresh_ttl,
            minted: None,
        },
    )
    .map_err(CodeError::Issue)?;
    Ok(Redeemed {
        grant,
        user,
        issued,
    })
}

/// Google ("Using OAuth 2.0 for Web Server Applications", `access_type`, `prompt`): records the user's
/// consent to the client and tells whether a refresh token comes: only when the request asked
/// `access_type=offline`, and then on the user's first consent, or again when it sent `prompt=consent`.
fn offline_consent(state: &AppState, client_id: &str, grant: &AuthorizationCode) -> bool {
    let first = state.consents.first(client_id, &grant.sub);
    grant
        .persona
        .as_deref()
        .is_some_and(|asked| asked.offline && (asked.consent || first))
}

/// Whether the `redirect_uri` sent passes `rule` for this code.
fn redirect_uri_ok(
    rule: RedirectRule,
    grant: &AuthorizationCode,
    client: &RegisteredClient,
    sent: Option<&str>,
) -> bool {
    let registered = &client.config.redirect_uris;
    match rule {
        RedirectRule::Rfc6749 => match (&grant.redirect_uri, sent) {
            (Some(expected), Some(sent)) => expected == sent,
            (Some(_), None) => false,
            (None, None) => true,
            (None, Some(sent)) => registered.len() == 1 && registered[0] == sent,
        },
        RedirectRule::IfSent => sent.is_none_or(|sent| {
            grant
                .redirect_uri
                .as_deref()
                .or(registered.first().map(String::as_str))
                == Some(sent)
        }),
        RedirectRule::Unchecked => true,
    }
}

/// RFC 7636 §4.6, and RFC 9700 §4.8.2: a verifier without a challenge is a downgrade attempt.
fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), CodeError> {
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            if !verifier_well_formed(verifier) {
                return Err(CodeError::VerifierMalformed);
            }
            let computed = B64.encode(crate::keys::sha256(verifier.as_bytes()));
            if !bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
                return Err(CodeError::VerifierMismatch);
            }
            Ok(())
        }
        (Some(_), None) => Err(CodeError::VerifierMissing),
        (None, Some(_)) => Err(CodeError::VerifierWithoutChallenge),
        (None, None) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ClientConfig;

    fn code(redirect_uri: Option<&str>) -> AuthorizationCode {
        AuthorizationCode {
            grant_id: "g".into(),
            client_id: "app".into(),
            redirect_uri: redirect_uri.map(str::to_owned),
            scope: Vec::new(),
            nonce: None,
            sub: "s".into(),
            auth_time: 0,
            code_challenge: None,
            expires_at: 0,
            persona: None,
        }
    }

    #[test]
    fn each_redirect_rule_holds_the_sent_uri_against_the_authorization_request() {
        let one = RegisteredClient::new(ClientConfig::confidential("app", "x", "http://a/cb"));
        let with = code(Some("http://a/cb"));
        let without = code(None);
        let ok = |rule, grant: &AuthorizationCode, sent| redirect_uri_ok(rule, grant, &one, sent);
        use RedirectRule::*;
        // RFC 6749 §4.1.3: required when the authorization request had one.
        assert!(ok(Rfc6749, &with, Some("http://a/cb")));
        assert!(!ok(Rfc6749, &with, None));
        assert!(!ok(Rfc6749, &with, Some("http://a/cb/x")));
        assert!(ok(Rfc6749, &without, None));
        assert!(ok(Rfc6749, &without, Some("http://a/cb")));
        // GitHub: only when sent.
        assert!(ok(IfSent, &with, None));
        assert!(!ok(IfSent, &with, Some("http://a/other")));
        assert!(ok(IfSent, &without, Some("http://a/cb")));
        // WeChat: never read.
        assert!(ok(Unchecked, &with, Some("http://a/other")));
    }

    #[test]
    fn pkce_needs_a_verifier_for_a_challenge_and_a_challenge_for_a_verifier() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"; // RFC 7636 Appendix B
        assert_eq!(check_pkce(Some(challenge), Some(verifier)), Ok(()));
        assert_eq!(
            check_pkce(Some(challenge), None),
            Err(CodeError::VerifierMissing)
        );
        assert_eq!(
            check_pkce(None, Some(verifier)),
            Err(CodeError::VerifierWithoutChallenge)
        );
        assert_eq!(
            check_pkce(Some(challenge), Some("short")),
            Err(CodeError::VerifierMalformed)
        );
        assert_eq!(check_pkce(None, None), Ok(()));
    }

    #[test]
    fn each_persona_chooses_its_rules() {
        assert_eq!(CodeRules::of(Persona::Oidc), CodeRules::OPENID);
        let wechat = CodeRules::of(Persona::Wechat);
        assert_eq!(
            (wechat.redirect_uri, wechat.pkce, wechat.id_token),
            (RedirectRule::Unchecked, false, false)
        );
        assert_eq!(wechat.access_ttl, Some(7_200));
        let github = CodeRules::of(Persona::Github);
        assert_eq!(github.redirect_uri, RedirectRule::IfSent);
        assert_eq!(github.refresh, RefreshRule::IfExpiring);
        let google = CodeRules::of(Persona::Google);
        assert_eq!(
            google,
            CodeRules {
                refresh: RefreshRule::OfflineOnConsent,
                ..CodeRules::OPENID
            }
        );
    }
}
