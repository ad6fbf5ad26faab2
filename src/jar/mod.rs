//! Reading jars and deciding how they become layers.
//!
//! Knows Java — manifests, Spring Boot's `BOOT-INF` layout and index files,
//! `Class-Path` — and nothing of OCI: the output is a [`plan::JarPlan`] of
//! files per layer plus an entrypoint, which the image core turns into layers.

pub(crate) mod archive;
pub(crate) mod index_files;
pub(crate) mod manifest;
pub(crate) mod plan;
pub(crate) mod thin;

pub use plan::{plan_jar, JarKind, JarPlan, Mode, PlanOptions, PlannedLayer};
