//! The provider's tokens a login left behind, kept server-side so the backend can use the provider again
//! later (userinfo) and refresh them when the access token has expired (CONFORMANCE RF-HAPPY,
//! RF-ID-TOKEN).
//!
//! They live in the SQLite database ([`crate::db::Database::keep_provider_tokens`]), one row per user,
//! tied to the session version of the login that got them, and never reach the browser.

use std::fmt;

/// An OpenID login's tokens and the identity its id_token named, which a refreshed id_token must name
/// again (OIDC Core §12.2).
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderTokens {
    /// The access token, for userinfo.
    pub access_token: String,
    /// When it expires on the application clock (from `expires_in`); `None` when the provider did not say.
    pub access_expires_at: Option<u64>,
    /// The refresh token, if the provider issued one; replaced by each rotation.
    pub refresh_token: Option<String>,
    /// The login's id_token `iss`.
    pub issuer: String,
    /// The login's id_token `sub`.
    pub subject: String,
    /// The login's id_token `azp`, if it had one.
    pub azp: Option<String>,
}

impl ProviderTokens {
    /// Whether the access token has expired at `now` by its own `expires_in` (a few seconds early, so it
    /// does not expire on its way to the provider).
    pub fn access_expired(&self, now: u64) -> bool {
        self.access_expires_at
            .is_some_and(|at| now.saturating_add(EARLY_SECS) >= at)
    }
}

/// How much earlier than its `expires_in` an access token is treated as expired.
const EARLY_SECS: u64 = 5;

impl fmt::Debug for ProviderTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderTokens")
            .field("access_token", &"[redacted]")
            .field("access_expires_at", &self.access_expires_at)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("issuer", &self.issuer)
            .field("subject", &self.subject)
            .field("azp", &self.azp)
            .finish()
    }
}
