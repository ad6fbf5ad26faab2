//! The command layer: clap definitions and one module per command group
//! (`build`, `cache`, `copy`, `deploy`, `logs`, `policy`, `render`, `sbom`, `ship`, `verify`, `manual` for
//! completions and the man page), which turn flags into the library's plain
//! option structs, call it, and hand results to [`output`]. Shared flag
//! groups live in [`args`], progress drawing in [`progress`]. The command
//! modules never import one another; nothing in the library imports this.

mod args;
mod build;
mod cache;
mod copy;
mod deploy;
mod logs;
mod manual;
mod output;
mod policy;
mod progress;
#[cfg(test)]
mod reference;
mod render;
mod sbom;
mod ship;
mod summary;
mod verify;

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
    /// Print nothing but errors and warnings on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: the layers built, the deployments followed.
    #[arg(short, long, global = true)]
    pub verbose: bool,
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
    /// Print the last log lines of an environment's running tasks (CloudWatch Logs); --follow for new ones.
    Logs(logs::LogsArgs),
    /// Write the RegisterTaskDefinition JSON for a task-definition file with a new image (offline).
    Render(render::RenderArgs),
    /// Build, push and deploy one environment of hoist.toml, and wait until it is stable.
    Ship(ship::ShipArgs),
    /// Check an environment's ECS setup before deploying: image platform, container and port, execution role, secrets, log group, health-check grace period.
    Verify(verify::VerifyArgs),
    /// Deploy the exact image one environment runs to another, with no rebuild.
    Promote(ship::PromoteArgs),
    /// Write a commented hoist.toml for the Gradle or Maven project in this directory.
    Init(ship::InitArgs),
    /// Print a shell completion script: hoist completions bash|zsh|fish.
    Completions(manual::CompletionsArgs),
    /// Print hoist's man page (roff) to stdout.
    Man,
    /// Copy an image between registries, OCI layouts and docker archives, digest kept.
    Copy(Box<copy::CopyArgs>),
    /// The layer cache: where it is (dir), what it holds (du), pruning it (prune).
    Cache(cache::CacheArgs),
    /// Print a jar's SBOM (CycloneDX 1.6): every classpath jar, its hashes, coordinates and licence.
    Sbom(sbom::SbomArgs),
    /// Print the least-privilege IAM policy (JSON) for the role that ships, promotes, verifies and watches an environment.
    Policy(policy::PolicyArgs),
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<()> {
    progress::set_verbosity(match (cli.quiet, cli.verbose) {
        (true, _) => progress::Verbosity::Quiet,
        (_, true) => progress::Verbosity::Verbose,
        _ => progress::Verbosity::Normal,
    });
    match cli.command {
        Command::Build(args) => build::run_build(*args).await,
        Command::Inspect(args) => build::run_inspect(args),
        Command::Deploy(args) => deploy::run_deploy(*args).await,
        Command::Rollback(args) => deploy::run_rollback(args).await,
        Command::Status(args) => deploy::run_status(args).await,
        Command::Logs(args) => logs::run_logs(args).await,
        Command::Render(args) => render::run_render(args),
        Command::Ship(args) => ship::run_ship(args).await,
        Command::Verify(args) => verify::run_verify(args).await,
        Command::Promote(args) => ship::run_promote(args).await,
        Command::Init(args) => ship::run_init(args),
        Command::Completions(args) => manual::run_completions(args),
        Command::Man => manual::run_man(),
        Command::Copy(args) => copy::run_copy(*args).await,
        Command::Cache(args) => cache::run_cache(args),
        Command::Sbom(args) => sbom::run_sbom(args).await,
        Command::Policy(args) => policy::run_policy(args).await,
    }
}
