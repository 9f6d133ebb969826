//! Microsoft Entra ID (v2.0 endpoints): its departures from the OpenID core (see `quirks/mod.rs` for the points).
//!
//! Users belong to directory tenants (`UserConfig::tid`, a GUID; [`DEFAULT_TENANT`] when absent). An
//! id_token carries `iss` = `{base}/{tid}/v2.0`, `tid`, `oid` (stable within the tenant), `ver` = `2.0`,
//! a `sub` pairwise per app (derived from client and user), `preferred_username`, and `email` as the
//! user's tenant set it, never `email_verified` (Microsoft "ID token claims reference").

use serde_json::{Map, Value, json};

use super::{AuthorizedFor, IdTokenFor};
pub use crate::model::is_guid;
use crate::{error::OAuthError, faults::Fault, model::UserConfig, state::AppState};

/// The directory tenant of users configured without `tid` (a fixed GUID of this mock).
pub const DEFAULT_TENANT: &str = "5e1f0c2a-7d3b-4c8e-9a61-2f4b8d0e3c71";

/// The consumer tenant: personal Microsoft accounts (Microsoft documents this GUID).
pub const CONSUMER_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// The tenant of the `entra.other_tenant`, `entra.tid_mismatch` and `entra.v1_issuer_other_tenant` faults' issuer: a tenant no
/// configured user belongs to unless one is given it.
pub const FOREIGN_TENANT: &str = "0b7e6f3a-1c2d-4e5f-8a9b-c0d1e2f3a4b5";

/// The user's directory tenant: configured, or [`DEFAULT_TENANT`].
pub fn entra_tid(user: &UserConfig) -> String {
    user.tid
        .clone()
        .unwrap_or_else(|| DEFAULT_TENANT.to_owned())
}

/// A GUID derived from the parts (SHA-256, shaped as a version-4 GUID).
fn derived_guid(parts: &[&str]) -> String {
    let d = crate::keys::sha256(parts.join("\0").as_bytes());
    let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][usize::from(d[8] & 3)],
        &hex[17..20],
        &hex[20..32]
    )
}

/// The user's object id in their tenant: configured, or derived from `sub` (stable).
pub fn entra_oid(user: &UserConfig) -> String {
    user.oid
        .clone()
        .unwrap_or_else(|| derived_guid(&["entra-oid", &user.sub]))
}

/// The user's `sub` at app `client_id`: pairwise, derived from (client, user), 43 base64url characters
/// as Entra's.
pub fn entra_sub(user: &UserConfig, client_id: &str) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD as B64};
    B64.encode(crate::keys::sha256(
        ["entra-sub", client_id, &user.sub].join("\0").as_bytes(),
    ))
}

/// The issuer of tokens from directory tenant `tid`: `{base}/{tid}/v2.0`.
pub fn issuer_of_tenant(state: &AppState, tid: &str) -> String {
    format!("{}/{tid}/v2.0", state.issuer)
}

/// The mock's stand-in for the v1 issuer `https://sts.windows.net/{tid}/`: `{base}/{tid}/`.
pub fn v1_issuer_of_tenant(state: &AppState, tid: &str) -> String {
    format!("{}/{tid}/", state.issuer)
}

/// Whether a user may complete a login at the path tenant `path`: any at `common`, work or school
/// accounts at `organizations`, personal accounts at `consumers`, the tenant's own users at a GUID.
pub fn admits(path: &str, tid: &str) -> bool {
    match path {
        "common" => true,
        "organizations" => tid != CONSUMER_TENANT,
        "consumers" => tid == CONSUMER_TENANT,
        guid => guid.eq_ignore_ascii_case(tid),
    }
}

/// Whether `scope` names a resource permission, as Entra grants them besides the OpenID scopes: a
/// Graph permission (`User.Read`) or a resource's scope URI (`https://graph.microsoft.com/.default`,
/// `api://app/access`). They go into the access token's `scope`; the id_token is unchanged.
pub fn is_resource_scope(scope: &str) -> bool {
    scope.len() <= 255
        && scope.chars().all(|c| c.is_ascii_graphic())
        && (scope.contains('.') || scope.contains("://"))
}

/// Refuses a login whose user does not belong to the request's path tenant (AADSTS50020).
pub(crate) fn refuse_login(_state: &AppState, of: AuthorizedFor<'_>) -> Option<OAuthError> {
    let path = of.asked.and_then(|a| a.path_tenant.as_deref())?;
    (!admits(path, &entra_tid(of.user))).then_some(OAuthError::InvalidRequest(
        "AADSTS50020: User account from identity provider does not exist in tenant and cannot access the application in that tenant.",
    ))
}

/// The id_token's claims as Microsoft Entra ID (v2.0 endpoints) issues them.
pub(crate) fn id_token_claims(
    state: &AppState,
    of: IdTokenFor<'_>,
    claims: &mut Map<String, Value>,
) {
    let Some(user) = of.user else {
        return;
    };
    let tid = entra_tid(user);
    claims.insert("iss".into(), json!(issuer_of_tenant(state, &tid)));
    claims.insert(
        "sub".into(),
        json!(entra_sub(user, &of.client.config.client_id)),
    );
    claims.insert("tid".into(), json!(tid));
    claims.insert("oid".into(), json!(entra_oid(user)));
    claims.insert("ver".into(), json!("2.0"));
    if let Some(iat) = claims.get("iat").cloned() {
        claims.insert("nbf".into(), iat);
    }
    // Entra sends no email_verified: the address is whatever the user's tenant set.
    claims.remove("email_verified");
}

/// Applies the armed `entra.*` faults to an id_token's claims (the other faults are `spoil::id_token`'s).
pub(crate) fn id_token_faults(
    state: &AppState,
    of: IdTokenFor<'_>,
    faults: &[Fault],
    claims: &mut Map<String, Value>,
) {
    let tid = of.user.map(entra_tid).unwrap_or_default();
    for fault in faults {
        match fault {
            Fault::EntraOtherTenant => {
                claims.insert("iss".into(), json!(issuer_of_tenant(state, FOREIGN_TENANT)));
                claims.insert("tid".into(), json!(FOREIGN_TENANT));
            }
            Fault::EntraTidMismatch => {
                claims.insert("iss".into(), json!(issuer_of_tenant(state, FOREIGN_TENANT)));
            }
            Fault::EntraV1Issuer => {
                claims.insert("iss".into(), json!(v1_issuer_of_tenant(state, &tid)));
            }
            Fault::EntraV1IssuerOtherTenant => {
                claims.insert(
                    "iss".into(),
                    json!(v1_issuer_of_tenant(state, FOREIGN_TENANT)),
                );
            }
            Fault::EntraEmailOfOtherTenant => {
                if let Some(email) = other_tenants_email(state, of.user, &tid) {
                    claims.insert("email".into(), json!(email));
                }
            }
            _ => {}
        }
    }
}

/// The email of the first user (by username) of another tenant than `tid` who has one; else of any
/// other user who has one.
fn other_tenants_email(state: &AppState, me: Option<&UserConfig>, tid: &str) -> Option<String> {
    let users = state.usernames();
    let others = || {
        users
            .iter()
            .filter(move |u| me.is_none_or(|me| me.username != u.username))
            .filter(|u| u.email.is_some())
    };
    others()
        .find(|u| entra_tid(u) != tid)
        .or_else(|| others().next())
        .and_then(|u| u.email.clone())
}

/// The userinfo claims as Entra's `/oidc/userinfo` answers: the id_token's pairwise `sub`.
pub(crate) fn userinfo_claims(
    _state: &AppState,
    client_id: Option<&str>,
    user: &UserConfig,
    body: &mut Map<String, Value>,
) {
    if let Some(client_id) = client_id {
        body.insert("sub".into(), json!(entra_sub(user, client_id)));
    }
    body.remove("email_verified");
}

/// The authorization response's own parameters: none beyond `code` and `state` (Entra sends no `iss`).
pub(crate) fn authorization_params(
    _state: &AppState,
    _of: AuthorizedFor<'_>,
    _params: &mut Vec<(&'static str, String)>,
) {
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_oids_are_guids_and_stable() {
        let user = UserConfig::new("alice", "pw", "sub-alice");
        let oid = entra_oid(&user);
        assert!(is_guid(&oid), "{oid}");
        assert_eq!(oid, entra_oid(&user));
        assert_ne!(oid, entra_oid(&UserConfig::new("bob", "pw", "sub-bob")));
        assert!(is_guid(DEFAULT_TENANT) && is_guid(CONSUMER_TENANT) && is_guid(FOREIGN_TENANT));
        assert!(!is_guid("common") && !is_guid("5e1f0c2a-7d3b-4c8e-9a61-2f4b8d0e3c7"));
    }

    #[test]
    fn sub_is_pairwise() {
        let user = UserConfig::new("alice", "pw", "sub-alice");
        assert_ne!(entra_sub(&user, "a"), entra_sub(&user, "b"));
        assert_eq!(entra_sub(&user, "a").len(), 43);
    }

    #[test]
    fn path_tenants_admit_their_users() {
        assert!(admits("common", CONSUMER_TENANT) && admits("common", DEFAULT_TENANT));
        assert!(
            admits("organizations", DEFAULT_TENANT) && !admits("organizations", CONSUMER_TENANT)
        );
        assert!(admits("consumers", CONSUMER_TENANT) && !admits("consumers", DEFAULT_TENANT));
        assert!(admits(DEFAULT_TENANT, DEFAULT_TENANT) && !admits(FOREIGN_TENANT, DEFAULT_TENANT));
    }
}
