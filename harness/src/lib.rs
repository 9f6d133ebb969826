//! The conformance harness: Gherkin scenarios (the workspace's `features/`) that drive the mock provider
//! and a client backend as a browser and a frontend would, run by `cargo test`.
//!
//! Run the provider-side scenarios tagged `@CODE-ENTROPY` and `@MD-DOC`, which need no backend; a real run
//! passes the factory of the backend under test (a [`target::TargetFactory`] of your own, or
//! [`http_target::HttpFactory`] for a backend that is already running, as the `conform` binary does):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let report = mock_idp_harness::run(mock_idp_harness::RunOptions {
//!     tags: vec!["CODE-ENTROPY".into(), "MD-DOC".into()],
//!     quiet: true,
//!     junit: None, // not the HARNESS_JUNIT file of the whole run
//!     cucumber_json: None,
//!     ..mock_idp_harness::RunOptions::new(std::sync::Arc::new(mock_idp_harness::target::NoTarget))
//! })
//! .await?;
//! assert!(report.success() && report.passed() >= 2, "{}", report.summary());
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`target`]: the interface a backend implements to be tested ([`target::TargetFactory`],
//!   [`target::Target`]); [`http_target`] implements it for a backend that is already running, from a
//!   target file. The workspace's reference client, linked in-process, and its deliberately weakened
//!   variant are on the test side (`tests/support/`), so this library carries neither.
//! - [`world`]: the per-scenario [`world::World`] (fresh provider, backend, browsers) with the actions
//!   and checks the steps call.
//! - [`steps`]: the step definitions, one file per concept; [`parameters`]: their typed parameters.
//! - [`browser`], [`provider`], [`jwt`]: HTTP as a browser, requests straight at the provider, JWT
//!   inspection and spoiling.
//! - [`personas`]: the scenario's WeChat and GitHub providers (mock-idp tenants) and logins through them.
//! - [`refresh`]: the backend using the provider's tokens after the login, and refreshing them.
//! - [`runner`]: lenient argument parsing, the writers (console, JUnit, cucumber JSON), the report.
//!
//! # Invariants
//! - Each scenario gets its own provider, backend, database, clocks and cookie jars; nothing is shared, so
//!   scenarios run concurrently.
//! - The world reaches the backend only over HTTP; setup (users, clock, forged tokens) goes through the
//!   target's documented hooks, and the provider through its in-process handle.
//! - Nothing sleeps: time moves by advancing clocks.

pub mod apple;
pub mod arrangement;
pub mod browser;
pub mod bundled;
pub mod cookies;
pub mod entra;
pub mod google;
pub mod http_target;
pub mod junit;
pub mod jwt;
pub mod logout;
pub mod outcome;
pub mod parameters;
pub mod persona_client;
pub mod personas;
pub mod preflight;
pub mod provider;
pub mod refresh;
pub mod report;
pub mod runner;
pub mod started;
pub mod steps;
pub mod target;
pub mod tenants;
pub mod trace;
pub mod world;

/// `n` random bytes from the operating system, base64url without padding: states, nonces, PKCE verifiers,
/// client secrets and keys of the scenarios.
pub fn random_token(n: usize) -> String {
    use base64::Engine as _;
    let mut bytes = vec![0u8; n];
    // The OS entropy source fails only when the system is broken; no scenario can run then.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut bytes).expect("operating system CSPRNG");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub use runner::{Invocation, Report, RunOptions, run};
pub use target::{Target, TargetFactory};
pub use world::World;
