//! `hoist render`: a task definition from a file, with one container's image,
//! environment and secrets changed, out as RegisterTaskDefinition's JSON (on
//! stdout, or written atomically to `--output`). Offline: no AWS call.

use crate::cli::args::key_values;
use anyhow::{Context, Result};
use clap::Args;
use hoist::ecs::{TaskDefinitionFile, TaskDefinitionPatch};
use hoist::registry::ImageReference;
use std::io::Write;
use std::path::PathBuf;

/// `hoist render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The task definition: as kept in a repository, or DescribeTaskDefinition's output (with or without its {"taskDefinition": …} wrapper).
    #[arg(long, value_name = "FILE")]
    pub task_definition: PathBuf,
    /// The container whose image is replaced.
    #[arg(long, value_name = "NAME")]
    pub container: String,
    /// The image to write into it, as given (a tag is not resolved: this command is offline).
    #[arg(long, value_name = "IMAGE")]
    pub image: String,
    /// Environment variable for the container, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Secret for the container, NAME=ARN (repeatable; ECS injects it at run time).
    #[arg(long = "secret", value_name = "NAME=ARN")]
    pub secrets: Vec<String>,
    /// Write the JSON to this file (atomically) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `hoist render`.
pub fn run_render(args: RenderArgs) -> Result<()> {
    ImageReference::parse(&args.image).context("--image")?;
    let patch = TaskDefinitionPatch {
        container: args.container.clone(),
        more_containers: Vec::new(),
        image: args.image.clone(),
        environment: key_values("--env", &args.env)?,
        secrets: key_values("--secret", &args.secrets)?,
    };
    let file = TaskDefinitionFile::read(&args.task_definition)?;
    let rendered = file.render(&patch)?;
    if let Some(note) = rendered.unknown_fields_note() {
        eprintln!("hoist: {note}");
    }
    let json = file.to_pretty_json(&rendered.body);
    match &args.output {
        Some(path) => hoist::write_atomic(path, json.as_bytes())
            .with_context(|| format!("writing --output {}", path.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(json.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}
