//! The pre-flight: one real login against a running backend before any scenario, so a backend whose shape
//! the target file does not describe is told so once, in target-file terms, instead of failing every
//! scenario the same way. `conform check` runs only this; every `conform` run runs it first.
//!
//! It walks the flow step by step (the backend answers at all; its login reaches the provider with the
//! client the file names; the provider's login page takes the user; the callback leaves the browser with a
//! session the profile endpoint honours as that user) and stops at the first step that does not hold,
//! saying what the backend did and which key to change.

use std::sync::Arc;

use anyhow::anyhow;
use mock_idp::MockIdp;
use url::Url;

use crate::{
    browser::{forms, query_param},
    parameters::Policy,
    provider::Provider,
    target::{LoginStart, SharedFactory},
    world::{MAIN, Seed, World},
};

/// What the pre-flight found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Preflight {
    /// A whole login worked: the profile honoured the session as the user.
    LoggedIn(String),
    /// The login could not be completed for a reason that is not the target file's (an unknown-user
    /// policy of `reject` and no `seed_user` hook): what was checked so far.
    Partial(String),
}

/// One real login through the backend that `factory` describes, on `server` (the provider the backend is
/// configured with). `Err` is the one message a user needs: what the backend did and what to change.
pub async fn check(factory: SharedFactory, server: Arc<MockIdp>) -> anyhow::Result<Preflight> {
    let fixed = factory
        .fixed()
        .ok_or_else(|| anyhow!("the pre-flight is for a running backend (a target file)"))?
        .clone();
    let mut world = World::new().await?;
    world.factory = factory;
    // A namespace of its own each time: a backend checked twice keeps the first check's users.
    let namespace = format!("preflight{}", crate::random_token(6).to_lowercase());
    world.provider = Provider::shared_root(server, namespace, false)?;

    let app = world.app().await?;
    let start = app.login_start();
    let profile_url = app.profile_url();
    let base = match &start {
        LoginStart::Get(url) | LoginStart::Form { page: url, .. } => url.clone(),
    };
    // 1. Does anything answer? (Its profile without a session: nothing a backend keeps.)
    let browser = world.browser("pre-flight")?;
    if let Err(e) = browser.get(&profile_url).await {
        return Err(anyhow!(
            "the backend does not answer at {profile_url}: {e:#}. Start it, or set [backend] base_url \
             to where it listens"
        ));
    }
    // 2. Does its login reach the provider?
    let answer = crate::world::start_login(&browser, &start).await?;
    if !answer.is_redirect() {
        let hint = match &start {
            LoginStart::Get(url) if answer.is_success() => {
                let actions: Vec<String> = forms(&answer.body, url)
                    .into_iter()
                    .filter(|f| f.method == "POST")
                    .map(|f| f.action.path().to_owned())
                    .collect();
                match actions.first() {
                    Some(action) => format!(
                        "it is a page whose form posts to {action}: if that form starts the login, set \
                         [backend] login_form = \"{action}\""
                    ),
                    None => "set [backend] login to the path that redirects to the provider".into(),
                }
            }
            _ => "set [backend] login (and login_form) to what starts a login".into(),
        };
        return Err(anyhow!(
            "the backend's login answered {} instead of a redirect to the provider: {hint}",
            answer.brief()
        ));
    }
    let location = answer.location()?;
    let endpoint = world.provider.idp.authorization_endpoint();
    if !location.as_str().starts_with(&format!("{endpoint}?")) {
        return Err(anyhow!(
            "the backend's login redirected to {location}, not to the provider's authorization endpoint \
             {endpoint}: configure the backend with the issuer {} (or set [provider] issuer to the one it \
             uses)",
            fixed.provider.issuer
        ));
    }
    let client_id = query_param(&location, "client_id").unwrap_or_default();
    let redirect_uri = query_param(&location, "redirect_uri").unwrap_or_default();
    if client_id != fixed.provider.client_id {
        return Err(anyhow!(
            "the backend logs in as client_id {client_id:?}, the target file says {:?}: set [provider] \
             client_id = \"{client_id}\" (with its secret)",
            fixed.provider.client_id
        ));
    }
    if redirect_uri != fixed.redirect_uri {
        return Err(anyhow!(
            "the backend sends redirect_uri {redirect_uri:?}, the target file says {:?}: set [provider] \
             redirect_uri = \"{redirect_uri}\"",
            fixed.redirect_uri
        ));
    }
    // 3. A whole login, of a user the backend will take.
    let seeded = world.seed_app_user("alice", Seed::default()).await;
    if let Err(e) = seeded {
        let reason = crate::target::skip_reason(&e.to_string()).map(str::to_owned);
        return match reason {
            Some(reason) if fixed.policy != Policy::AutoCreate => Ok(Preflight::Partial(format!(
                "the login starts as the target file says; a whole login was not tried: the backend \
                 refuses unknown users (unknown_user_policy = \"{}\") and the run {reason}",
                fixed.policy.as_str()
            ))),
            _ => Err(explain_login(&world, &profile_url, &e)),
        };
    }
    match world.log_in(MAIN, "alice").await {
        Ok(()) => {}
        Err(e) => return Err(explain_login(&world, &profile_url, &e)),
    }
    world
        .check_token_issued()
        .map_err(|e| explain_login(&world, &profile_url, &e))?;
    Ok(Preflight::LoggedIn(format!(
        "a login of alice through {base} ended with a session that {profile_url} honours"
    )))
}

/// A failed login, in target-file terms.
fn explain_login(world: &World, profile_url: &Url, e: &anyhow::Error) -> anyhow::Error {
    let message = format!("{e:#}");
    let hint = if !world.withheld_cookies.is_empty() {
        // The login's transaction never reached the backend: no key of the target file mends that.
        "the backend must let its login's cookie go with the provider's answer (see above); nothing in \
         the target file changes that"
            .to_owned()
    } else if message.contains("profile endpoint does not honour") || message.contains("no session")
    {
        match world.last_backend() {
            Ok(answer) if answer.is_redirect() => format!(
                "the callback answered {} and left no session that {profile_url} honours: check \
                 [backend] profile (a page that answers 2xx with a session and 401, 403 or a redirect \
                 without one) and, for a bearer token, [session] json_pointer",
                answer.brief()
            ),
            Ok(answer) => format!(
                "the callback answered {}: if it hands a token in JSON, set [session] json_pointer to \
                 where it is; if the browser follows the provider's redirect itself, set [backend] \
                 callback_method = \"browser\"",
                answer.brief()
            ),
            Err(_) => "check [backend] callback and callback_method".into(),
        }
    } else if message.contains("the session is not") {
        "the profile names another user: check the [profile] pointers".into()
    } else {
        "check the target file against what the backend does".into()
    };
    anyhow!("a login of alice failed: {message}. {hint}")
}
