//! Another tenant of the provider's server: what the scenario's provider issued is refused there.

use cucumber::{given, then, when};

use crate::world::World;

/// Another tenant of the provider's server, starting as a copy of its clients and users.
#[given(expr = "the provider's server has another tenant")]
async fn other_tenant(w: &mut World) -> anyhow::Result<()> {
    w.add_other_tenant()
}

/// Redeems the newest code at the other tenant, as the client would at its own provider.
#[when(expr = "client {string} redeems the code at the other tenant")]
async fn redeem_there(w: &mut World, client: String) -> anyhow::Result<()> {
    w.redeem_at_other_tenant(&client).await
}

/// The other tenant's userinfo refuses the first access token: 401 `Bearer error="invalid_token"`.
#[then(expr = "the first access token is refused at the other tenant's userinfo")]
async fn refused_there(w: &mut World) -> anyhow::Result<()> {
    w.check_refused_at_other_tenant().await
}

/// The other tenant's introspection says only `{"active": false}` of the first access token.
#[then(expr = "the first access token introspects as inactive at the other tenant")]
async fn inactive_there(w: &mut World) -> anyhow::Result<()> {
    w.check_inactive_at_other_tenant().await
}

/// The browser asks the other tenant to end the session of the first id_token (as the client's hint).
#[when(
    expr = "the browser ends the session of the first id_token at the other tenant for client {string}"
)]
async fn end_session_there(w: &mut World, client: String) -> anyhow::Result<()> {
    w.end_session_at_other_tenant(&client).await
}
