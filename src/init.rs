//! `hoist init`: a commented hoist.toml for the Gradle project in the current
//! directory — its name from settings.gradle, the jar Gradle built, and two
//! environments (dev, and a protected prod) to edit.

use crate::error::usage_hint;
use anyhow::Result;
use std::path::Path;

/// Writes `hoist.toml` for the Gradle project in the current directory
/// (refusing to overwrite one unless `force`), and says what it found.
pub fn init(force: bool) -> Result<()> {
    let path = Path::new("hoist.toml");
    if path.exists() && !force {
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
    let jar = crate::ship::find_jar(
        Path::new("."),
        "build/libs/*.jar",
        Some(crate::build_tool::BuildTool::Gradle),
    )
    .ok();
    let text = init_template(&name, gradle, jar.as_deref());
    crate::util::fs::write_atomic(path, text.as_bytes())?;
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
# compression = "zstd"                 # smaller, faster layers for containerd/Fargate pulls; default auto (gzip)

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
    use crate::config::HoistConfig;

    #[test]
    fn the_init_template_parses() {
        let text = init_template("plog", Some("build.gradle"), None);
        let config = HoistConfig::parse(&text).unwrap();
        assert_eq!(config.env.len(), 2);
        assert!(config.env["prod"].protect);
        assert_eq!(config.image.gradle_task.as_deref(), Some("bootJar"));
    }
}
