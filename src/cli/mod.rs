//! The command layer: clap definitions and one module per command group
//! (`build`, `cache`, `deploy`, `ship`), which turn flags into the library's plain
//! option structs, call it, and hand results to [`output`]. Shared flag
//! groups live in [`args`], progress drawing in [`progress`]. The command
//! modules never import one another; nothing in the library imports this.

mod args;
mod build;
mod cache;
mod deploy;
mod output;
mod progress;
mod ship;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// hoist: container images for JVM apps, without Docker.
#[derive(Debug, Parser)]
#[command(
    name = "hoist",
    version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("HOIST_GIT_COMMIT"), ")"),
    about,
    propagate_version = true
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build an image from a jar and write it to a destination; prints the digest.
    Build(Box<build::BuildArgs>),
    /// Show how a jar would be layered, without building.
    Inspect(build::InspectArgs),
    /// Roll an image out to an ECS service: register a revision, update the service, wait.
    Deploy(Box<deploy::DeployArgs>),
    /// Point an ECS service back at an earlier task-definition revision and wait.
    Rollback(deploy::RollbackArgs),
    /// Show an ECS service's deployments, counts, images and last events.
    Status(deploy::StatusArgs),
    /// Build, push and deploy one environment of hoist.toml, and wait until it is stable.
    Ship(ship::ShipArgs),
    /// Deploy the exact image one environment runs to another, with no rebuild.
    Promote(ship::PromoteArgs),
    /// Write a commented hoist.toml for the Gradle project in this directory.
    Init(ship::InitArgs),
    /// The layer cache: where it is (dir), what it holds (du), pruning it (prune).
    Cache(cache::CacheArgs),
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Build(args) => build::run_build(*args).await,
        Command::Inspect(args) => build::run_inspect(args),
        Command::Deploy(args) => deploy::run_deploy(*args).await,
        Command::Rollback(args) => deploy::run_rollback(args).await,
        Command::Status(args) => deploy::run_status(args).await,
        Command::Ship(args) => ship::run_ship(args).await,
        Command::Promote(args) => ship::run_promote(args).await,
        Command::Init(args) => ship::run_init(args),
        Command::Cache(args) => cache::run_cache(args),
    }
}
