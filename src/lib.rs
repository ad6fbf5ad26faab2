//! hoist: daemonless container images for JVM applications, pushed to a
//! registry and rolled out to Amazon ECS.
//!
//! The crate is split by job: [`jar`] reads jars and decides layers (knows
//! Java, not OCI); [`image`] turns layer plans into reproducible OCI layers,
//! configs and manifests (no network); `dest` reads base images from and
//! writes images to places (registries, OCI layouts, docker archives);
//! [`registry`] is the OCI distribution client; [`ecs`] renders task
//! definitions and follows rollouts; `build` wires jar → image → destination
//! (`publish` writes the result, repairing blobs found bad on the way),
//! `build_tool` runs the project's own Gradle or Maven build, and `ship`
//! the whole pipeline for one environment of hoist.toml.
//!
//! The library knows no command line: it takes plain option structs and
//! exposes `async fn`s where it does I/O; the binary owns the one runtime.
//! docs/architecture.md maps the modules and their invariants.

#![warn(unreachable_pub)]

pub mod attest;
mod aws;
mod build;
mod build_tool;
mod config;
mod dest;
pub mod ecs;
mod env_plan;
mod env_policy;
pub mod error;
pub mod image;
mod init;
pub mod jar;
pub mod policy;
pub mod provenance;
mod publish;
pub mod registry;
pub mod sbom;
mod secrets;
mod ship;
pub mod startup;
mod util;

pub use attest::Attestations;
pub use aws::AwsOptions;
pub use build::{
    build, reproducible_times, BuildOptions, BuildReport, ExtraFile, LayerDir, ProvenanceContext,
};
pub use config::HoistConfig;
pub use dest::attached_sbom;
pub use dest::copy::{copy, CopyOptions, CopyReport};
pub use dest::remote::{PushSummary, RegistryAccess};
pub use dest::Location;
pub use env_policy::environment_policy;
pub use image::cache_dir::{cache_usage, prune_cache, CacheUsage, PruneOptions, PruneReport};
pub use image::Digest;
pub use init::init;
pub use ship::{
    promote, ship, verify, PromoteOptions, PromoteReport, Released, ShipOptions, ShipReport,
};
pub use util::fs::write_atomic;
pub use util::temp::remove_all_and_hold as remove_temp_files_and_hold;

/// The layer cache's default directory: `$XDG_CACHE_HOME/hoist` or
/// `~/.cache/hoist`.
pub fn default_cache_dir() -> Option<std::path::PathBuf> {
    image::cache::LayerCache::default_root()
}
