//! The `mock-idp` command: parses arguments, loads the configuration, then calls the library.

use std::{path::PathBuf, process::ExitCode};

mod admin_client;

use clap::{Parser, Subcommand};
use mock_idp::{AdminToken, Banner, Config, Fault, Overrides, Server};

/// A strict OAuth 2.0 / OpenID Connect identity provider for tests and local development.
///
/// With no subcommand it serves. Without --config it serves the built-in defaults (the crate's
/// fixtures/mock-idp.toml): http://127.0.0.1:9000, client `web` / `web-secret`, users alice and bob.
#[derive(Debug, Parser)]
#[command(version, about, after_help = faults_help())]
struct Cli {
    /// A TOML configuration file (see the crate's fixtures/mock-idp.toml for every field).
    #[arg(long, global = true, env = "MOCK_IDP_CONFIG")]
    config: Option<PathBuf>,
    /// Port to listen on (overrides the file); the issuer follows unless --issuer is given.
    #[arg(long, env = "MOCK_IDP_PORT")]
    port: Option<u16>,
    /// Issuer identifier (overrides the file), e.g. http://localhost:9000.
    #[arg(long, global = true, env = "MOCK_IDP_ISSUER")]
    issuer: Option<String>,
    /// Spoil every matching response with a named fault until the server stops, e.g.
    /// `--fault id_token.bad_signature`, `--fault token.status=503`, `--fault token.delay=2000`
    /// (repeatable; the list is below).
    #[arg(long = "fault", value_name = "NAME[=VALUE]", value_parser = parse_fault)]
    faults: Vec<Fault>,
    /// The protocol to speak (overrides the file): oidc, wechat (WeChat website login), github (GitHub
    /// OAuth apps), entra (Microsoft Entra ID), apple (Sign in with Apple) or google (Google), each at its
    /// provider's own paths.
    #[arg(long, value_parser = parse_persona)]
    persona: Option<mock_idp::Persona>,
    /// Start the provider's clock this many seconds ahead of the system clock (overrides the file).
    #[arg(long, value_name = "SECS")]
    clock_advance: Option<u64>,
    /// Start the provider's clock frozen: codes and tokens then never expire by themselves.
    #[arg(long)]
    freeze_clock: bool,
    /// Serve HTTPS. Without --tls-cert/--tls-key, a certificate for localhost and 127.0.0.1 is generated
    /// on first start with a local CA whose file is printed (trust it: `curl --cacert`, `RC_CA_FILE`).
    /// The default issuer becomes https://.
    #[arg(long)]
    tls: bool,
    /// A PEM certificate chain to serve (with --tls-key; implies --tls).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<String>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<String>,
    /// Where the generated CA and certificate are kept (default: mock-idp-tls in the temp directory).
    #[arg(long, value_name = "DIR")]
    tls_dir: Option<String>,
    /// Serve the admin API under /admin (tenants, users, clients, clock, faults, keys, requests, verdict).
    #[arg(long)]
    admin: bool,
    /// The bearer token admin requests need (required off loopback; one is generated if not given).
    #[arg(long, env = "MOCK_IDP_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// Parses `--fault` with the library's parser, so a bad name is refused with the library's message.
fn parse_fault(s: &str) -> Result<Fault, String> {
    s.parse::<Fault>().map_err(|e| e.to_string())
}

/// Parses `--persona` with the library's parser.
fn parse_persona(s: &str) -> Result<mock_idp::Persona, String> {
    mock_idp::Persona::parse(s)
        .ok_or_else(|| format!("`{s}` is not one of oidc, wechat, github, entra, apple, google"))
}

/// The fault table of `--help`, from the library's catalogue.
fn faults_help() -> String {
    let mut out = String::from(
        "Faults (--fault NAME or NAME=VALUE; the table: docs/faults.md in mock-idp):\n",
    );
    for f in mock_idp::FAULTS {
        let name = match f.value {
            Some(v) => format!("{}={v}", f.name),
            None => f.name.to_owned(),
        };
        out.push_str(&format!("  {name:<38} {}\n", f.summary));
    }
    out
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve (the default).
    Serve,
    /// Print tokens for a user and client as JSON, without a browser (for curl-testing an API). They verify
    /// against the JWKS of a server running the same configuration, and its userinfo accepts them.
    Token {
        #[command(flatten)]
        mint: admin_client::MintArgs,
    },
    /// Check a configuration file and report the first problem, naming its field.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
    /// Drive a running server's admin API, e.g. `admin --url http://127.0.0.1:9000 fault add root
    /// id_token.wrong_aud --times 1`.
    Admin {
        /// The server's base URL.
        #[arg(long, default_value = "http://127.0.0.1:9000")]
        url: String,
        /// The admin token (or MOCK_IDP_ADMIN_TOKEN).
        #[arg(long, env = "MOCK_IDP_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
        #[command(subcommand)]
        action: admin_client::Action,
    },
}

/// The configuration: the file (or the built-in defaults), the command line laid over it, validated once.
fn load(cli: &Cli) -> Result<Config, String> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config::builtin_served(),
    };
    Overrides {
        port: cli.port,
        issuer: cli.issuer.clone(),
        persona: cli.persona,
        faults: cli.faults.clone(),
        clock_advance_secs: cli.clock_advance,
        freeze_clock: cli.freeze_clock,
        tls: cli.tls,
        tls_cert: cli.tls_cert.clone(),
        tls_key: cli.tls_key.clone(),
        tls_dir: cli.tls_dir.clone(),
        admin: cli.admin,
        admin_token: cli.admin_token.clone().map(mock_idp::Secret::new),
    }
    .apply(&mut config);
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("mock-idp: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mut cli: Cli) -> Result<(), String> {
    if let Some(Command::Admin { .. }) = &cli.command
        && let Some(Command::Admin { url, token, action }) = cli.command.take()
    {
        return admin_client::run(&url, token.as_deref(), action).await;
    }
    match &cli.command {
        Some(Command::CheckConfig { file }) => {
            Config::load(file).map_err(|e| format!("{}: {e}", file.display()))?;
            println!("{}: ok", file.display());
            Ok(())
        }
        Some(Command::Token { mint }) => {
            let request = mint.request()?;
            let body = mock_idp::mint_offline(load(&cli)?, &request)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        None | Some(Command::Serve) => serve(load(&cli)?).await,
        Some(Command::Admin { .. }) => Ok(()),
    }
}

async fn serve(config: Config) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .compact()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let server = Server::bind(config).await.map_err(|e| e.to_string())?;
    print_banner(&Banner::of(&server));
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// The start-up banner: what the operator needs to point a client at the server.
fn print_banner(b: &Banner) {
    println!("mock-idp serving {}", b.issuer);
    println!("  persona: {}", b.persona.as_str());
    let endpoints: Vec<String> = b
        .endpoints
        .iter()
        .map(|(label, url)| format!("{label}: {url}"))
        .collect();
    println!("  {}", endpoints.join("  "));
    println!("  clients:");
    for c in &b.clients {
        println!(
            "    {:<10} {:<20} {}",
            c.client_id,
            c.token_endpoint_auth_method.as_str(),
            c.redirect_uris.join(" ")
        );
    }
    println!("  users:");
    for u in &b.users {
        println!(
            "    {:<10} sub={} {}",
            u.username,
            u.sub,
            u.name.as_deref().unwrap_or_default()
        );
    }
    if let Some(ca) = &b.tls_ca_file {
        println!(
            "  tls: certificate for localhost and 127.0.0.1 signed by the local CA {} \
             (trust it: curl --cacert {0}, RC_CA_FILE={0})",
            ca.display()
        );
    }
    if let Some(admin) = &b.admin {
        let token = match &admin.token {
            AdminToken::Generated(t) => format!("Bearer token (generated): {}", t.expose()),
            AdminToken::Required => "Bearer token required".to_owned(),
            AdminToken::NotNeeded => "no token (loopback)".to_owned(),
        };
        println!("  admin: {} ({token})", admin.url);
    }
    if !b.tenants.is_empty() {
        println!("  tenants:");
        for (name, issuer) in &b.tenants {
            println!("    {name:<10} {issuer}");
        }
    }
    if !b.faults.is_empty() {
        println!("  faults:");
        for f in &b.faults {
            println!("    {f}");
        }
    }
}
