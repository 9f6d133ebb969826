//! A checked authorization request: what the login page, the pending-login store and the code carry.

/// Scopes this server knows (OIDC Core §5.4, §11).
pub const SCOPES: &[&str] = &["openid", "profile", "email", "phone", "offline_access"];

/// How the authorization response travels back to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseMode {
    /// A redirect with the parameters in the query (the default for `code`, Multiple Response Types §2.1).
    #[default]
    Query,
    /// An auto-submitting HTML form that POSTs the parameters (OAuth 2.0 Form Post Response Mode §2).
    FormPost,
}

/// A request that passed every check.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// The client.
    pub client_id: String,
    /// Where the response goes: the sent `redirect_uri`, or the only registered one when none was sent.
    pub redirect_uri: String,
    /// The `redirect_uri` parameter as sent, which the token request must repeat (RFC 6749 §4.1.3).
    pub redirect_uri_param: Option<String>,
    /// Requested scopes, in request order, without duplicates.
    pub scope: Vec<String>,
    /// The opaque `state`, echoed byte-exact.
    pub state: Option<String>,
    /// The OIDC nonce.
    pub nonce: Option<String>,
    /// The S256 PKCE challenge.
    pub code_challenge: Option<String>,
    /// A username hint (Core §3.1.2.1).
    pub login_hint: Option<String>,
    /// Whether the client registered a back-channel logout URI: then the login is kept as a session.
    pub backchannel: bool,
    /// How the response is sent (`response_mode`).
    pub response_mode: ResponseMode,
    /// `prompt=none`: complete without showing a page, or answer `login_required` (Core §3.1.2.1).
    pub prompt_none: bool,
    /// `max_age=0`: the user must authenticate again, so a `prompt=none` request cannot be completed.
    pub reauthenticate: bool,
    /// What only the provider's persona reads (`None` for plain OpenID Connect).
    pub persona: Option<Box<crate::model::PersonaRequest>>,
}
