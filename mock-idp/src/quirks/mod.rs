//! The documented departures of the OpenID personas (`entra`, `apple`, `google`) from the OpenID core,
//! called by the core at fixed points; each point is a no-op for `oidc` (and never reached by WeChat or
//! GitHub, which issue no id_tokens). One file per provider holds its departures; the persona's routes and
//! wire format are in `personas/`.
//!
//! The points:
//! - [`id_token_claims`]: after the standard and user claims of an id_token, before minted claims and
//!   faults (`tokens::issue`).
//! - [`authorization_params`]: the parameters of a successful authorization response, after `code` and
//!   `state` (`authorize::issue_code`).
//! - [`refuse_login`]: before a code is minted for a user (`authorize::issue_code`).
//! - [`id_token_faults`]: the persona's own id_token faults (`entra.*`, `google.*`), after the claims,
//!   taken at the id_token point with the core's `id_token.*` ones (`tokens::issue`).
//! - [`userinfo_claims`]: the userinfo answer's claims, after the user's claims and `sub`, before
//!   faults (`resource::userinfo`).
//! - [`client_secret_valid`]: a client secret only the persona takes (Apple's signed JWT), from the
//!   client authentication of the token endpoint (`grants::client_auth`).

pub(crate) mod apple;
pub(crate) mod entra;
pub(crate) mod google;

use serde_json::{Map, Value};

use crate::{
    faults::Fault,
    model::{Persona, PersonaRequest, UserConfig},
    state::{AppState, RegisteredClient},
};

/// What an id_token is being issued for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IdTokenFor<'a> {
    /// The client it is issued to.
    pub client: &'a RegisteredClient,
    /// The user, when there is one.
    pub user: Option<&'a UserConfig>,
    /// Granted scopes.
    pub scope: &'a [String],
}

/// Shapes an id_token's claims as the persona's provider does; returns the persona's own faults it
/// applied, by name, for the request log.
pub(crate) fn id_token_claims(
    state: &AppState,
    of: IdTokenFor<'_>,
    claims: &mut Map<String, Value>,
) -> Vec<&'static str> {
    match state.config.persona {
        Persona::Entra => entra::id_token_claims(state, of, claims),
        Persona::Apple => return apple::id_token_claims(state, of, claims),
        Persona::Google => google::id_token_claims(state, of, claims),
        Persona::Oidc | Persona::Wechat | Persona::Github => {}
    }
    Vec::new()
}

/// Authenticates a client by a client secret that only a persona takes: Apple's ES256 JWT
/// (`apple::client_secret_valid`). Reached only from the apple persona's client authentication; false for
/// every other persona.
pub(crate) fn client_secret_valid(
    state: &AppState,
    client: &RegisteredClient,
    secret: &str,
) -> bool {
    match state.config.persona {
        Persona::Apple => apple::client_secret_valid(state, client, secret),
        Persona::Oidc | Persona::Wechat | Persona::Github | Persona::Entra | Persona::Google => {
            false
        }
    }
}

/// What a successful authorization response carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthorizedFor<'a> {
    /// The client.
    pub client_id: &'a str,
    /// The user who signed in.
    pub user: &'a UserConfig,
    /// Granted scopes.
    pub scope: &'a [String],
    /// What the request asked that only the persona reads.
    pub asked: Option<&'a PersonaRequest>,
}

/// Adds the persona's own parameters to a successful authorization response; returns the persona's own
/// faults it applied, by name, for the request log.
pub(crate) fn authorization_params(
    state: &AppState,
    of: AuthorizedFor<'_>,
    params: &mut Vec<(&'static str, String)>,
) -> Vec<&'static str> {
    match state.config.persona {
        Persona::Entra => entra::authorization_params(state, of, params),
        Persona::Apple => return apple::authorization_params(state, of, params),
        Persona::Google => google::authorization_params(state, of, params),
        Persona::Oidc | Persona::Wechat | Persona::Github => {}
    }
    Vec::new()
}

/// Refuses a login the persona's provider would not complete for this user (Entra: a user outside the
/// path's tenant, AADSTS50020), sent to the client by redirect; `None`: go on.
pub(crate) fn refuse_login(
    state: &AppState,
    of: AuthorizedFor<'_>,
) -> Option<crate::error::OAuthError> {
    match state.config.persona {
        Persona::Entra => entra::refuse_login(state, of),
        Persona::Apple | Persona::Google | Persona::Oidc | Persona::Wechat | Persona::Github => {
            None
        }
    }
}

/// Applies the persona's own armed id_token faults (`entra.*`, `google.*`) after the standard and
/// persona claims; the generic `id_token.*` faults are `faults::spoil::id_token`'s.
pub(crate) fn id_token_faults(
    state: &AppState,
    of: IdTokenFor<'_>,
    faults: &[Fault],
    claims: &mut Map<String, Value>,
) {
    match state.config.persona {
        Persona::Entra => entra::id_token_faults(state, of, faults, claims),
        Persona::Google => google::id_token_faults(state, of, faults, claims),
        Persona::Apple | Persona::Oidc | Persona::Wechat | Persona::Github => {}
    }
}

/// Shapes a userinfo answer's claims as the persona's provider does (Entra: the pairwise `sub`;
/// Google: `hd`), for the client the access token was issued to.
pub(crate) fn userinfo_claims(
    state: &AppState,
    client_id: Option<&str>,
    user: &UserConfig,
    body: &mut Map<String, Value>,
) {
    match state.config.persona {
        Persona::Entra => entra::userinfo_claims(state, client_id, user, body),
        Persona::Google => google::userinfo_claims(state, user, body),
        Persona::Apple | Persona::Oidc | Persona::Wechat | Persona::Github => {}
    }
}
