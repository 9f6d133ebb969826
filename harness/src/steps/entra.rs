//! Microsoft Entra ID providers (CONFORMANCE section M: ENTRA-ISSUER, ENTRA-TENANT, ENTRA-IDENTITY-KEY,
//! ENTRA-V1-ISSUER).

use cucumber::{given, then};

use crate::{entra::Admits, world::World};

/// The app also offers "Log in with NAME" through an Entra provider at `common`, admitting the home tenant only.
#[given(expr = "the app also offers {string} through an Entra provider admitting its home tenant")]
async fn offers_entra(w: &mut World, name: String) -> anyhow::Result<()> {
    w.add_entra(&name, Admits::Home)
}

/// As above, admitting the home tenant and a second (partner) tenant.
#[given(
    expr = "the app also offers {string} through an Entra provider that also admits a partner tenant"
)]
async fn offers_entra_partner(w: &mut World, name: String) -> anyhow::Result<()> {
    w.add_entra(&name, Admits::HomeAndPartner)
}

/// As above, admitting every tenant (multi-tenant by explicit policy).
#[given(expr = "the app also offers {string} through a multi-tenant Entra provider")]
async fn offers_entra_multi(w: &mut World, name: String) -> anyhow::Result<()> {
    w.add_entra(&name, Admits::Every)
}

/// The app signs in at `common` or `organizations` (else the scenario does not apply).
#[given(expr = "the app signs in to {string} at a multi-tenant endpoint")]
async fn multi_tenant_endpoint(w: &mut World, name: String) -> anyhow::Result<()> {
    w.require_multi_tenant_endpoint(&name)
}

/// The user's next id_token is correctly signed but from a tenant the app does not admit (`entra.other_tenant`).
#[given(expr = "{string}'s next {string} id_token comes from a tenant the app does not admit")]
async fn unlisted_tenant(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.entra_unlisted_tenant(&provider, &username)
}

/// The user's next id_token names the issuer of another tenant than its `tid` (`entra.tid_mismatch`).
#[given(expr = "{string}'s next {string} id_token names the issuer of another tenant than its tid")]
async fn tid_mismatch(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.require_multi_tenant_endpoint(&provider)?;
    w.entra_fault_for(&provider, &username, "entra.tid_mismatch")
}

/// The user's next id_token carries a v1 issuer (`{base}/{tid}/`) of another tenant than its `tid`.
#[given(
    expr = "{string}'s next {string} id_token carries a v1 issuer of another tenant than its tid"
)]
async fn v1_issuer(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.entra_fault_for(&provider, &username, "entra.v1_issuer_other_tenant")
}

/// A user of the provider in another tenant the app admits, whose tenant set their email to another user's address (nOAuth).
#[given(
    expr = "the {string} provider has a user {string} in another admitted tenant with the email of {string}"
)]
async fn user_with_email_of(
    w: &mut World,
    provider: String,
    username: String,
    victim: String,
) -> anyhow::Result<()> {
    w.add_entra_user_with_email_of(&provider, &username, &victim)
}

/// The user logs in with the provider and the app opens an account, which the scenario remembers.
#[given(expr = "{string} has an account through {string}")]
async fn has_account(w: &mut World, username: String, provider: String) -> anyhow::Result<()> {
    w.entra_account(&username, &provider).await
}

/// The last login was refused, or opened an account other than that user's.
#[then(expr = "the login is refused or opens an account other than {string}'s")]
async fn not_their_account(w: &mut World, username: String) -> anyhow::Result<()> {
    w.check_not_account_of(&username).await
}
