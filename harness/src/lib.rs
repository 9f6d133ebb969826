//! The conformance harness: Gherkin scenarios (the workspace's `features/`) that drive the mock provider
//! and a client backend as a browser and a frontend would, run by `cargo test`.
//!
//! Run the scenarios tagged `@CODE-REPLAY` against the reference client (another backend plugs in through
//! [`RunOptions::factory`]):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let report = harness::run(harness::RunOptions {
//!     tags: vec!["CODE-REPLAY".into()],
//!     quiet: true,
//!     junit: None, // not the HARNESS_JUNIT file of the whole run
//!     cucumber_json: None,
//!     ..harness::RunOptions::default()
//! })
//! .await?;
//! assert!(report.success() && report.passed() >= 3, "{}", report.summary());
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`target`]: the interface a backend implements to be tested ([`target::TargetFactory`],
//!   [`target::Target`]); [`reference`](mod@reference) is the first implementation, the workspace's reference client.
//! - [`weak`]: a deliberately weakened reference client; the mutation test shows the features catch it.
//! - [`world`]: the per-scenario [`world::World`] (fresh provider, backend, browsers) with the actions
//!   and checks the steps call.
//! - [`steps`]: the step definitions, one file per concept; [`parameters`]: their typed parameters.
//! - [`browser`], [`provider`], [`jwt`]: HTTP as a browser, requests straight at the provider, JWT
//!   inspection and spoiling.
//! - [`runner`]: lenient argument parsing, the writers (console, JUnit, cucumber JSON), the report.
//!
//! # Invariants
//! - Each scenario gets its own provider, backend, database, clocks and cookie jars; nothing is shared, so
//!   scenarios run concurrently.
//! - The world reaches the backend only over HTTP; setup (users, clock, forged tokens) goes through the
//!   target's documented hooks, and the provider through its in-process handle.
//! - Nothing sleeps: time moves by advancing clocks.

pub mod browser;
pub mod jwt;
pub mod logout;
pub mod parameters;
pub mod provider;
pub mod reference;
pub mod runner;
pub mod steps;
pub mod target;
pub mod weak;
pub mod world;

pub use runner::{Invocation, Report, RunOptions, run};
pub use target::{Target, TargetFactory};
pub use world::World;
