//! Shared helpers for the integration tests: jar fixtures, running the
//! `hoist` binary, and an independent reader of OCI layouts.

pub mod cli;
pub mod fixtures;
pub mod oci;
pub mod registry;
