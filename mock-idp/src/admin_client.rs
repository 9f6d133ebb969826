//! `mock-idp admin …`: drives a running server's admin API over HTTP. Each subcommand is one request;
//! the answer's JSON is printed, and an error answer ends the command with its `error_description`.

use std::path::PathBuf;

use clap::Subcommand;
use http_body_util::{BodyExt, Full};
use hyper::{
    Method, Request,
    body::Bytes,
    header::{AUTHORIZATION, CONTENT_TYPE, HOST},
};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// What to do at the admin API (TENANT is a tenant name, or `root`).
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Tenants: create, list, delete.
    Tenant {
        #[command(subcommand)]
        action: TenantAction,
    },
    /// Faults: add, list, clear.
    Fault {
        #[command(subcommand)]
        action: FaultAction,
    },
    /// The clock: advance, freeze, unfreeze, get.
    Clock {
        #[command(subcommand)]
        action: ClockAction,
    },
    /// Rotate the signing key.
    Keys {
        /// The tenant.
        tenant: String,
        /// Drop the older keys from the JWKS.
        #[arg(long)]
        retire_old: bool,
    },
    /// Make the next authorization request complete as USERNAME, without the login page.
    NextLogin {
        /// The tenant.
        tenant: String,
        /// The user.
        username: String,
    },
    /// Apple persona: USERNAME revokes the app CLIENT (their next authorization carries the `user` field
    /// again).
    ForgetConsent {
        /// The tenant.
        tenant: String,
        /// The client id.
        client: String,
        /// The user.
        username: String,
    },
    /// Tokens for a user and client without a browser (the token endpoint's JSON), for a test in any
    /// language: an access token and, with `openid`, an id_token.
    Token {
        /// The tenant.
        tenant: String,
        #[command(flatten)]
        mint: MintArgs,
    },
    /// End every session of USERNAME at the provider and send the back-channel logout tokens.
    Logout {
        /// The tenant.
        tenant: String,
        /// The user.
        username: String,
    },
    /// The request log (secrets masked).
    Requests {
        /// The tenant.
        tenant: String,
        /// Only records after this sequence number.
        #[arg(long, default_value_t = 0)]
        since: u64,
    },
    /// The verdict on the clients, from the request log.
    Verdict {
        /// The tenant.
        tenant: String,
    },
}

/// Tenant subcommands.
#[derive(Debug, Subcommand)]
pub enum TenantAction {
    /// Create a tenant (a copy of the root's clients and users unless --config is given).
    Create {
        /// Its name; generated when absent.
        name: Option<String>,
        /// A TOML configuration of the config file's shape, without issuer.
        #[arg(long = "from")]
        from: Option<PathBuf>,
    },
    /// List the tenants.
    List,
    /// Delete a tenant.
    Delete {
        /// Its name.
        name: String,
    },
}

/// Fault subcommands.
#[derive(Debug, Subcommand)]
pub enum FaultAction {
    /// Arm a fault: NAME or NAME=VALUE (mock-idp --help lists them).
    Add {
        /// The tenant.
        tenant: String,
        /// The fault.
        fault: String,
        /// How many responses it spoils; without it, until cleared.
        #[arg(long)]
        times: Option<u32>,
        /// Only responses to this client.
        #[arg(long)]
        client: Option<String>,
        /// Only the flows of this user.
        #[arg(long)]
        user: Option<String>,
    },
    /// List the armed faults.
    List {
        /// The tenant.
        tenant: String,
    },
    /// Clear one fault by id, or all.
    Clear {
        /// The tenant.
        tenant: String,
        /// The fault's id; all when absent.
        id: Option<u64>,
    },
}

/// Clock subcommands.
#[derive(Debug, Subcommand)]
pub enum ClockAction {
    /// Move the clock forward.
    Advance {
        /// The tenant.
        tenant: String,
        /// Seconds.
        secs: u64,
    },
    /// Stop the clock.
    Freeze {
        /// The tenant.
        tenant: String,
    },
    /// Let it run again.
    Unfreeze {
        /// The tenant.
        tenant: String,
    },
    /// Print its time.
    Get {
        /// The tenant.
        tenant: String,
    },
}

/// The request an action makes: method, path, body.
fn request_of(action: Action) -> Result<(Method, String, Option<Value>), String> {
    let t = |tenant: &str, rest: &str| format!("/admin/tenants/{tenant}{rest}");
    Ok(match action {
        Action::Tenant { action } => match action {
            TenantAction::Create { name, from } => {
                let config = match from {
                    Some(path) => {
                        let mut config =
                            mock_idp::Config::load(&path).map_err(|e| e.to_string())?;
                        config.address = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
                        let mut v = serde_json::to_value(config).map_err(|e| e.to_string())?;
                        if let Some(o) = v.as_object_mut() {
                            o.remove("address");
                            o.remove("issuer");
                        }
                        Some(v)
                    }
                    None => None,
                };
                let body = json!({"name": name, "config": config});
                (Method::POST, "/admin/tenants".into(), Some(body))
            }
            TenantAction::List => (Method::GET, "/admin/tenants".into(), None),
            TenantAction::Delete { name } => (Method::DELETE, t(&name, ""), None),
        },
        Action::Fault { action } => match action {
            FaultAction::Add {
                tenant,
                fault,
                times,
                client,
                user,
            } => {
                let (name, value) = match fault.split_once('=') {
                    Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                    None => (fault, None),
                };
                let body = json!({"name": name, "value": value, "times": times,
                                  "client_id": client, "username": user});
                (Method::POST, t(&tenant, "/faults"), Some(body))
            }
            FaultAction::List { tenant } => (Method::GET, t(&tenant, "/faults"), None),
            FaultAction::Clear { tenant, id } => match id {
                Some(id) => (Method::DELETE, t(&tenant, &format!("/faults/{id}")), None),
                None => (Method::DELETE, t(&tenant, "/faults"), None),
            },
        },
        Action::Clock { action } => match action {
            ClockAction::Advance { tenant, secs } => (
                Method::POST,
                t(&tenant, "/clock"),
                Some(json!({"advance_secs": secs})),
            ),
            ClockAction::Freeze { tenant } => (
                Method::POST,
                t(&tenant, "/clock"),
                Some(json!({"freeze": true})),
            ),
            ClockAction::Unfreeze { tenant } => (
                Method::POST,
                t(&tenant, "/clock"),
                Some(json!({"freeze": false})),
            ),
            ClockAction::Get { tenant } => (Method::GET, t(&tenant, "/clock"), None),
        },
        Action::Keys { tenant, retire_old } => (
            Method::POST,
            t(&tenant, "/keys/rotate"),
            Some(json!({"retire_old": retire_old})),
        ),
        Action::NextLogin { tenant, username } => (
            Method::POST,
            t(&tenant, "/next-login"),
            Some(json!({"username": username})),
        ),
        Action::ForgetConsent {
            tenant,
            client,
            username,
        } => (
            Method::DELETE,
            t(&tenant, &format!("/clients/{client}/consents/{username}")),
            None,
        ),
        Action::Token { tenant, mint } => (
            Method::POST,
            t(&tenant, "/tokens"),
            Some(serde_json::to_value(mint.request()?).map_err(|e| e.to_string())?),
        ),
        Action::Logout { tenant, username } => (
            Method::POST,
            t(&tenant, &format!("/users/{username}/logout")),
            None,
        ),
        Action::Requests { tenant, since } => (
            Method::GET,
            t(&tenant, &format!("/requests?since={since}")),
            None,
        ),
        Action::Verdict { tenant } => (Method::GET, t(&tenant, "/verdict"), None),
    })
}

/// Runs one action against the server at `url`; prints the answer.
/// What to mint, as the offline `mock-idp token` and `mock-idp admin token TENANT` both take it.
#[derive(Debug, clap::Args)]
pub struct MintArgs {
    /// Username.
    #[arg(long, default_value = "alice")]
    user: String,
    /// Client id.
    #[arg(long, default_value = "web")]
    client: String,
    /// Space-separated scopes.
    #[arg(long, default_value = mock_idp::MINT_DEFAULT_SCOPE)]
    scope: String,
    /// An extra claim, NAME=VALUE (VALUE as JSON when it parses, else a string); repeatable.
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    claims: Vec<String>,
    /// The access token's lifetime in seconds.
    #[arg(long)]
    lifetime: Option<u64>,
}

impl MintArgs {
    /// The one request both commands hand to the library's mint operation.
    pub fn request(&self) -> Result<mock_idp::MintRequest, String> {
        Ok(mock_idp::MintRequest {
            user: self.user.clone(),
            client: self.client.clone(),
            scope: Some(self.scope.clone()),
            claims: claims_of(&self.claims)?,
            lifetime: self.lifetime,
        })
    }
}

/// `--claim NAME=VALUE` flags as a JSON object: VALUE as JSON when it parses (`true`, `3`, `["a"]`), else
/// as a string.
pub fn claims_of(flags: &[String]) -> Result<serde_json::Map<String, Value>, String> {
    flags
        .iter()
        .map(|flag| {
            let (name, value) = flag
                .split_once('=')
                .ok_or_else(|| format!("--claim {flag}: expected NAME=VALUE"))?;
            let value =
                serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
            Ok((name.to_owned(), value))
        })
        .collect()
}

pub async fn run(url: &str, token: Option<&str>, action: Action) -> Result<(), String> {
    let base = url::Url::parse(url).map_err(|e| format!("--url {url}: {e}"))?;
    if base.scheme() != "http" {
        return Err(format!("--url {url}: only http:// URLs are supported"));
    }
    let host = base
        .host_str()
        .ok_or_else(|| format!("--url {url}: no host"))?
        .to_owned();
    let port = base.port_or_known_default().unwrap_or(80);
    let (method, path, body) = request_of(action)?;
    let stream = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(HOST, format!("{host}:{port}"))
        .header(CONTENT_TYPE, "application/json");
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let request = request
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("{url}: {e}"))?
        .to_bytes();
    let json: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body)))
    };
    if !status.is_success() {
        let description = json["error_description"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| json.to_string());
        return Err(format!("{status}: {description}"));
    }
    if !json.is_null() {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
        );
    }
    Ok(())
}
