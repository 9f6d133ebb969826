//! Integration tests of the reference client over real HTTP: an in-process mock-idp (or a wiremock fake
//! provider for rare faults), a fresh SQLite file per app, and cookie-jar clients playing browser + frontend.
//! Each test names the CONFORMANCE.md rows it covers.

mod helpers;

mod app_tokens;
mod apple;
mod callback;
mod entra;
mod floods;
mod google;
mod hardening;
mod hostile;
mod login;
mod logout;
mod provider_faults;
mod providers;
mod refresh;
mod users;
