//! Typed configuration: the TOML file format, the built-in defaults and their validation.

#[cfg(feature = "toml")]
use std::path::Path;
use std::{collections::BTreeMap, net::SocketAddr};

use serde::{Deserialize, Serialize};

pub use crate::error::ConfigError;
use crate::error::invalid;
use crate::model::{
    AuthMethod, ClientConfig, GrantType, Persona, PkcePolicy, Secret, SigningAlg, UserConfig,
};

/// How many records the request log keeps by default (`request_log_capacity`).
pub const DEFAULT_REQUEST_LOG_CAPACITY: usize = 5_000;

/// Upper bounds of the in-memory stores, so that memory follows what is live and never what was ever
/// issued. A store at its bound (after dropping its expired records) refuses new records with
/// `temporarily_unavailable` instead of growing. For scale: the soak bench measures 2–4 KiB of resident
/// memory per login still live (a spent code, two access-token records, two spent refresh tokens and a
/// revoked grant), allocator and hash-table slack included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Authorization codes, unspent (until they expire) or spent (until the tokens they produced expire).
    pub codes: usize,
    /// Issued access tokens (until they expire); revoked-token and revoked-grant records are each capped at
    /// this number too.
    pub access_tokens: usize,
    /// Refresh tokens, live or spent (until they expire).
    pub refresh_tokens: usize,
    /// Requests waiting at the login page (10 minutes each). Anyone can create one, so the store is fair
    /// rather than refusing: when full, the oldest page of the address holding the most is evicted.
    pub pending_logins: usize,
    /// Of those, the most one client address holds (IPv6: one /64); its oldest goes first. Sized well
    /// above what a concurrent test run from one address keeps open.
    pub pending_logins_per_address: usize,
    /// Failed-client-authentication counters, one per (client, remote address) per minute. When full, the
    /// counters with the fewest failures make room: every failure is counted.
    pub auth_failure_counters: usize,
    /// Provider sessions of clients with a back-channel logout URI (until the tokens they issued expire).
    pub sessions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            codes: 100_000,
            access_tokens: 100_000,
            refresh_tokens: 100_000,
            pending_logins: 5_000,
            pending_logins_per_address: 1_000,
            auth_failure_counters: 10_000,
            sessions: 100_000,
        }
    }
}

/// The whole configuration of one mock IdP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier; when absent, `http://{bound address}`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// The protocol this provider speaks: `oidc` (default), `wechat` or `github`.
    #[serde(default)]
    pub persona: Persona,
    /// Where to listen; port 0 picks a free one.
    #[serde(default = "default_address")]
    pub address: SocketAddr,
    /// Lifetime of authorization codes, seconds (RFC 6749 §4.1.2 recommends at most 600).
    #[serde(default = "default_code_ttl")]
    pub code_ttl: u64,
    /// Lifetime of access tokens, seconds.
    #[serde(default = "default_hour")]
    pub access_token_ttl: u64,
    /// Lifetime of id_tokens, seconds.
    #[serde(default = "default_hour")]
    pub id_token_ttl: u64,
    /// Lifetime of refresh tokens, seconds.
    #[serde(default = "default_day")]
    pub refresh_token_ttl: u64,
    /// Signing algorithm.
    #[serde(default)]
    pub signing_alg: SigningAlg,
    /// A PEM private key (PKCS#1 or PKCS#8 RSA for RS256, PKCS#8 P-256 for ES256); the test-only key if absent.
    #[serde(default)]
    pub signing_key: Option<String>,
    /// Whether `login_hint=<username>` completes the authorization without the login page.
    #[serde(default)]
    pub login_hint_auto_login: bool,
    /// Failed client authentications allowed per client per minute before 429.
    #[serde(default = "default_auth_failures")]
    pub max_auth_failures_per_minute: u32,
    /// Upper bounds of the stores (`[limits]`).
    #[serde(default)]
    pub limits: Limits,
    /// Registered clients.
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// Users who can log in.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Faults armed at start (`[[faults]]`); see [`crate::Fault`].
    #[serde(default)]
    pub faults: Vec<FaultConfig>,
    /// Faults armed at start that arrive parsed (`--fault`, or code), so they are carried as they are
    /// rather than printed back to a `[[faults]]` table; armed after `faults`. Not part of the file.
    #[serde(skip)]
    pub armed_faults: Vec<crate::faults::FaultSpec>,
    /// How many requests the request log keeps (the oldest go first); 0 keeps none.
    #[serde(default = "default_request_log_capacity")]
    pub request_log_capacity: usize,
    /// Seconds the provider's clock runs ahead of the system clock from the start.
    #[serde(default)]
    pub clock_advance_secs: u64,
    /// Whether the provider's clock starts frozen (it then moves only when advanced).
    #[serde(default)]
    pub clock_frozen: bool,
    /// Whether the admin API is served under `/admin`.
    #[serde(default)]
    pub admin: bool,
    /// The bearer token every admin request needs; with none, requests need none on a loopback address.
    #[serde(default)]
    pub admin_token: Option<Secret>,
    /// Tenants created at start (`[[tenants]]`: a `name` and the same fields as this file).
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// Serve HTTPS (`[tls]`, feature `tls`); the default issuer is then `https://{bound address}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
}

/// The `[tls]` table: a given certificate and key, or (with neither) one generated on first start for
/// `localhost` and `127.0.0.1`, signed by a local CA whose certificate clients are told to trust.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// A PEM certificate chain, leaf first.
    #[serde(default)]
    pub cert: Option<String>,
    /// Its PEM private key.
    #[serde(default)]
    pub key: Option<String>,
    /// Where the generated CA (`ca.pem`), certificate and key are kept; by default `mock-idp-tls` in the
    /// system's temp directory.
    #[serde(default)]
    pub dir: Option<String>,
}

/// A `[[tenants]]` table: a name and a configuration of the root's shape (without `issuer` and
/// `address`, which follow from the server's).
#[derive(Debug, Clone, Serialize)]
pub struct TenantConfig {
    /// The tenant's name: it is served under `/t/NAME`.
    pub name: String,
    /// Its configuration.
    #[serde(flatten)]
    pub config: Config,
}

/// serde cannot combine `flatten` with `deny_unknown_fields`, so the table is read whole, its `name` taken
/// out, and the rest read as a [`Config`], which keeps refusing unknown fields.
impl<'de> Deserialize<'de> for TenantConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = serde_json::Map::<String, serde_json::Value>::deserialize(d)?;
        let name = match table.remove("name") {
            Some(serde_json::Value::String(n)) => n,
            Some(_) => return Err(D::Error::custom("tenant `name` must be a string")),
            None => return Err(D::Error::missing_field("name")),
        };
        let config = serde_json::from_value(serde_json::Value::Object(table))
            .map_err(|e| D::Error::custom(format!("tenant {name:?}: {e}")))?;
        Ok(TenantConfig { name, config })
    }
}

fn default_request_log_capacity() -> usize {
    DEFAULT_REQUEST_LOG_CAPACITY
}

/// A `[[faults]]` table: a fault armed when the server starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// The fault's name, e.g. `id_token.wrong_aud` (`mock-idp --help` lists them).
    pub name: String,
    /// Its value, for faults that take one (`token.status` → `"503"`).
    #[serde(default)]
    pub value: Option<String>,
    /// How many responses it spoils; absent: every one until the server stops.
    #[serde(default)]
    pub times: Option<u32>,
    /// Only responses to this client.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Only the flows of this user.
    #[serde(default)]
    pub username: Option<String>,
}

impl FaultConfig {
    /// The fault this table arms, or an error naming `field` and the bad name or value.
    pub fn spec(&self, field: &str) -> Result<crate::faults::FaultSpec, ConfigError> {
        let fault = crate::faults::Fault::parse(&self.name, self.value.as_deref())
            .map_err(|e| invalid(format!("{field}.name"), e.to_string()))?;
        let spec = crate::faults::FaultSpec {
            fault,
            times: self.times,
            client_id: self.client_id.clone(),
            username: self.username.clone(),
        };
        spec.check()
            .map_err(|e| invalid(field.to_owned(), e.to_string()))?;
        Ok(spec)
    }
}

fn default_address() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}
fn default_code_ttl() -> u64 {
    60
}
fn default_hour() -> u64 {
    3600
}
fn default_day() -> u64 {
    86400
}
fn default_auth_failures() -> u32 {
    20
}

impl Default for Config {
    /// No clients and no users, a random loopback port.
    fn default() -> Self {
        Config {
            issuer: None,
            persona: Persona::Oidc,
            address: default_address(),
            code_ttl: default_code_ttl(),
            access_token_ttl: default_hour(),
            id_token_ttl: default_hour(),
            refresh_token_ttl: default_day(),
            signing_alg: SigningAlg::RS256,
            signing_key: None,
            login_hint_auto_login: false,
            max_auth_failures_per_minute: default_auth_failures(),
            limits: Limits::default(),
            clients: Vec::new(),
            users: Vec::new(),
            faults: Vec::new(),
            armed_faults: Vec::new(),
            request_log_capacity: default_request_log_capacity(),
            clock_advance_secs: 0,
            clock_frozen: false,
            admin: false,
            admin_token: None,
            tenants: Vec::new(),
            tls: None,
        }
    }
}

impl Config {
    /// The built-in defaults: port 9000 and issuer `http://127.0.0.1:9000`, the clients `web`, `web-post`,
    /// `spa` and `service`, the users alice and bob. `fixtures/mock-idp.toml` is the same configuration as a
    /// file (a test keeps the two equal); it is built here in code so that the embeddable library needs no
    /// TOML parser.
    pub fn builtin_served() -> Config {
        use GrantType::{AuthorizationCode, ClientCredentials, RefreshToken};
        const WEB_CALLBACK: &str = "http://127.0.0.1:3000/callback";
        let client = |id: &str, secret: Option<&str>, auth, uris: &[&str], grants: &[GrantType]| {
            ClientConfig {
                client_id: id.to_owned(),
                client_secret: secret.map(Secret::from),
                redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
                grant_types: grants.to_vec(),
                token_endpoint_auth_method: auth,
                pkce: PkcePolicy::Optional,
                ..ClientConfig::default()
            }
        };
        let user =
            |username: &str, sub: &str, given: &str, family: &str, phone: &str, github_id: u64| {
                UserConfig {
                    username: username.to_owned(),
                    password: Secret::new(format!("{username}-password")),
                    sub: sub.to_owned(),
                    name: Some(format!("{given} {family}")),
                    given_name: Some(given.to_owned()),
                    family_name: Some(family.to_owned()),
                    // Relative to the issuer: served by this provider (`/avatars/NAME.svg`), so demos work offline.
                    picture: Some(format!("/avatars/{username}.svg")),
                    email: Some(format!("{username}@example.com")),
                    email_verified: Some(true),
                    phone_number: Some(phone.to_owned()),
                    extra_claims: BTreeMap::new(),
                    unionid: Some(format!("union-{username}")),
                    openids: BTreeMap::from([("web".to_owned(), format!("openid-web-{username}"))]),
                    github_id: Some(github_id),
                    github_login: Some(username.to_owned()),
                    tid: None,
                    oid: None,
                    apple_hide_email: false,
                    hd: None,
                }
            };
        let address = SocketAddr::from(([127, 0, 0, 1], 9000));
        Config {
            issuer: Some(format!("http://{address}")),
            address,
            clients: vec![
                // The reference client's logout returns to its start page. No back-channel URI by default:
                // a client with one has every login kept as a session, work the benchmarks' logins skip.
                client(
                    "web",
                    Some("web-secret"),
                    AuthMethod::ClientSecretBasic,
                    &[WEB_CALLBACK],
                    &[AuthorizationCode, RefreshToken],
                )
                .with_post_logout_redirect_uri("http://127.0.0.1:3000/"),
                client(
                    "web-post",
                    Some("web-post-secret"),
                    AuthMethod::ClientSecretPost,
                    &[WEB_CALLBACK],
                    &[AuthorizationCode, RefreshToken],
                ),
                ClientConfig {
                    pkce: PkcePolicy::Required,
                    ..client(
                        "spa",
                        None,
                        AuthMethod::None,
                        &["http://127.0.0.1:5173/callback", WEB_CALLBACK],
                        &[AuthorizationCode, RefreshToken],
                    )
                },
                client(
                    "service",
                    Some("service-secret"),
                    AuthMethod::ClientSecretBasic,
                    &[],
                    &[ClientCredentials],
                ),
            ],
            users: vec![
                user(
                    "alice",
                    "248289761001",
                    "Alice",
                    "Adams",
                    "+15555550101",
                    1001,
                ),
                user("bob", "248289761002", "Bob", "Brown", "+15555550102", 1002),
            ],
            ..Config::default()
        }
    }

    /// The built-in clients and users on a random loopback port with the issuer taken from that port:
    /// what tests start.
    pub fn builtin() -> Config {
        Config {
            issuer: None,
            address: default_address(),
            ..Config::builtin_served()
        }
    }

    /// Parses and validates a TOML document (feature `toml`, on by default).
    #[cfg(feature = "toml")]
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    /// Reads, parses and validates a TOML file (feature `toml`, on by default).
    #[cfg(feature = "toml")]
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text)
    }

    /// Checks what serde cannot: issuer shape, lifetimes, unique ids.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(issuer) = &self.issuer {
            validate_issuer(issuer)?;
        }
        if self.code_ttl == 0 || self.code_ttl > 600 {
            return Err(invalid(
                "code_ttl",
                "must be 1 to 600 seconds (RFC 6749 §4.1.2)",
            ));
        }
        for (name, v) in [
            ("access_token_ttl", self.access_token_ttl),
            ("id_token_ttl", self.id_token_ttl),
            ("refresh_token_ttl", self.refresh_token_ttl),
        ] {
            if v == 0 {
                return Err(invalid(name, "must be at least 1 second"));
            }
        }
        for (name, v) in [
            ("limits.codes", self.limits.codes),
            ("limits.access_tokens", self.limits.access_tokens),
            ("limits.refresh_tokens", self.limits.refresh_tokens),
            ("limits.pending_logins", self.limits.pending_logins),
            (
                "limits.pending_logins_per_address",
                self.limits.pending_logins_per_address,
            ),
            (
                "limits.auth_failure_counters",
                self.limits.auth_failure_counters,
            ),
            ("limits.sessions", self.limits.sessions),
        ] {
            if v == 0 {
                return Err(invalid(name, "must be at least 1"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, c) in self.clients.iter().enumerate() {
            c.validate(&format!("clients[{i}]"))?;
            c.validate_for_provider(&format!("clients[{i}]"), self.signing_alg)?;
            if !seen.insert(c.client_id.as_str()) {
                return Err(invalid(
                    format!("clients[{i}].client_id"),
                    "duplicate client_id",
                ));
            }
        }
        let mut names = std::collections::HashSet::new();
        let mut subs = std::collections::HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            u.validate(&format!("users[{i}]"))?;
            if !names.insert(u.username.as_str()) {
                return Err(invalid(
                    format!("users[{i}].username"),
                    "duplicate username",
                ));
            }
            if !subs.insert(u.sub.as_str()) {
                return Err(invalid(format!("users[{i}].sub"), "duplicate sub"));
            }
        }
        for (i, f) in self.faults.iter().enumerate() {
            f.spec(&format!("faults[{i}]"))?;
        }
        for (i, spec) in self.armed_faults.iter().enumerate() {
            spec.check()
                .map_err(|e| invalid(format!("armed_faults[{i}]"), e.to_string()))?;
        }
        let mut tenant_names = std::collections::HashSet::new();
        for (i, t) in self.tenants.iter().enumerate() {
            if !tenant_names.insert(t.name.as_str()) {
                return Err(invalid(
                    format!("tenants[{i}].name"),
                    "duplicate tenant name",
                ));
            }
            if t.config.issuer.is_some() {
                return Err(invalid(
                    format!("tenants[{i}].issuer"),
                    "a tenant's issuer follows from the server's; leave it out",
                ));
            }
            t.config
                .validate()
                .map_err(|e| invalid(format!("tenants[{i}]"), e.to_string()))?;
        }
        if self.request_log_capacity > 1_000_000 {
            return Err(invalid(
                "request_log_capacity",
                "must be at most 1000000 records",
            ));
        }
        Ok(())
    }
}

/// An issuer is an http(s) URL with no query or fragment (RFC 8414 §2).
pub(crate) fn validate_issuer(issuer: &str) -> Result<(), ConfigError> {
    let url = url::Url::parse(issuer).map_err(|e| invalid("issuer", e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("issuer", "must be an http or https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(
            "issuer",
            "must have no query or fragment (RFC 8414 §2)",
        ));
    }
    if issuer.ends_with('/') {
        return Err(invalid(
            "issuer",
            "must not end with '/': endpoint URLs are built by appending paths",
        ));
    }
    Ok(())
}

/// What the command line sets over a configuration (its flags and their environment variables, e.g.
/// `--port`/`MOCK_IDP_PORT`): every field left `None`, `false` or empty keeps the configuration's value.
/// [`Overrides::apply`] is the one place the rules of the overlay live, so they are tested without the
/// binary.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--port`: the port to listen on; the issuer follows unless `issuer` is given (port 0: derived from
    /// the bound address).
    pub port: Option<u16>,
    /// `--issuer`.
    pub issuer: Option<String>,
    /// `--persona`.
    pub persona: Option<Persona>,
    /// `--fault`, parsed once: armed as they are ([`Config::armed_faults`]), after the file's.
    pub faults: Vec<crate::faults::Fault>,
    /// `--clock-advance`, seconds.
    pub clock_advance_secs: Option<u64>,
    /// `--freeze-clock`.
    pub freeze_clock: bool,
    /// `--tls`: serve HTTPS (the default issuer becomes `https://`).
    pub tls: bool,
    /// `--tls-cert` (with `tls_key`; implies `tls`).
    pub tls_cert: Option<String>,
    /// `--tls-key`.
    pub tls_key: Option<String>,
    /// `--tls-dir` (implies `tls`).
    pub tls_dir: Option<String>,
    /// `--admin`.
    pub admin: bool,
    /// `--admin-token`.
    pub admin_token: Option<Secret>,
}

impl Overrides {
    /// Lays these over `config` (which is not validated here: the caller does, once, after).
    pub fn apply(self, config: &mut Config) {
        if let Some(port) = self.port {
            config.address = SocketAddr::new(config.address.ip(), port);
            if self.issuer.is_none() {
                // Port 0 picks a free port: the issuer is then derived from the bound address.
                config.issuer = (port != 0).then(|| format!("http://{}", config.address));
            }
        }
        if self.tls || self.tls_cert.is_some() || self.tls_dir.is_some() {
            let tls = config.tls.get_or_insert_with(Default::default);
            if self.tls_cert.is_some() {
                tls.cert = self.tls_cert;
                tls.key = self.tls_key;
            }
            if self.tls_dir.is_some() {
                tls.dir = self.tls_dir;
            }
        }
        // With TLS the default issuer is https: the same address, the other scheme.
        if config.tls.is_some()
            && self.issuer.is_none()
            && let Some(issuer) = &config.issuer
            && let Some(rest) = issuer.strip_prefix("http://")
        {
            config.issuer = Some(format!("https://{rest}"));
        }
        if let Some(issuer) = self.issuer {
            config.issuer = Some(issuer);
        }
        if let Some(persona) = self.persona {
            config.persona = persona;
        }
        if let Some(secs) = self.clock_advance_secs {
            config.clock_advance_secs = secs;
        }
        config.clock_frozen |= self.freeze_clock;
        config.admin |= self.admin;
        if let Some(token) = self.admin_token {
            config.admin_token = Some(token);
        }
        // Armed through the config, so the command line, the file and the handle share one path into
        // the registry.
        config
            .armed_faults
            .extend(self.faults.into_iter().map(crate::faults::FaultSpec::new));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_defaults_are_valid_and_serve_on_port_9000() {
        let c = Config::builtin_served();
        assert_eq!(c.address.port(), 9000);
        assert_eq!(c.issuer.as_deref(), Some("http://127.0.0.1:9000"));
        let web = c
            .clients
            .iter()
            .find(|c| c.client_id == "web")
            .expect("web client");
        assert_eq!(
            web.client_secret.as_ref().map(Secret::expose),
            Some("web-secret")
        );
        assert_eq!(web.redirect_uris, ["http://127.0.0.1:3000/callback"]);
        assert!(
            c.clients
                .iter()
                .any(|c| c.token_endpoint_auth_method == AuthMethod::None
                    && c.pkce == PkcePolicy::Required)
        );
        assert!(
            c.users
                .iter()
                .any(|u| u.username == "alice" && u.password.expose() == "alice-password")
        );
        assert!(
            c.users
                .iter()
                .any(|u| u.username == "bob" && u.password.expose() == "bob-password")
        );
    }

    #[test]
    fn the_builtin_defaults_pass_validation() {
        Config::builtin_served().validate().expect("valid");
        Config::builtin().validate().expect("valid");
    }

    /// The file is the documented form of the built-in defaults; the code is what runs.
    #[cfg(feature = "toml")]
    #[test]
    fn the_fixture_file_is_exactly_the_builtin_defaults() {
        let file = Config::from_toml(include_str!("../fixtures/mock-idp.toml")).expect("valid");
        let as_json = |c: &Config| serde_json::to_value(c).expect("serializes");
        assert_eq!(as_json(&file), as_json(&Config::builtin_served()));
    }

    #[cfg(feature = "toml")]
    #[test]
    fn an_unknown_field_is_refused_by_name() {
        let err = Config::from_toml("code_tl = 5")
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("code_tl"), "{err}");
    }

    #[cfg(feature = "toml")]
    #[test]
    fn a_bad_redirect_uri_is_refused_with_its_path() {
        let err = Config::from_toml(
            "[[clients]]\nclient_id = \"a\"\nclient_secret = \"s\"\nredirect_uris = [\"not a url\"]\n",
        )
        .expect_err("must fail")
        .to_string();
        assert!(err.contains("clients[0].redirect_uris[0]"), "{err}");
    }

    #[cfg(feature = "toml")]
    #[test]
    fn a_public_client_without_required_pkce_is_refused() {
        let err = Config::from_toml(
            "[[clients]]\nclient_id = \"a\"\nredirect_uris = [\"http://x/cb\"]\ntoken_endpoint_auth_method = \"none\"\n",
        )
        .expect_err("must fail")
        .to_string();
        assert!(err.contains("clients[0].pkce"), "{err}");
    }

    #[cfg(feature = "toml")]
    #[test]
    fn a_code_lifetime_over_ten_minutes_is_refused() {
        let err = Config::from_toml("code_ttl = 601")
            .expect_err("must fail")
            .to_string();
        assert!(err.contains("code_ttl"), "{err}");
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let c = Config::builtin();
        assert!(!format!("{c:?}").contains("web-secret"));
        assert!(!format!("{c:?}").contains("alice-password"));
    }

    #[test]
    fn a_port_override_moves_the_address_and_the_issuer_follows() {
        let mut c = Config::builtin_served();
        Overrides {
            port: Some(9100),
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(c.address.port(), 9100);
        assert_eq!(c.issuer.as_deref(), Some("http://127.0.0.1:9100"));
        let mut c = Config::builtin_served();
        Overrides {
            port: Some(0),
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(
            c.issuer, None,
            "port 0: the issuer follows the bound address"
        );
    }

    #[test]
    fn tls_makes_the_default_issuer_https_unless_an_issuer_is_given() {
        let mut c = Config::builtin_served();
        Overrides {
            tls_dir: Some("/tmp/x".into()),
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(c.issuer.as_deref(), Some("https://127.0.0.1:9000"));
        assert_eq!(c.tls.and_then(|t| t.dir).as_deref(), Some("/tmp/x"));
        let mut c = Config::builtin_served();
        Overrides {
            tls: true,
            issuer: Some("http://localhost:9000".into()),
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(c.issuer.as_deref(), Some("http://localhost:9000"));
    }

    #[test]
    fn overrides_set_persona_clock_admin_and_arm_faults_as_parsed() {
        use crate::faults::{Fault, FaultSpec};
        let mut c = Config::builtin_served();
        c.clock_frozen = false;
        Overrides {
            persona: Some(Persona::Github),
            clock_advance_secs: Some(30),
            freeze_clock: true,
            admin: true,
            admin_token: Some(Secret::new("t0ken")),
            faults: vec![Fault::IdTokenBadSignature],
            ..Overrides::default()
        }
        .apply(&mut c);
        assert_eq!(c.persona, Persona::Github);
        assert_eq!(
            (c.clock_advance_secs, c.clock_frozen, c.admin),
            (30, true, true)
        );
        assert_eq!(c.admin_token.as_ref().map(Secret::expose), Some("t0ken"));
        assert!(c.faults.is_empty(), "no text round trip");
        assert_eq!(c.armed_faults, [FaultSpec::new(Fault::IdTokenBadSignature)]);
        c.validate().expect("valid");
    }

    #[test]
    fn no_overrides_leave_the_configuration_as_it_was() {
        let mut c = Config::builtin_served();
        Overrides::default().apply(&mut c);
        let json = |c: &Config| serde_json::to_value(c).expect("serializes");
        assert_eq!(json(&c), json(&Config::builtin_served()));
        assert!(c.armed_faults.is_empty());
    }
}
