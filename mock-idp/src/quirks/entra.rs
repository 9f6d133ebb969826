//! Microsoft Entra ID (v2.0 endpoints): its departures from the OpenID core (see `quirks/mod.rs` for the points).

use serde_json::{Map, Value};

use super::{AuthorizedFor, IdTokenFor};
use crate::state::AppState;

/// The id_token's claims as Microsoft Entra ID (v2.0 endpoints) issues them.
pub(crate) fn id_token_claims(
    _state: &AppState,
    _of: IdTokenFor<'_>,
    _claims: &mut Map<String, Value>,
) {
}

/// The authorization response's own parameters.
pub(crate) fn authorization_params(
    _state: &AppState,
    _of: AuthorizedFor<'_>,
    _params: &mut Vec<(&'static str, String)>,
) {
}
