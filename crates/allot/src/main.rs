//! The `allot` binary: serve, migrate, check the ledger, reset a lost password and
//! configuration; and as a client of a server, log in, list, check, import and export.

use std::net::SocketAddr;
use std::path::PathBuf;

use allot_server::{App, Clock, Config, Database};
use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};

mod remote;
mod terminal;

#[derive(Parser)]
#[command(name = "allot", version, about = "A self-hosted license allocation server")]
pub struct Cli {
    #[command(subcommand)]
    command: Commands,
}

/// Settings every command that touches the books shares; each overrides the file and
/// the environment.
#[derive(clap::Args, Clone, Default)]
struct Common {
    /// A TOML configuration file (see `allot config print-default`).
    #[arg(long, env = "ALLOT_CONFIG")]
    config: Option<PathBuf>,
    /// Directory for the embedded database and the bootstrap password file.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB (ALLOT_DATABASE_URL).
    #[arg(long)]
    database: Option<String>,
}

#[derive(Subcommand)]
enum Commands {
    /// Serve the API until SIGINT or SIGTERM.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Bring the database schema up to date and exit.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Recompute every balance from the ledger and compare with the stored balances.
    CheckLedger {
        #[command(flatten)]
        common: Common,
    },
    /// Host administrators and passwords, offline.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    #[command(flatten)]
    Remote(remote::Command),
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Set a lost password, with the server stopped or running: USER is a host
    /// administrator, or ORG/USER for an organization's user. Revokes the account's tokens
    /// and lifts its login lockouts.
    ResetPassword {
        #[command(flatten)]
        common: Common,
        /// Read the new password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        /// `NAME` of a host administrator, or `ORG/USER`.
        user: String,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print every setting with its default value, as TOML.
    PrintDefault,
}

/// Environment variables that are not settings of their own name.
const ENV_ALIASES: &[(&str, &str)] = &[("database_url", "database")];

/// Defaults, then the TOML file, then `ALLOT_*` variables (`__` for nesting:
/// `ALLOT_AUTH__LOCKOUT_SECS`), then flags.
fn load_config(common: &Common, listen: Option<SocketAddr>) -> Result<Config> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
    if let Some(path) = &common.config {
        anyhow::ensure!(path.exists(), "configuration file {} does not exist", path.display());
        figment = figment.merge(Toml::file(path));
    }
    let top_level: Vec<String> = toml::Table::try_from(Config::default())?.keys().cloned().collect();
    let env = Env::prefixed("ALLOT_")
        .split("__")
        .map(|key| {
            let key = key.as_str().to_ascii_lowercase();
            let key = key.as_str();
            ENV_ALIASES
                .iter()
                .find(|(alias, _)| *alias == key)
                .map_or(key.to_owned(), |(_, name)| (*name).to_owned())
                .into()
        })
        .filter(move |key| {
            let key = key.as_str().to_ascii_lowercase();
            top_level.iter().any(|name| key == *name || key.starts_with(&format!("{name}.")))
        });
    figment = figment.merge(env);
    let mut config: Config = figment.extract().context("invalid configuration")?;
    if let Some(dir) = &common.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(database) = &common.database {
        config.database = database.clone();
    }
    if let Some(listen) = listen {
        config.listen = listen;
    }
    Ok(config)
}

fn init_logs(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(&config.log_level));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if config.log_format == "text" {
        builder.init();
    } else {
        builder.json().flatten_event(true).fmt_fields(allot_server::logs::JsonFields).init();
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

async fn serve(config: Config) -> Result<()> {
    init_logs(&config);
    let store = allot_server::open_store(&config).await.map_err(anyhow::Error::msg)?;
    let app = App::new(store, config.clone(), Clock::System).await.map_err(anyhow::Error::msg)?;
    let file = config.data_dir.join("admin-password");
    if let Some(password) = allot_server::bootstrap_admin(&app).await.map_err(anyhow::Error::msg)? {
        println!("allot: created host admin `admin` with one-time password {password}");
        println!("allot: the password is also in {} (readable only by you)", file.display());
    } else if file.exists() {
        tracing::warn!(file = %file.display(), "the one-time password of `admin` is still unchanged");
        println!(
            "allot: warning: {} still holds the one-time password of `admin`; change it \
             (PUT /api/v1/host/admins/admin/password) and the file is deleted",
            file.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, revision = app.books.read().revision(), "allot is serving");
    println!("allot: listening on http://{address}");
    allot_server::serve(app, listener, shutdown_signal()).await.context("server failed")?;
    Ok(())
}

/// `allot admin reset-password`: sets the password straight in the database (the store
/// revokes the account's tokens in the same transaction) and lifts its lockouts.
async fn reset_password(config: &Config, user: &str, password: &str) -> Result<()> {
    use allot_store::Store as _;
    let failed = |e: allot_server::error::ApiError| anyhow::anyhow!("{}", e.detail());
    allot_server::auth::password::check_strength(password).map_err(failed)?;
    let store = allot_server::open_store(config).await.map_err(anyhow::Error::msg)?;
    let (realm, name) = match user.split_once('/') {
        None => {
            let admins = store.host_admins().await?;
            anyhow::ensure!(
                admins.iter().any(|a| a == user),
                "`{user}` is no host administrator (they are: {}); name an organization's user as ORG/USER",
                admins.join(", ")
            );
            (allot_server::auth::HOST_REALM.to_owned(), user)
        }
        Some((org, name)) => {
            let state = store.load().await?;
            let known = state.org(org).and_then(|o| {
                let id = allot_core::UserId::parse(name).ok()?;
                o.users.contains_key(&id).then(|| o.id.key())
            });
            let key = known.with_context(|| format!("organization `{org}` has no user `{name}`"))?;
            (key.as_str().to_owned(), name)
        }
    };
    let passwords = allot_server::auth::Passwords::new(&config.auth).map_err(anyhow::Error::msg)?;
    let hash = passwords.hash(password).await.map_err(failed)?;
    store.set_password_hash(&realm, name, &hash).await?;
    store.lift_lockout(&realm, name).await?;
    if realm.is_empty() {
        allot_server::service::forget_bootstrap_password(&config.data_dir, name);
    }
    println!("allot: the password of `{user}` is set; its tokens are revoked and its lockouts lifted");
    Ok(())
}

/// Asks twice on the terminal, without echo where it can.
fn prompt_password() -> Result<String> {
    let first = terminal::ask_hidden("New password: ")?;
    anyhow::ensure!(terminal::ask_hidden("Again: ")? == first, "the passwords differ");
    Ok(first)
}

/// mimalloc: a server that allocates per request spends a fifth of its time in glibc's
/// malloc under load (measured in docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match start() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // The causes, not a backtrace: this is what a user reads.
            eprintln!("allot: error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn start() -> Result<()> {
    // Blocking threads (the database's reads) are kept for minutes, not tokio's 10 s: a
    // thread started anew for each burst of reads brings the allocator's pages of its own.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_keep_alive(std::time::Duration::from_secs(600))
        .build()?;
    runtime.block_on(run(Cli::parse()))
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Commands::Serve { common, listen } => serve(load_config(&common, listen)?).await,
        Commands::Migrate { common } => {
            let config = load_config(&common, None)?;
            let (name, applied) = match config.database().map_err(anyhow::Error::msg)? {
                Database::Sqlite(path) => (path.display().to_string(), allot_store::SqliteStore::migrate_file(&path)?),
                Database::Postgres(url) => {
                    ("PostgreSQL".to_owned(), allot_store::PgStore::connect(&url)?.migrate().await?)
                }
            };
            if applied.is_empty() {
                println!("{name}: schema is up to date");
            } else {
                println!("{name}: applied migrations {applied:?}");
            }
            Ok(())
        }
        Commands::CheckLedger { common } => {
            let config = load_config(&common, None)?;
            let store = allot_server::open_store(&config).await.map_err(anyhow::Error::msg)?;
            let check = allot_store::Store::check_ledger(&store).await?;
            println!(
                "revision {}: {} ledger entries replayed, {} checkpoints compared",
                check.revision, check.entries, check.checkpoints
            );
            for difference in &check.differences {
                println!("  differs: {difference}");
            }
            anyhow::ensure!(
                check.differences.is_empty(),
                "the stored balances or checkpoints disagree with the ledger"
            );
            println!("balances equal the ledger's replay, and so do the checkpoints");
            Ok(())
        }
        Commands::Admin { command: AdminCommand::ResetPassword { common, password_stdin, user } } => {
            let config = load_config(&common, None)?;
            let password = if password_stdin { terminal::stdin_line("password")? } else { prompt_password()? };
            reset_password(&config, &user, &password).await
        }
        Commands::Config { command: ConfigCommand::PrintDefault } => {
            print!("{}", toml::to_string_pretty(&Config::default())?);
            Ok(())
        }
        Commands::Remote(command) => remote::run(command).await,
    }
}
