//! A strict, embeddable OAuth 2.0 / OpenID Connect identity provider for tests and local development.
//!
//! ```no_run
//! # async fn demo() -> Result<(), mock_idp::StartError> {
//! let idp = mock_idp::MockIdp::start(mock_idp::Config::builtin()).await?; // 127.0.0.1:0
//! idp.next_login("alice"); // the next authorization request completes as alice, no page
//! println!("{}", idp.discovery_url());
//! idp.clock().advance(std::time::Duration::from_secs(61)); // codes now expired
//! idp.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: the TOML format, built-in defaults (`fixtures/mock-idp.toml`), validation naming fields.
//! - [`server`]: `router(state)`, [`Server::bind`] and the [`MockIdp`] handle.
//! - [`state`]: `AppState`, the registry of clients (secrets hashed) and users.
//! - [`authorize`]: the authorization endpoint: ordered checks, the login page, headless login.
//! - [`grants`]: the token endpoint: client authentication, then one module per `grant_type`.
//! - [`resource`]: userinfo, revocation, introspection.
//! - [`store`]: codes, access tokens, refresh tokens, pending logins; one trait each, invariants and bounds in
//!   their docs; [`Stores`] picks them when the state is built (in-memory by default).
//! - [`tokens`], [`keys`]: claims, JWS signing with a key parsed once, JWKS.
//! - [`error`]: the RFC 6749 error table and its HTTP mapping.
//! - [`clock`]: the time every expiry reads; tests advance it.
//!
//! # Invariants
//! - A code is redeemed at most once; a replay revokes every token issued from it.
//! - An unregistered `redirect_uri` or unknown `client_id` never gets a redirect.
//! - Client secrets are compared as hashes in constant time; unknown client and wrong secret look alike.

pub mod authorize;
pub mod clock;
pub mod config;
pub mod discovery;
pub mod error;
pub mod grants;
pub mod keys;
pub mod resource;
pub mod server;
pub mod state;
pub mod store;
pub mod tokens;

pub use clock::Clock;
pub use config::{
    AuthMethod, ClientConfig, Config, ConfigError, GrantType, Limits, PkcePolicy, Secret,
    SigningAlg, UserConfig,
};
pub use server::{MockIdp, Server, StartError, router};
pub use store::Stores;
