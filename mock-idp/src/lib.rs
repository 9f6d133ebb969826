//! A strict, embeddable OAuth 2.0 / OpenID Connect identity provider for tests and local development.
//!
//! Start it inside a test, register your app, and log in without a browser:
//!
//! ```
//! use mock_idp::{ClientConfig, Config, MockIdp};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let idp = MockIdp::start(Config::builtin()).await?; // 127.0.0.1:0, its own clock, users alice and bob
//! let callback = "http://127.0.0.1:8080/callback";
//! idp.add_client(ClientConfig::confidential("app", "app-secret", callback))?;
//! idp.next_login("alice"); // the next authorization request completes as alice, no login page
//!
//! // What a browser does: follow the app's redirect to the provider, which redirects back with a code.
//! let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
//! let answer = browser
//!     .get(idp.authorization_endpoint())
//!     .query(&[("response_type", "code"), ("client_id", "app"), ("redirect_uri", callback),
//!              ("scope", "openid profile"), ("state", "s1"), ("nonce", "n1")])
//!     .send()
//!     .await?;
//! assert_eq!(answer.status(), 303);
//! let location = url::Url::parse(answer.headers()["location"].to_str()?)?;
//! let code = location.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned());
//!
//! // What the app's backend does: redeem the code.
//! let tokens: serde_json::Value = reqwest::Client::new()
//!     .post(idp.token_endpoint())
//!     .basic_auth("app", Some("app-secret"))
//!     .form(&[("grant_type", "authorization_code"), ("code", code.as_deref().unwrap_or_default()),
//!             ("redirect_uri", callback)])
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert!(tokens["id_token"].is_string());
//!
//! idp.clock().advance(std::time::Duration::from_secs(61)); // codes issued before now are expired
//! idp.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! In a project's `Cargo.toml`, `mock-idp = { version = "0.1", default-features = false }` under
//! `[dev-dependencies]` gives this in-process provider without the command line's dependencies.
//!
//! # Features
//! - `cli` (default): the `mock-idp` binary (argument parsing, log output); implies `toml`.
//! - `tls` (default, and through `cli`): HTTPS with a generated local CA or a given certificate
//!   ([`Config::tls`], `mock-idp --tls`).
//! - `toml` (default through `cli`): `Config::from_toml` and `Config::load` read configuration files.
//!   Without it, configure in code: [`Config::builtin`], [`ClientConfig::confidential`],
//!   [`UserConfig::new`], [`MockIdp::add_client`].
//!
//! # Layout
//! - [`config`]: the TOML format, built-in defaults (also in `fixtures/mock-idp.toml`), validation naming fields.
//! - [`server`]: `router(state)`, [`Server::bind`] and the [`MockIdp`] handle; [`banner`]: what a bound
//!   server says about itself at start.
//! - [`state`]: `AppState`, the registry of clients (secrets hashed) and users.
//! - [`authorize`]: the authorization endpoint: ordered checks, the login page, headless login.
//! - [`grants`]: the token endpoint: client authentication, then one module per `grant_type`.
//! - [`resource`]: userinfo, revocation, introspection.
//! - `redemption`: the one redemption of a code, which the token endpoint and every persona call, their
//!   differences as values (`CodeRules`).
//! - [`personas`]: the WeChat and GitHub protocols over the same core (`persona = "wechat" | "github"`),
//!   and the generated avatars every persona serves.
//! - [`logout`]: the end-session endpoint and back-channel logout tokens.
//! - [`store`]: codes, access tokens, refresh tokens, pending logins; one trait each, invariants and bounds in
//!   their docs; [`Stores`] picks them when the state is built (in-memory by default).
//! - [`tokens`], [`keys`]: claims, JWS signing with a key parsed once, JWKS.
//! - [`error`]: the RFC 6749 error table and its HTTP mapping.
//! - [`clock`]: the time every expiry reads; tests advance or freeze it.
//! - [`faults`]: named faults, their registry, and [`faults::spoil`], which spoils one response each.
//! - [`requests`]: the masked, bounded request log; [`verdict`]: what it says about the client.
//! - [`conn`]: the listener whose connections a fault can abort.
//!
//! # Invariants
//! - A code is redeemed at most once; a replay revokes every token issued from it.
//! - An unregistered `redirect_uri` or unknown `client_id` never gets a redirect.
//! - Client secrets are compared as hashes in constant time; unknown client and wrong secret look alike.

pub mod admin;
pub mod authorize;
pub mod banner;
pub mod clock;
pub mod config;
pub mod conn;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod grants;
pub mod keys;
pub mod logout;
pub mod personas;
pub(crate) mod redemption;
pub mod requests;
pub mod resource;
pub mod server;
pub mod state;
pub mod store;
pub mod tenants;
#[cfg(feature = "tls")]
pub mod tls;
pub mod tokens;
pub mod verdict;

pub use banner::Banner;
pub use clock::Clock;
pub use config::{
    AuthMethod, ClientConfig, Config, ConfigError, FaultConfig, GrantType, IdTokenAlg, Limits,
    Overrides, Persona, PkcePolicy, Secret, SigningAlg, TenantConfig, TlsConfig, UserConfig,
};
pub use faults::{Fault, FaultSpec};
pub use requests::RequestRecord;
pub use server::{FaultHandle, Handle, MockIdp, Server, StartError, app, router};
pub use store::Stores;
pub use tenants::{Hub, TenantError};
pub use verdict::{Verdict, VerdictItem};
