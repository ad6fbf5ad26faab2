//! Shared helpers for the integration tests: jar fixtures, running the
//! `hoist` binary, and an independent reader of OCI layouts.

pub mod artifacts;
pub mod certs;
pub mod cli;
pub mod containerd;
pub mod denying;
pub mod ecs_emulator;
pub mod fault_proxy;
pub mod fixtures;
pub mod oci;
pub mod registry;
pub mod registry_standin;
pub mod spring;
pub mod token_server;
