//! Where a command's result goes, written in one place: the JSON report to
//! `--metadata-file` (atomically) and to stdout with `--json`, step outputs
//! appended to `GITHUB_OUTPUT` when GitHub Actions sets it, and otherwise one
//! plain result on stdout (a digest, an image, an ARN) so commands compose.

use anyhow::{Context, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The output flags every reporting command shares.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Write the outcome as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The step outputs that name an image: `image`, `digest`, `tags`.
pub fn image_outputs(image: &str, digest: &str, tags: &[String]) -> Vec<(&'static str, String)> {
    vec![
        ("image", image.to_string()),
        ("digest", digest.to_string()),
        ("tags", tags.join(",")),
    ]
}

/// The step outputs that name a deployed task definition (none when nothing
/// was registered).
pub fn deploy_outputs(report: &hoist::ecs::DeployReport) -> Vec<(&'static str, String)> {
    if report.task_definition_arn.is_empty() {
        return Vec::new();
    }
    vec![
        ("task-definition-arn", report.task_definition_arn.clone()),
        ("task-definition-revision", report.revision.to_string()),
    ]
}

/// A command's finished report: written to the metadata file and
/// `GITHUB_OUTPUT` (`step_outputs`, when non-empty), then printed: as JSON
/// with `--json`, else as `human` (nothing when it is empty).
pub fn emit<T: Serialize>(
    report: &T,
    outputs: &OutputArgs,
    step_outputs: &[(&str, String)],
    human: &str,
) -> Result<()> {
    let json = serde_json::to_string_pretty(report)?;
    if let Some(path) = &outputs.metadata_file {
        hoist::write_atomic(path, json.as_bytes())
            .with_context(|| format!("writing --metadata-file {}", path.display()))?;
    }
    if !step_outputs.is_empty() {
        if let Ok(path) = std::env::var("GITHUB_OUTPUT") {
            append_step_outputs(Path::new(&path), step_outputs)?;
        }
    }
    let mut out = std::io::stdout().lock();
    if outputs.json {
        writeln!(out, "{json}")?;
    } else if !human.is_empty() {
        write!(out, "{human}")?;
        if !human.ends_with('\n') {
            writeln!(out)?;
        }
    }
    Ok(())
}

/// With `-v`: one stderr line per layer (name, digest, size, cached or not,
/// what the push did).
pub fn layer_details(report: &hoist::BuildReport) {
    for layer in &report.layers {
        crate::cli::progress::detail(format_args!(
            "layer {:<24} {} {:>10} {}{}",
            layer.name,
            &layer.digest.hex()[..12],
            indicatif::HumanBytes(layer.size).to_string(),
            if layer.cached { "cached" } else { "written" },
            layer
                .outcome
                .map(|o| format!(", {o:?}").to_lowercase())
                .unwrap_or_default()
        ));
    }
}

/// With `-v`: which deployment was followed, and how.
pub fn deploy_details(report: &hoist::ecs::DeployReport) {
    if !report.deployment_id.is_empty() {
        crate::cli::progress::detail(format_args!(
            "deployment {}{} followed with {}",
            report.deployment_id,
            report
                .service_deployment_arn
                .as_deref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default(),
            report.followed_with
        ));
    }
}

/// After a followed deploy, however it ended, on stderr: where the
/// rollout's time went, per service.
pub fn timeline_lines(services: &[hoist::ecs::DeployReport]) {
    let several = services.len() > 1;
    for one in services {
        let Some(timeline) = &one.timeline else {
            continue;
        };
        for line in timeline.lines() {
            if several {
                crate::cli::progress::say(format_args!("[{}] {line}", one.service));
            } else {
                crate::cli::progress::say(line);
            }
        }
    }
}

/// After a failed deploy, on stderr: why, per service (stopped tasks,
/// container exits, log lines, the load balancer's health, hints).
pub fn diagnosis_lines(services: &[hoist::ecs::DeployReport]) {
    let several = services.len() > 1;
    for one in services {
        let Some(diagnosis) = &one.diagnosis else {
            continue;
        };
        for line in diagnosis.lines() {
            if several {
                eprintln!("[{}] {line}", one.service);
            } else {
                eprintln!("{line}");
            }
        }
    }
}

/// Appends `key=value` lines to the GitHub Actions output file.
fn append_step_outputs(path: &Path, lines: &[(&str, String)]) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("opening GITHUB_OUTPUT {}", path.display()))?;
    for (key, value) in lines {
        writeln!(file, "{key}={value}")
            .with_context(|| format!("writing GITHUB_OUTPUT {}", path.display()))?;
    }
    Ok(())
}
