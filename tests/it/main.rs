//! Integration tests: the real `hoist` binary on real jars, checked with
//! independent readers (skopeo, the JVM, a spec-written layout reader).

#[path = "../support/mod.rs"]
mod support;

mod architecture;
mod attestations;
mod bad_input;
mod build_tools;
mod cache;
mod cli_conveniences;
mod copy;
mod docs;
mod ecr;
mod ecs_deploy;
mod ecs_rollouts;
mod fixtures;
mod image_starts;
mod job_summary;
mod layouts;
mod logs_and_status;
mod plain_moto;
mod rebuild;
mod referrers;
mod registry_auth;
mod registry_faults;
mod registry_push;
mod registry_tags;
mod release;
mod render;
mod reproducible;
mod sbom;
mod ship;
mod spring_apps;
mod startup;
mod timeline;
mod verify;
mod why_it_failed;
mod zstd;
