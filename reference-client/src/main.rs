//! The `reference-client` binary: parse the CLI and configuration, then call the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use reference_client::{Application, Database, NewUser, Role, Settings};
use tracing_subscriber::EnvFilter;

/// The reference client backend for the OAuth 2.0 / OIDC authorization code flow.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file; every key can be overridden by an `RC_<KEY>` environment variable.
    #[arg(long, short, env = "RC_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the backend and its frontend (the default).
    Serve,
    /// Manage users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Manage provider identities.
    Identities {
        #[command(subcommand)]
        command: IdentitiesCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a user and print its id.
    Add {
        /// Display name.
        #[arg(long)]
        name: String,
        /// admin or user.
        #[arg(long, default_value = "user")]
        role: String,
        /// Avatar URL.
        #[arg(long)]
        avatar: Option<String>,
        /// Phone number.
        #[arg(long)]
        phone: Option<String>,
    },
    /// List users.
    List,
    /// Disable a user (no more logins; existing tokens stop working).
    Disable {
        /// The user id.
        id: i64,
    },
    /// Enable a disabled user.
    Enable {
        /// The user id.
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
enum IdentitiesCommand {
    /// Bind a provider identity (issuer, subject) to a user.
    Bind {
        /// The provider's issuer, exactly as in its id_tokens (default: the configured issuer).
        #[arg(long)]
        issuer: Option<String>,
        /// The id_token `sub`.
        #[arg(long)]
        subject: String,
        /// The user id.
        #[arg(long)]
        user: i64,
    },
}

fn now() -> i64 {
    i64::try_from(reference_client::Clock::system().now_unix()).unwrap_or(i64::MAX)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info")),
        )
        .init();
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            tracing::info!(address = %app.address(), "reference client listening");
            app.run_until(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving")?;
        }
        Command::Users { command } => {
            let db = Database::open(&settings.database)?;
            match command {
                UsersCommand::Add {
                    name,
                    role,
                    avatar,
                    phone,
                } => {
                    let role = Role::parse(&role)
                        .with_context(|| format!("role `{role}` is not admin or user"))?;
                    let user = db.add_user(
                        &NewUser {
                            display_name: name,
                            role,
                            avatar_url: avatar,
                            phone,
                        },
                        now(),
                    )?;
                    println!("{}", user.id);
                }
                UsersCommand::List => {
                    for u in db.list_users()? {
                        let ids: Vec<String> = db
                            .identities_of(u.id)?
                            .into_iter()
                            .map(|i| format!("{} {}", i.issuer, i.subject))
                            .collect();
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            u.id,
                            u.role.as_str(),
                            if u.disabled { "disabled" } else { "active" },
                            u.display_name,
                            ids.join(", ")
                        );
                    }
                }
                UsersCommand::Disable { id } | UsersCommand::Enable { id } => {
                    let disable = matches!(command, UsersCommand::Disable { .. });
                    anyhow::ensure!(db.set_disabled(id, disable)?, "no user with id {id}");
                }
            }
        }
        Command::Identities {
            command:
                IdentitiesCommand::Bind {
                    issuer,
                    subject,
                    user,
                },
        } => {
            let db = Database::open(&settings.database)?;
            anyhow::ensure!(db.get_user(user)?.is_some(), "no user with id {user}");
            let issuer = issuer.unwrap_or(settings.issuer);
            db.bind_identity(&issuer, &subject, user, now())?;
        }
    }
    Ok(())
}
