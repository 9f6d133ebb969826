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
//!   [`UserConfig::new`], [`Handle::add_client`].
//!
//! # The public API
//! Everything a user names is exported here, at the crate root; every module is private, and
//! `public-api.txt` (checked by `tests/public_api.rs`) lists the exports:
//! - the provider: [`MockIdp`] (start, tenants, shutdown) and its [`Handle`] (URLs, users and clients,
//!   faults, the clock, key rotation, the request log and verdict, minting tokens, logout), [`Server`],
//!   [`Hub`], [`Banner`];
//! - configuration: [`Config`] and its parts ([`ClientConfig`], [`UserConfig`], [`Limits`], …), [`Overrides`];
//! - faults: [`Fault`], [`FaultSpec`], [`FaultHandle`], [`FAULTS`];
//! - what the provider saw: [`RequestRecord`], [`Verdict`], [`VERDICT_ITEMS`], [`fingerprint`];
//! - the store traits and their in-memory implementations, chosen in [`Stores`];
//! - errors: [`StartError`], [`ConfigError`], [`FaultError`], [`TenantError`], [`MintError`], [`KeyError`].
//!
//! # Layout
//! - `model`: the domain model (clients, users, algorithms, personas, secrets); `config`: the file format,
//!   built-in defaults (also in `fixtures/mock-idp.toml`), validation naming fields.
//! - `router`: one provider's router; `handle`: [`Handle`]; `server`: serving and [`MockIdp`]; `banner`:
//!   what a bound server says about itself at start. `tests/layers.rs` keeps these files free of import
//!   circles.
//! - `state`: `AppState`, the registry of clients (secrets hashed) and users.
//! - `authorize`: the authorization endpoint: ordered checks, the login page, headless login.
//! - `grants`: the token endpoint: client authentication, then one module per `grant_type`.
//! - `resource`: userinfo, revocation, introspection.
//! - `redemption`: the one redemption of a code, which the token endpoint and every persona call, their
//!   differences as values (`CodeRules`).
//! - `personas`: the WeChat and GitHub protocols over the same core (`persona = "wechat" | "github"`),
//!   and the generated avatars every persona serves.
//! - `logout`: the end-session endpoint and back-channel logout tokens.
//! - `store`: codes, access tokens, refresh tokens, pending logins; one trait each, invariants and bounds in
//!   their docs; [`Stores`] picks them when the state is built (in-memory by default).
//! - `tokens`, `keys`: claims, JWS signing with a key parsed once, JWKS.
//! - `error`: the RFC 6749 error table and its HTTP mapping.
//! - `clock`: the time every expiry reads; tests advance or freeze it.
//! - `faults`: named faults, their registry, and `faults::spoil`, which spoils one response each.
//! - `requests`: the masked, bounded request log, `logging` its middleware; `verdict`: what it says about the
//!   client; `pages`: the HTML templates.
//! - `conn`: the listener whose connections a fault can abort.
//!
//! # Invariants
//! - A code is redeemed at most once; a replay revokes every token issued from it.
//! - An unregistered `redirect_uri` or unknown `client_id` never gets a redirect.
//! - Client secrets are compared as hashes in constant time; unknown client and wrong secret look alike.

#![deny(unnameable_types)]

mod admin;
mod authorize;
mod banner;
mod clock;
mod config;
mod conn;
mod discovery;
mod error;
mod faults;
mod grants;
mod handle;
mod keys;
mod logging;
mod logout;
mod model;
mod pages;
mod personas;
mod quirks;
mod redemption;
mod requests;
mod resource;
mod router;
mod server;
mod state;
mod store;
mod tenants;
#[cfg(feature = "tls")]
mod tls;
mod tokens;
mod verdict;

// The public API: the handle, configuration and its parts, faults, the request log and verdict, the
// store traits, errors. Every module is private; `public-api.txt` lists what this exports.
pub use admin::AdminAuth;
pub use authorize::{AuthRequest, ResponseMode};
pub use banner::{AdminToken, Banner, BannerAdmin};
pub use clock::Clock;
pub use config::{Config, FaultConfig, Limits, Overrides, TenantConfig, TlsConfig};
pub use error::ConfigError;
pub use faults::{
    ArmedFault, AuthorizeErrorCode, ErrorStatus, Fault, FaultError, FaultInfo, FaultSpec,
};
pub use handle::{FaultHandle, Handle};
pub use keys::{KeyError, KeySnapshot, SigningKey};
pub use logout::Delivery;
pub use model::{
    AuthMethod, ClientConfig, ClientSecretKey, GrantType, IdTokenAlg, Persona, PersonaRequest,
    PkcePolicy, Secret, SigningAlg, UserConfig, is_guid,
};
pub use personas::{github_id, github_login, wechat_openid};
pub use quirks::apple::relay_email as apple_relay_email;
pub use quirks::entra::{
    CONSUMER_TENANT as ENTRA_CONSUMER_TENANT, DEFAULT_TENANT as ENTRA_DEFAULT_TENANT,
    FOREIGN_TENANT as ENTRA_FOREIGN_TENANT, entra_oid, entra_sub, entra_tid,
};
pub use requests::{Note, RequestRecord, fingerprint};
pub use server::{MockIdp, Server, StartError};
pub use state::MAX_NEXT_LOGINS;
pub use store::{
    AccessRecord, AuthorizationCode, CodeStore, Holder, MemoryCodeStore, MemoryPendingStore,
    MemoryRefreshStore, MemorySessionStore, MemoryTokenStore, Pending, PendingStore, Redemption,
    RefreshGrant, RefreshRedemption, RefreshStore, Session, SessionStore, StoreFull, Stores,
    TokenStore,
};
pub use tenants::{Hub, TenantError};
pub use tokens::{MINT_DEFAULT_SCOPE, MintError, MintRequest, mint_offline};
pub use verdict::{Outcome, Verdict, VerdictItem};

/// Every fault's name, value, example and summary, in the order of the documentation's table.
pub const FAULTS: &[FaultInfo] = faults::CATALOGUE;
/// The names of the verdict's items, in order.
pub const VERDICT_ITEMS: &[&str] = verdict::ITEMS;
