//! The `mock-idp` command: parses arguments, loads the configuration, then calls the library.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use mock_idp::{Clock, Config, Server, keys::SigningKey, state::AppState};

/// A strict OAuth 2.0 / OpenID Connect identity provider for tests and local development.
///
/// With no subcommand it serves. Without --config it serves the built-in defaults (the crate's
/// fixtures/mock-idp.toml): http://127.0.0.1:9000, client `web` / `web-secret`, users alice and bob.
#[derive(Debug, Parser)]
#[command(version, about)]
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
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve (the default).
    Serve,
    /// Print tokens for a user and client as JSON, without a browser (for curl-testing an API). They verify
    /// against the JWKS of a server running the same configuration, and its userinfo accepts them.
    Token {
        /// Username, e.g. alice.
        #[arg(long, default_value = "alice")]
        user: String,
        /// Client id, e.g. web.
        #[arg(long, default_value = "web")]
        client: String,
        /// Space-separated scopes.
        #[arg(long, default_value = "openid profile email")]
        scope: String,
    },
    /// Check a configuration file and report the first problem, naming its field.
    CheckConfig {
        /// The file to check.
        file: PathBuf,
    },
}

fn load(cli: &Cli) -> Result<Config, String> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config::builtin_served(),
    };
    if let Some(port) = cli.port {
        config.address = SocketAddr::new(config.address.ip(), port);
        if cli.issuer.is_none() {
            // Port 0 picks a free port: the issuer is then derived from the bound address.
            config.issuer = (port != 0).then(|| format!("http://{}", config.address));
        }
    }
    if let Some(issuer) = &cli.issuer {
        config.issuer = Some(issuer.clone());
    }
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

async fn run(cli: Cli) -> Result<(), String> {
    match &cli.command {
        Some(Command::CheckConfig { file }) => {
            Config::load(file).map_err(|e| format!("{}: {e}", file.display()))?;
            println!("{}: ok", file.display());
            Ok(())
        }
        Some(Command::Token {
            user,
            client,
            scope,
        }) => {
            let config = load(&cli)?;
            let key = match &config.signing_key {
                Some(path) => {
                    let pem = std::fs::read_to_string(path)
                        .map_err(|e| format!("signing_key {path}: {e}"))?;
                    SigningKey::from_pem(config.signing_alg, &pem, "key-1")
                }
                None => SigningKey::test_only(config.signing_alg),
            }
            .map_err(|e| e.to_string())?;
            let issuer = config
                .issuer
                .clone()
                .unwrap_or_else(|| format!("http://{}", config.address));
            let state = AppState::new(issuer, config, key, Clock::new());
            let scope: Vec<String> = scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            let body = mock_idp::tokens::mint_for_user(&state, client, user, &scope)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        None | Some(Command::Serve) => serve(load(&cli)?).await,
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
    let state = server.state().clone();
    println!("mock-idp serving {}", state.issuer);
    println!(
        "  discovery: {}/.well-known/openid-configuration",
        state.issuer
    );
    println!("  clients:");
    let mut clients: Vec<_> = state
        .0
        .clients
        .read()
        .map(|c| c.values().cloned().collect())
        .unwrap_or_default();
    clients.sort_by(|a: &mock_idp::state::RegisteredClient, b| {
        a.config.client_id.cmp(&b.config.client_id)
    });
    for c in clients {
        println!(
            "    {:<10} {:<20} {}",
            c.config.client_id,
            c.config.token_endpoint_auth_method.as_str(),
            c.config.redirect_uris.join(" ")
        );
    }
    println!("  users:");
    for u in state.usernames() {
        println!(
            "    {:<10} sub={} {}",
            u.username,
            u.sub,
            u.name.unwrap_or_default()
        );
    }
    server
        .run_until(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
