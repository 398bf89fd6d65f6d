//! The `sesame` command: parse the command line and the configuration, then serve or run one
//! admin command (`sesame::admin`) and print its result.

use std::{fmt::Display, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use serde::Serialize;
use sesame::{
    Application, Overrides,
    admin::{self, Admin},
    clock::{self, Clock, SystemClock},
    config::Config,
    telemetry,
};

/// With `--features mimalloc`, mimalloc allocates for Rust (SQLite keeps the C library's
/// `malloc`): less CPU per request, about 1 MiB more at idle (docs/PERFORMANCE.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Sesame: a passkey-first identity server.
///
/// With no command it serves. Configuration comes from an optional TOML file (--config) and
/// SESAME_* environment variables; see README.md for the table. Admin commands act on the
/// configured database.
#[derive(Debug, Parser)]
#[command(name = "sesame", version, about)]
struct Cli {
    /// A TOML configuration file; SESAME_* variables override it.
    #[arg(long, global = true, env = "SESAME_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate {
        /// Only list the migrations, applied and pending; change nothing.
        #[arg(long)]
        status: bool,
        /// With --status: print JSON (for scripts).
        #[arg(long)]
        json: bool,
    },
    /// Check the configuration and exit: prints the first problem, or "configuration ok".
    CheckConfig,
    /// Print the configuration reference (a Markdown table), generated from the code.
    ConfigReference,
    /// Administer an account in the configured database.
    Account {
        #[command(subcommand)]
        action: AccountAction,
        /// Print JSON (for scripts) instead of text.
        #[arg(long, global = true)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AccountAction {
    /// List every account.
    List,
    /// Show one account: its ways in, sessions and recent activity.
    Show { username: String },
    /// Stop the account from logging in; its sessions end at once.
    Disable { username: String },
    /// Let a disabled account log in again.
    Enable { username: String },
    /// Clear the account's code lock-out (failed attempts and back-off).
    Unlock { username: String },
    /// Issue a single-use link, valid 30 minutes, that adds a new passkey; it is printed and
    /// emailed to the account's verified addresses.
    Recovery { username: String },
    /// Delete the account and everything of it.
    Delete {
        username: String,
        /// Confirm: the deletion cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("sesame: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sesame: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result: Result<(), Failed> = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::CheckConfig => {
                sesame::startup::check_config(&config).map_err(Failed::startup)?;
                println!("configuration ok");
                Ok(())
            }
            Command::ConfigReference => {
                print!("{}", admin::config_reference::markdown());
                Ok(())
            }
            Command::Migrate { status, json } => {
                telemetry::init_for_command();
                if status {
                    sesame::db::require_existing(&config.database_url)
                        .map_err(|e| e.to_string())?;
                }
                let db = sesame::db::connect(&config.database_url, 1)
                    .await
                    .map_err(|e| e.to_string())?;
                if status {
                    let report = admin::migrations::status(&db).await;
                    return Ok(print(json, report.map_err(|e| e.to_string())?)?);
                }
                sesame::db::migrate(&db).await.map_err(|e| e.to_string())?;
                println!("migrations applied");
                Ok(())
            }
            Command::Account { action, json } => {
                telemetry::init_for_command();
                Ok(account(config, action, json).await?)
            }
            Command::Serve => {
                telemetry::init(&config.log_format);
                let origin = config.primary_origin();
                let overrides = Overrides {
                    clock: clock::for_tests(
                        std::env::var_os(clock::TEST_CLOCK_FILE_VAR),
                        cfg!(debug_assertions),
                    )?,
                    ..Overrides::default()
                };
                let app = Application::build(config, overrides)
                    .await
                    .map_err(Failed::startup)?;
                tracing::info!("Sesame is listening on port {}; open {origin}", app.port());
                Ok(app.run().await.map_err(|e| e.to_string())?)
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed { message, status }) => {
            eprintln!("sesame: {message}");
            ExitCode::from(status)
        }
    }
}

/// Why a command failed, and its exit status (docs/DEPLOY.md): 2 for a configuration that
/// cannot work, 1 for anything else.
struct Failed {
    message: String,
    status: u8,
}

impl Failed {
    fn startup(e: sesame::startup::StartupError) -> Self {
        Self {
            status: if e.is_configuration() { 2 } else { 1 },
            message: e.to_string(),
        }
    }
}

impl From<String> for Failed {
    fn from(message: String) -> Self {
        Self { message, status: 1 }
    }
}

async fn account(config: Config, action: AccountAction, json: bool) -> Result<(), String> {
    use admin::{account_show, accounts, recovery};
    if let AccountAction::Delete {
        username,
        yes: false,
    } = &action
    {
        return Err(format!(
            "deleting {username} cannot be undone; run again with --yes to confirm"
        ));
    }
    let admin = Admin::connect(config).await.map_err(|e| e.to_string())?;
    let now = SystemClock.now_ms();
    let e = |e: admin::AdminError| e.to_string();
    match action {
        AccountAction::List => print(json, accounts::list(&admin, now).await.map_err(e)?),
        AccountAction::Show { username } => print(
            json,
            account_show::show(&admin, &username, now)
                .await
                .map_err(e)?,
        ),
        AccountAction::Disable { username } => print(
            json,
            accounts::disable(&admin, &username, now).await.map_err(e)?,
        ),
        AccountAction::Enable { username } => print(
            json,
            accounts::enable(&admin, &username, now).await.map_err(e)?,
        ),
        AccountAction::Unlock { username } => print(
            json,
            accounts::unlock(&admin, &username, now).await.map_err(e)?,
        ),
        AccountAction::Recovery { username } => print(
            json,
            recovery::issue(&admin, &username, now).await.map_err(e)?,
        ),
        AccountAction::Delete { username, .. } => {
            print(json, accounts::delete(&admin, &username).await.map_err(e)?)
        }
    }
}

/// Print a result as text, or as pretty JSON with `--json`.
fn print<T: Serialize + Display>(json: bool, report: T) -> Result<(), String> {
    if json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{report}");
    }
    Ok(())
}
