//! Google: its departures from the OpenID core (see `quirks/mod.rs` for the points), as Google's "OpenID
//! Connect" documents its id_tokens:
//!
//! - `azp`: always present; the client the token was issued to (another client of the same project for a
//!   mobile app's token presented to its backend: `google.azp_sibling`).
//! - `hd`: the Workspace domain of a Workspace account ([`crate::UserConfig::hd`]); none for a consumer
//!   account. The `hd=` authorization parameter is a hint only: the token carries the account's own
//!   domain, or none, whatever was asked (`google.hd_stripped` removes it from a Workspace account's
//!   token).
//! - `email_verified`: a JSON boolean (the core sends what the user's config holds, a boolean).

use serde_json::{Map, Value, json};

use super::{AuthorizedFor, IdTokenFor};
use crate::{faults::Fault, faults::spoil::FOREIGN_AUDIENCE, state::AppState};

/// The id_token's claims as Google issues them: `azp`, and `hd` for a Workspace account.
pub(crate) fn id_token_claims(
    _state: &AppState,
    of: IdTokenFor<'_>,
    claims: &mut Map<String, Value>,
) {
    claims.insert("azp".into(), json!(of.client.config.client_id));
    if let Some(hd) = of.user.and_then(|u| u.hd.as_deref()) {
        claims.insert("hd".into(), json!(hd));
    }
}

/// Userinfo (`/v1/userinfo`) carries `hd` for a Workspace account, as the id_token does.
pub(crate) fn userinfo_claims(
    _state: &AppState,
    user: &crate::model::UserConfig,
    claims: &mut Map<String, Value>,
) {
    if let Some(hd) = user.hd.as_deref() {
        claims.insert("hd".into(), json!(hd));
    }
}

/// The authorization response's own parameters: `iss` (RFC 9207), which Google sends although its
/// discovery does not declare `authorization_response_iss_parameter_supported`.
pub(crate) fn authorization_params(
    state: &AppState,
    _of: AuthorizedFor<'_>,
    params: &mut Vec<(&'static str, String)>,
) {
    params.push(("iss", state.issuer.clone()));
}

/// Another client of the same project as `client_id` (the first by id), if it has a project and a
/// sibling.
fn sibling(state: &AppState, client_id: &str, project: Option<&str>) -> Option<String> {
    let project = project?;
    state
        .client_configs()
        .into_iter()
        .find(|c| c.client_id != client_id && c.project.as_deref() == Some(project))
        .map(|c| c.client_id)
}

/// The `google.*` id_token faults.
pub(crate) fn id_token_faults(
    state: &AppState,
    of: IdTokenFor<'_>,
    faults: &[Fault],
    claims: &mut Map<String, Value>,
) {
    for fault in faults {
        match fault {
            Fault::GoogleHdStripped => {
                claims.remove("hd");
            }
            Fault::GoogleAzpSibling => {
                let config = &of.client.config;
                match sibling(state, &config.client_id, config.project.as_deref()) {
                    Some(other) => {
                        claims.insert("azp".into(), json!(other));
                    }
                    None => tracing::warn!(
                        client_id = %config.client_id,
                        "google.azp_sibling: the client has no sibling in its project; azp unchanged"
                    ),
                }
            }
            Fault::GoogleAzpForeign => {
                claims.insert("azp".into(), json!(FOREIGN_AUDIENCE));
            }
            _ => {}
        }
    }
}
