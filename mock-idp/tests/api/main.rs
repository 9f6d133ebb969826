//! Integration tests of mock-idp over real HTTP on 127.0.0.1. Each test starts its own server on a random
//! port. Comments name the docs/CONFORMANCE.md rows a test covers.

mod helpers;

mod admin;
mod authorize;
#[cfg(feature = "cli")] // it runs the binary
mod cli;
mod client_auth;
mod codes;
mod discovery;
mod faults;
mod floods;
mod form_post;
mod id_token_algs;
mod login;
mod logout;
mod mint;
mod persona_apple;
mod persona_entra;
mod persona_fidelity;
mod persona_google;
mod personas;
mod pkce;
mod refresh;
mod resource;
mod stores;
mod tenants;
#[cfg(feature = "tls")]
mod tls;
mod token;
