//! The Gherkin steps, one file per concept. Each step is one or two calls to [`crate::world::World`]
//! helpers; the doc comment's first line is what `docs/STEPS.md` lists.

pub mod app_users;
pub mod apple;
pub mod authorization_answers;
pub mod backend_answers;
pub mod browser;
pub mod entra;
pub mod google;
pub mod logout;
pub mod persona_client;
pub mod personas;
pub mod provider;
pub mod refresh;
pub mod resource_answers;
pub mod tenants;
pub mod token_answers;
pub mod token_endpoint;
