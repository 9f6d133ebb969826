//! The reference client backend for the OAuth 2.0 / OpenID Connect authorization code flow.
//!
//! # Layout
//! - [`config`]: typed [`Settings`] from built-in defaults, a TOML file and `RC_*` environment overrides.
//! - [`startup`]: [`Application::build`] → `.port()` → `.run_until_stopped()`; [`router`] for tests.
//! - [`routes`]: the HTTP handlers — login (step 1), callback (steps 3–6), bind, me, admin, pages.
//! - [`oidc`]: discovery, the authorization URL, the code exchange and the id_token checks.
//! - [`db`]: the SQLite user database; users are found by (issuer, subject) only.
//! - [`provider_tokens`]: the provider's tokens a login left, kept server-side for userinfo and refresh.
//! - [`store`]: single-use login transactions, binding tickets and cookie sessions.
//! - [`app_jwt`]: the backend's own HS256 JWT.
//! - [`error`]: the API's error codes → HTTP status + JSON.
//! - [`clock`]: the only source of time, so tests can move it.
//!
//! # Invariants
//! - A login transaction is consumed before any network call: a replayed callback never reaches the token
//!   endpoint, and a code is never sent twice.
//! - No app JWT or session exists unless every check passed: state, browser binding, iss, code exchange,
//!   id_token, user lookup, not disabled.
//! - Tokens travel only in JSON bodies with `Cache-Control: no-store`, never in URLs.
//! - The provider's tokens never leave the server; a refreshed id_token that names another `iss`, `sub`,
//!   `aud` or `azp` than the login's is refused before its access token is used (OIDC Core §12.2).

pub mod app_jwt;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod oidc;
pub mod provider_tokens;
pub mod providers;
pub mod routes;
pub mod startup;
pub mod store;

pub use clock::Clock;
pub use config::{SessionMode, Settings, UnknownUserPolicy};
pub use db::{Database, NewUser, Role, User};
pub use startup::{AppState, Application, router};
