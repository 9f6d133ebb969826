//! Another tenant of the scenario's provider server, to see that tenants are providers of their own
//! (CONFORMANCE TENANT-ISOLATION): a code, an access token and a session (its id_token as a logout hint)
//! of the scenario's provider are refused there. The tenant starts as a copy of the server's clients and
//! users, so only the isolation can refuse them, and it is deleted with the scenario.

use std::sync::Arc;

use anyhow::{anyhow, ensure};
use mock_idp::{Handle, MockIdp};
use url::Url;

use crate::{provider::TokenRequest, world::World};

/// The other tenant, deleted when the scenario ends.
#[derive(Debug, Default)]
pub struct OtherTenant {
    /// Its controls, and the server and name it is deleted by.
    tenant: Option<(Handle, Arc<MockIdp>, String)>,
}

impl Drop for OtherTenant {
    fn drop(&mut self) {
        if let Some((_, server, name)) = &self.tenant {
            server.delete_tenant(name);
        }
    }
}

impl World {
    /// Creates another tenant of the provider's server, a copy of its clients and users.
    pub fn add_other_tenant(&mut self) -> anyhow::Result<()> {
        let server = self.provider.server();
        let handle = server
            .create_tenant(None, None)
            .map_err(|e| anyhow!("creating another tenant: {e}"))?;
        let name = handle.tenant_name().unwrap_or_default().to_owned();
        self.other_tenant.tenant = Some((handle, server, name));
        Ok(())
    }

    /// The other tenant's controls.
    pub fn other_tenant(&self) -> anyhow::Result<&Handle> {
        self.other_tenant
            .tenant
            .as_ref()
            .map(|(h, _, _)| h)
            .ok_or_else(|| anyhow!("no other tenant: add it in a Given step"))
    }

    /// `client` redeems the newest code at the other tenant's token endpoint, as it would at its own.
    pub async fn redeem_at_other_tenant(&mut self, client: &str) -> anyhow::Result<()> {
        let grant = self.last_grant()?.clone();
        let request = TokenRequest::redeem(&grant, &self.provider.client(client)?);
        let endpoint = self.other_tenant()?.token_endpoint();
        let response = self.provider.token_at(&endpoint, &request).await?;
        self.token_responses.push(response);
        Ok(())
    }

    /// The other tenant's userinfo refuses the first access token: 401 `Bearer error="invalid_token"`.
    pub async fn check_refused_at_other_tenant(&self) -> anyhow::Result<()> {
        let token = self.first_token("access_token")?;
        let endpoint = self.other_tenant()?.userinfo_endpoint();
        let r = self.provider.userinfo_at(&endpoint, &token).await?;
        let challenge = r.header("www-authenticate").unwrap_or_default();
        ensure!(
            r.status == 401 && challenge.contains("invalid_token"),
            "the other tenant's userinfo answered {} ({challenge})",
            r.brief()
        );
        Ok(())
    }

    /// The other tenant's introspection says only `{"active": false}` of the first access token (RFC 7662
    /// §2.2), asked by client `web`.
    pub async fn check_inactive_at_other_tenant(&self) -> anyhow::Result<()> {
        let token = self.first_token("access_token")?;
        let endpoint = self.other_tenant()?.introspection_endpoint();
        let body = self.provider.introspect_at(&endpoint, &token).await?.json();
        ensure!(
            body == serde_json::json!({"active": false}),
            "the other tenant's introspection: {body}"
        );
        Ok(())
    }

    /// The browser ends the session of the first id_token at the other tenant's end-session endpoint,
    /// with `client_id` and the post-logout URI of `client` as registered; the answer is the scenario's
    /// last authorization-side answer.
    pub async fn end_session_at_other_tenant(&mut self, client: &str) -> anyhow::Result<()> {
        let hint = self.first_token("id_token")?;
        let registered = self
            .provider
            .idp
            .client(client)
            .and_then(|c| c.post_logout_redirect_uris.first().cloned())
            .ok_or_else(|| anyhow!("client {client} has no post-logout redirect URI"))?;
        let params: Vec<(String, String)> = [
            ("id_token_hint", hint.as_str()),
            ("client_id", client),
            ("post_logout_redirect_uri", registered.as_str()),
            ("state", "scenario-logout-state"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let mut url = Url::parse(&self.other_tenant()?.end_session_endpoint())?;
        url.query_pairs_mut().extend_pairs(&params);
        let response = self.provider.get(&url).await?;
        self.authorization = Some((params, response));
        Ok(())
    }
}
