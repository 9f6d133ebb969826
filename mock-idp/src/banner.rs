//! What a started server says about itself: the data of the `mock-idp` start-up banner (issuer, persona
//! endpoints, clients, users, admin token, tenants, armed faults), built from a bound [`Server`] so it is
//! tested without the binary, which only prints it.

use std::path::PathBuf;

use crate::{
    faults::Fault,
    model::{ClientConfig, Persona, Secret, UserConfig},
    server::Server,
};

/// A bound server's summary, in the order the banner lists it.
#[derive(Debug, Clone)]
pub struct Banner {
    /// The issuer it serves.
    pub issuer: String,
    /// The protocol it speaks.
    pub persona: Persona,
    /// Where a client starts, as (label, URL): discovery for OpenID Connect, the login, token and user
    /// endpoints for a persona.
    pub endpoints: Vec<(&'static str, String)>,
    /// The registered clients, by id (secrets as the registry holds them, hashed).
    pub clients: Vec<ClientConfig>,
    /// The users, by username.
    pub users: Vec<UserConfig>,
    /// The local CA a generated certificate is signed by, which clients are told to trust.
    pub tls_ca_file: Option<PathBuf>,
    /// The admin API, when served.
    pub admin: Option<BannerAdmin>,
    /// The tenants created at start, as (name, issuer).
    pub tenants: Vec<(String, String)>,
    /// The faults armed at start, oldest first.
    pub faults: Vec<Fault>,
}

/// Where the admin API is and what a request needs.
#[derive(Debug, Clone)]
pub struct BannerAdmin {
    /// `{issuer}/admin`.
    pub url: String,
    /// The bearer token rule.
    pub token: AdminToken,
}

/// What an admin request needs.
#[derive(Debug, Clone)]
pub enum AdminToken {
    /// This generated bearer token (printed once, so the operator can use it).
    Generated(Secret),
    /// The configured bearer token (not printed).
    Required,
    /// Nothing: the server listens on loopback and no token was configured.
    NotNeeded,
}

/// The endpoints a persona's client starts from, as (label, path).
fn endpoint_paths(persona: Persona) -> &'static [(&'static str, &'static str)] {
    match persona {
        Persona::Oidc => &[("discovery", "/.well-known/openid-configuration")],
        Persona::Wechat => &[
            ("login", "/connect/qrconnect"),
            ("token", "/sns/oauth2/access_token"),
            ("user", "/sns/userinfo"),
        ],
        Persona::Github => &[
            ("login", "/login/oauth/authorize"),
            ("token", "/login/oauth/access_token"),
            ("user", "/user"),
        ],
        Persona::Entra => &[
            ("discovery", "/common/v2.0/.well-known/openid-configuration"),
            (
                "discovery (a tenant)",
                "/{tenant}/v2.0/.well-known/openid-configuration",
            ),
        ],
        Persona::Apple => &[("discovery", "/.well-known/openid-configuration")],
        Persona::Google => &[
            ("discovery", "/.well-known/openid-configuration"),
            ("login", "/o/oauth2/v2/auth"),
            ("token", "/token"),
            ("user", "/v1/userinfo"),
        ],
    }
}

impl Banner {
    /// The summary of a bound server (before it serves: what the operator needs to point a client at it).
    pub fn of(server: &Server) -> Banner {
        let state = server.state();
        let issuer = state.issuer.clone();
        let persona = state.config.persona;
        let clients = state.client_configs();
        let users = state.usernames();
        let admin = server.admin().map(|admin| BannerAdmin {
            url: format!("{issuer}/admin"),
            token: match (admin.generated_token(), admin.token_required()) {
                (Some(t), _) => AdminToken::Generated(Secret::new(t)),
                (None, true) => AdminToken::Required,
                (None, false) => AdminToken::NotNeeded,
            },
        });
        Banner {
            endpoints: endpoint_paths(persona)
                .iter()
                .map(|(label, path)| (*label, format!("{issuer}{path}")))
                .collect(),
            issuer,
            persona,
            clients,
            users,
            tls_ca_file: server.tls_ca_file(),
            admin,
            tenants: server.hub().list(),
            faults: state
                .faults
                .list()
                .into_iter()
                .map(|f| f.spec.fault)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{config::Config, faults::FaultSpec, model::AuthMethod};

    #[tokio::test]
    async fn the_banner_names_what_a_client_needs_of_a_bound_server() {
        let mut config = Config::builtin();
        config.admin = true;
        config
            .armed_faults
            .push(FaultSpec::new(Fault::IdTokenBadSignature));
        let server = Server::bind(config).await.expect("binds");
        let banner = Banner::of(&server);
        assert_eq!(banner.issuer, server.state().issuer);
        assert_eq!(banner.persona, Persona::Oidc);
        assert_eq!(
            banner.endpoints,
            [(
                "discovery",
                format!("{}/.well-known/openid-configuration", banner.issuer)
            )]
        );
        let ids: Vec<_> = banner
            .clients
            .iter()
            .map(|c| c.client_id.as_str())
            .collect();
        assert_eq!(ids, ["service", "spa", "web", "web-post"]);
        assert_eq!(
            banner.clients[2].token_endpoint_auth_method,
            AuthMethod::ClientSecretBasic
        );
        let users: Vec<_> = banner.users.iter().map(|u| u.username.as_str()).collect();
        assert_eq!(users, ["alice", "bob"]);
        let admin = banner.admin.expect("admin served");
        assert_eq!(admin.url, format!("{}/admin", banner.issuer));
        assert!(matches!(admin.token, AdminToken::NotNeeded));
        assert_eq!(banner.faults, [Fault::IdTokenBadSignature]);
        assert!(banner.tenants.is_empty());
        assert!(banner.tls_ca_file.is_none());
    }

    #[tokio::test]
    async fn a_persona_banner_lists_its_login_token_and_user_endpoints() {
        let config = Config {
            persona: Persona::Github,
            ..Config::builtin()
        };
        let server = Server::bind(config).await.expect("binds");
        let labels: Vec<_> = Banner::of(&server)
            .endpoints
            .iter()
            .map(|(label, url)| {
                format!("{label} {}", url.trim_start_matches(&server.state().issuer))
            })
            .collect();
        assert_eq!(
            labels,
            [
                "login /login/oauth/authorize",
                "token /login/oauth/access_token",
                "user /user"
            ]
        );
    }
}
