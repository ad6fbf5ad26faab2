//! The hoist.toml commands of the CLI: `hoist ship`, `hoist promote` and
//! `hoist init`.

use crate::cli::{write_github_output_lines, InitArgs, PromoteArgs, ShipArgs};
use crate::config::HoistConfig;
use crate::error::usage_hint;
use crate::progress::RolloutDrawer;
use crate::ship::{promote, ship, ShipOptions};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

/// `hoist ship ENV`.
pub fn run_ship(args: ShipArgs) -> Result<()> {
    let mut config = HoistConfig::load(&args.config)?;
    // Flags (and HOIST_* variables) win over the file.
    if let Some(from) = &args.from {
        config.image.from = from.clone();
    }
    if let Some(to) = &args.to {
        config.image.to = to.clone();
    }
    if let Some(jar) = &args.jar {
        config.image.jar = jar.clone();
    }
    let options = ShipOptions {
        env: args.env.clone(),
        yes: args.yes,
        wait: args.wait.options()?,
        skip_gradle: args.skip_gradle,
        cache_dir: args
            .cache_dir
            .clone()
            .or_else(crate::image::cache::LayerCache::default_root),
    };
    let push_progress = crate::progress::for_stderr();
    let rollout = RolloutDrawer::for_stderr();
    let result = ship(&config, &options, push_progress.as_ref(), &rollout);
    drop(rollout);
    let report = result?;
    let json = serde_json::to_string_pretty(&report)?;
    if let Some(path) = &args.metadata_file {
        crate::dest::write_atomic(path, json.as_bytes())
            .with_context(|| format!("writing --metadata-file {}", path.display()))?;
    }
    if let Ok(path) = std::env::var("GITHUB_OUTPUT") {
        write_github_output_lines(
            Path::new(&path),
            &[
                ("image", report.image.clone()),
                ("digest", report.build.digest.to_string()),
                ("tags", report.build.tags.join(",")),
                (
                    "task-definition-arn",
                    report.deploy.task_definition_arn.clone(),
                ),
                (
                    "task-definition-revision",
                    report.deploy.revision.to_string(),
                ),
            ],
        )?;
    }
    let push = report.build.push.as_ref();
    eprintln!(
        "shipped {} to {}: {} ({} uploaded, {} mounted, {} already there), {} {}, {:.1} s in all",
        report.env,
        report.deploy.service,
        report.image,
        push.map_or(0, |p| p.uploaded),
        push.map_or(0, |p| p.mounted),
        push.map_or(0, |p| p.present),
        crate::ecs::rollout::short_arn(&report.deploy.task_definition_arn),
        report.deploy.outcome,
        report.seconds
    );
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{json}")?;
    } else {
        writeln!(out, "{}", report.image)?;
    }
    Ok(())
}

/// `hoist promote FROM TO`.
pub fn run_promote(args: PromoteArgs) -> Result<()> {
    let config = HoistConfig::load(&args.config)?;
    let rollout = RolloutDrawer::for_stderr();
    let result = promote(
        &config,
        &args.from,
        &args.to,
        args.yes,
        args.wait.options()?,
        &rollout,
    );
    drop(rollout);
    let (image, report) = result?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = serde_json::json!({"image": image, "deploy": report});
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(out, "{image}")?;
    }
    Ok(())
}

/// `hoist init`: a commented hoist.toml for the Gradle project here.
pub fn run_init(args: InitArgs) -> Result<()> {
    let path = Path::new("hoist.toml");
    if path.exists() && !args.force {
        return Err(usage_hint(
            "hoist.toml exists already",
            "edit it, or pass --force to overwrite it",
        ));
    }
    let gradle = ["build.gradle.kts", "build.gradle"]
        .into_iter()
        .find(|f| Path::new(f).is_file());
    let name = ["settings.gradle.kts", "settings.gradle"]
        .into_iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .find_map(|text| {
            text.lines().find_map(|line| {
                let rest = line.trim().strip_prefix("rootProject.name")?;
                let value = rest
                    .trim_start_matches([' ', '='])
                    .trim()
                    .trim_matches(['"', '\'']);
                (!value.is_empty()).then(|| value.to_string())
            })
        })
        .or_else(|| {
            std::env::current_dir()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "app".into())
        .to_ascii_lowercase();
    let jar = crate::ship::find_jar(Path::new("."), "build/libs/*.jar").ok();
    let text = init_template(&name, gradle, jar.as_deref());
    crate::dest::write_atomic(path, text.as_bytes())?;
    eprintln!(
        "wrote hoist.toml for {name}{}{}",
        gradle
            .map(|g| format!(" (Gradle: {g})"))
            .unwrap_or_default(),
        jar.map(|j| format!(", jar {}", j.display()))
            .unwrap_or_default()
    );
    Ok(())
}

fn init_template(name: &str, gradle: Option<&str>, jar: Option<&Path>) -> String {
    let gradle_line = match gradle {
        Some(_) => "gradle-task = \"bootJar\"              # run ./gradlew bootJar first (remove if CI builds the jar)\n",
        None => "# gradle-task = \"bootJar\"            # no Gradle build found here\n",
    };
    let jar_note = match jar {
        Some(j) => format!("  # found: {}", j.display()),
        None => String::new(),
    };
    format!(
        r#"# hoist.toml — how {name} becomes an image and where it is deployed.
# Reference: hoist's README. Unknown keys are errors, so typos never pass silently.

[image]
from = "eclipse-temurin:17-jre"         # base: registry ref, oci:DIR[:TAG], docker-archive:FILE, or scratch
to = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/{name}"   # repository; tags come from [env.*]
jar = "build/libs/*.jar"                # Gradle's *-plain.jar is ignored{jar_note}
{gradle_line}jvm-flags = ["-XX:MaxRAMPercentage=75"]
ports = [8080]
# platforms = ["linux/amd64", "linux/arm64"]   # several make one multi-arch index
# mode = "packaged"                     # default for Spring Boot: exploded (layers from layers.idx)

# Config files baked into the image, in a layer of their own. A `secret` is read from
# AWS Secrets Manager at build time — whoever can pull the image can read it; prefer
# [env.*].secrets, which ECS injects at run time.
# [[image.files]]
# from = "config/application.yaml"
# to = "/app/config/application.yaml"

# [registry]
# insecure = ["localhost:5000"]         # plain HTTP (localhost and 127.0.0.1 always may)
# create-repository = true              # create a missing ECR repository

# Each environment names exactly one cluster and service, so dev cannot reach prod.
[env.dev]
cluster = "{name}-dev"
service = "{name}"
container = "{name}"
tags = ["dev-{{git_sha}}", "dev"]
environment = {{ SPRING_PROFILES_ACTIVE = "dev" }}
# secrets = {{ DB_PASSWORD = "arn:aws:secretsmanager:REGION:ACCOUNT:secret:{name}/db" }}

[env.prod]
cluster = "{name}-prod"
service = "{name}"
container = "{name}"
tags = ["prod-{{git_sha}}"]
environment = {{ SPRING_PROFILES_ACTIVE = "prod" }}
protect = true                          # needs --yes, or the name typed at a terminal
rollback-on-failure = true
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_init_template_parses() {
        let text = init_template("plog", Some("build.gradle"), None);
        let config = HoistConfig::parse(&text).unwrap();
        assert_eq!(config.env.len(), 2);
        assert!(config.env["prod"].protect);
        assert_eq!(config.image.gradle_task.as_deref(), Some("bootJar"));
    }
}
