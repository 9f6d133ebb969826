//! The test side's targets: the workspace's reference client, linked in-process, and its deliberately
//! weakened variant. They live here, not in the `harness` library, so the library other teams depend on
//! carries no reference client, SQLite or axum; each test binary uses the part it needs.
#![allow(dead_code)]

pub mod reference;
pub mod weak;

use std::sync::Arc;

pub use reference::ReferenceFactory;

/// Run options for the reference client, with reports off unless the environment asks for them.
pub fn reference_options() -> mock_idp_harness::RunOptions {
    mock_idp_harness::RunOptions::new(Arc::new(ReferenceFactory::new()))
}
