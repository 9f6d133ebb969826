//! Tenants: several complete, isolated providers on one server. A tenant named `NAME` is served under
//! `/t/NAME` with issuer `{root issuer}/t/NAME`, and has its own keys, clients, users, clock, faults,
//! stores and request log: a whole [`AppState`] behind its own [`crate::router`]. A code, token or browser
//! session of one tenant means nothing at another, because nothing is shared.
//!
//! The [`Hub`] holds the root provider and the tenants; the Rust handle, the config file's `[[tenants]]`
//! and the admin API all create, list and delete tenants through it.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

use axum::{
    Router,
    body::Body,
    extract::{Path, Request, State},
    http::{StatusCode, Uri},
    response::{IntoResponse, Response},
};
use tower::ServiceExt;

use crate::{
    clock::Clock,
    config::Config,
    error::ConfigError,
    keys::{KeySet, SigningKey},
    state::{AppState, read, write},
};

/// The most tenants one server holds; creating more is refused until some are deleted.
pub const MAX_TENANTS: usize = 1_000;

/// Why a tenant could not be created.
#[derive(Debug, thiserror::Error)]
pub enum TenantError {
    /// The name is not 1–64 characters of `[A-Za-z0-9_-]`.
    #[error("a tenant name is 1-64 characters of A-Z a-z 0-9 _ -, not {0:?}")]
    BadName(String),
    /// `root` names the root provider and cannot be a tenant.
    #[error("`root` is reserved for the root provider")]
    Reserved,
    /// A tenant of this name exists.
    #[error("tenant {0:?} exists already")]
    Exists(String),
    /// The hub is full.
    #[error("{MAX_TENANTS} tenants exist already; delete some first")]
    Full,
    /// The tenant's configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Its signing key could not be loaded.
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}

/// One tenant: its state and the router over it, built once.
#[derive(Clone)]
struct Tenant {
    /// The tenant's provider.
    state: AppState,
    /// `crate::router(state)`, cloned per request (cheap: it is reference-counted inside).
    router: Router,
}

/// The root provider and its tenants.
#[derive(Clone)]
pub struct Hub(Arc<HubInner>);

struct HubInner {
    /// The root provider (`/`), exactly as a server without tenants.
    root: AppState,
    /// Tenants by name.
    tenants: RwLock<HashMap<String, Tenant>>,
    /// For generated names.
    next: AtomicU64,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("root", &self.0.root.issuer)
            .field("tenants", &read(&self.0.tenants).len())
            .finish()
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Hub {
    /// A hub around the root provider, with no tenants yet.
    pub(crate) fn new(root: AppState) -> Hub {
        Hub(Arc::new(HubInner {
            root,
            tenants: RwLock::new(HashMap::new()),
            next: AtomicU64::new(0),
        }))
    }

    /// The root provider.
    pub(crate) fn root(&self) -> &AppState {
        &self.0.root
    }

    /// The issuer a tenant of this name has.
    pub fn issuer_of(&self, name: &str) -> String {
        format!("{}/t/{name}", self.0.root.issuer)
    }

    /// Creates a tenant. Without `name`, one is generated (`t1`, `t2`, …). Without `config`, it starts as
    /// a copy of the root's clients, users and lifetimes; with one, from that (its `issuer` and `address`
    /// must be absent: a tenant's issuer follows from the server's). Either way it signs with keys of its
    /// own, generated on first use unless the config names a `signing_key`.
    pub(crate) fn create(
        &self,
        name: Option<&str>,
        config: Option<Config>,
    ) -> Result<AppState, TenantError> {
        let name = match name {
            Some(n) => n.to_owned(),
            None => loop {
                let n = format!("t{}", self.0.next.fetch_add(1, Ordering::Relaxed) + 1);
                if !read(&self.0.tenants).contains_key(&n) {
                    break n;
                }
            },
        };
        if !valid_name(&name) {
            return Err(TenantError::BadName(name));
        }
        if name == "root" {
            return Err(TenantError::Reserved);
        }
        let root = &self.0.root;
        let copy = config.is_none();
        let mut config = match config {
            Some(c) => {
                if c.issuer.is_some() {
                    return Err(TenantError::Config(ConfigError::Invalid {
                        field: "issuer".into(),
                        reason: "a tenant's issuer follows from the server's; leave it out".into(),
                    }));
                }
                c.validate()?;
                c
            }
            None => Config {
                clients: Vec::new(),
                users: Vec::new(),
                faults: Vec::new(),
                armed_faults: Vec::new(),
                clock_advance_secs: 0,
                clock_frozen: false,
                ..root.config.clone()
            },
        };
        let keys = match SigningKey::configured::<TenantError>(&config)? {
            Some(key) => KeySet::new(key),
            None => KeySet::generated(config.signing_alg),
        };
        config.issuer = None;
        let state = AppState::with_keys(self.issuer_of(&name), config, keys, Clock::new());
        if copy {
            // The registry, not the config: the root holds client secrets only as hashes.
            let clients = read(&root.clients).clone();
            let users = read(&root.users).clone();
            *write(&state.clients) = clients;
            *write(&state.users) = users;
        }
        let mut tenants = write(&self.0.tenants);
        if tenants.contains_key(&name) {
            return Err(TenantError::Exists(name));
        }
        if tenants.len() >= MAX_TENANTS {
            return Err(TenantError::Full);
        }
        let router = crate::router::router(state.clone());
        tenants.insert(
            name,
            Tenant {
                state: state.clone(),
                router,
            },
        );
        Ok(state)
    }

    /// A tenant's provider.
    pub(crate) fn get(&self, name: &str) -> Option<AppState> {
        read(&self.0.tenants).get(name).map(|t| t.state.clone())
    }

    /// Deletes a tenant; its codes, tokens and sessions go with it. Whether it existed.
    pub fn delete(&self, name: &str) -> bool {
        write(&self.0.tenants).remove(name).is_some()
    }

    /// Every tenant as (name, issuer), sorted by name.
    pub fn list(&self) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = read(&self.0.tenants)
            .iter()
            .map(|(n, t)| (n.clone(), t.state.issuer.clone()))
            .collect();
        all.sort();
        all
    }

    fn router_of(&self, name: &str) -> Option<Router> {
        read(&self.0.tenants).get(name).map(|t| t.router.clone())
    }
}

/// `/t/{tenant}/{*rest}`: hands the request, its path stripped of `/t/NAME`, to the tenant's router.
pub async fn dispatch(
    State(hub): State<Hub>,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
) -> Response {
    let Some(name) = params.get("tenant") else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(router) = hub.router_of(name) else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "error": "not_found",
                "error_description": format!("no tenant {name:?}"),
            })),
        )
            .into_response();
    };
    let (mut parts, body) = request.into_parts();
    let prefix = format!("/t/{name}");
    let rest = parts
        .uri
        .path()
        .strip_prefix(&prefix)
        .unwrap_or_default()
        .to_owned();
    let rest = if rest.is_empty() {
        "/".to_owned()
    } else {
        rest
    };
    let path_and_query = match parts.uri.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest,
    };
    parts.uri = match Uri::builder().path_and_query(path_and_query).build() {
        Ok(uri) => uri,
        Err(_) => return StatusCode::BAD_REQUEST.into_response(),
    };
    match router
        .oneshot(Request::from_parts(parts, Body::new(body)))
        .await
    {
        Ok(response) => response,
        Err(never) => match never {},
    }
}
