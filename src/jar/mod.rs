//! Reading jars and deciding how they become layers.
//!
//! Knows Java — manifests, Spring Boot's `BOOT-INF` layout and index files,
//! `Class-Path` — and nothing of OCI: the output is a [`plan::JarPlan`] of
//! files per layer plus an entrypoint, which the image core turns into layers.

pub mod archive;
pub mod index_files;
pub mod manifest;
pub mod plan;

pub use plan::{plan_jar, JarKind, JarPlan, Mode, PlanOptions};
