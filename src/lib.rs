//! hoist: daemonless container images for JVM applications.
//!
//! The crate is split by job: [`jar`] reads jars and decides layers (knows Java,
//! not OCI); [`image`] turns layer plans into reproducible OCI layers, configs and
//! manifests (no network); [`dest`] reads base images from and writes images to
//! places (OCI layouts, docker archives); [`build`] wires them for `hoist build`.
pub mod aws;
pub mod build;
pub mod cli;
pub mod config;
pub mod deploy_cli;
pub mod dest;
pub mod ecs;
pub mod error;
pub mod image;
pub mod jar;
pub mod progress;
pub mod registry;
pub mod secrets;
pub mod ship;
pub mod ship_cli;
