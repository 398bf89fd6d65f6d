//! The `sesame` command.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use sesame::{Application, Overrides, config::Config, telemetry};

/// Sesame: a passkey-first identity server.
///
/// With no command it serves. Configuration comes from an optional TOML file (--config) and
/// SESAME_* environment variables; see README.md for the table.
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
    Migrate,
    /// Check the configuration and exit: prints the first problem, or "configuration ok".
    CheckConfig,
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
    let result = runtime.block_on(async move {
        match cli.command.unwrap_or(Command::Serve) {
            Command::CheckConfig => {
                println!("configuration ok");
                Ok(())
            }
            Command::Migrate => {
                telemetry::init(&config.log_format);
                let db = sesame::db::connect(&config.database_url, 1)
                    .await
                    .map_err(|e| e.to_string())?;
                sesame::db::migrate(&db).await.map_err(|e| e.to_string())?;
                println!("migrations applied");
                Ok(())
            }
            Command::Serve => {
                telemetry::init(&config.log_format);
                let origin = config.primary_origin();
                let app = Application::build(config, Overrides::default())
                    .await
                    .map_err(|e| e.to_string())?;
                tracing::info!("Sesame is listening on port {}; open {origin}", app.port());
                app.run().await.map_err(|e| e.to_string())
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sesame: {e}");
            ExitCode::FAILURE
        }
    }
}
