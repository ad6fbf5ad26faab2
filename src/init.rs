//! `hoist init`: a commented hoist.toml for the Gradle or Maven project in
//! the current directory — its name (settings.gradle's `rootProject.name`,
//! or pom.xml's `artifactId`), the build to run and the jar it makes, and
//! two environments (dev, and a protected prod) to edit.

use crate::build_tool::BuildTool;
use crate::error::usage_hint;
use anyhow::Result;
use std::path::Path;

/// Writes `hoist.toml` for the project in the current directory (refusing
/// to overwrite one unless `force`), and says what it found.
pub fn init(force: bool) -> Result<()> {
    let path = Path::new("hoist.toml");
    if path.exists() && !force {
        return Err(usage_hint(
            "hoist.toml exists already",
            "edit it, or pass --force to overwrite it",
        ));
    }
    let project = Detected::in_dir(Path::new("."));
    let name = project
        .name(Path::new("."))
        .or_else(|| {
            std::env::current_dir()
                .ok()
                .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        })
        .unwrap_or_else(|| "app".into())
        .to_ascii_lowercase();
    let jar = crate::ship::find_jar(Path::new("."), project.jar_glob(), project.tool()).ok();
    let text = init_template(&name, project, jar.as_deref());
    crate::util::fs::write_atomic(path, text.as_bytes())?;
    eprintln!(
        "wrote hoist.toml for {name}{}{}",
        project.summary(),
        jar.map(|j| format!(", jar {}", j.display()))
            .unwrap_or_default()
    );
    Ok(())
}

/// The build a directory holds, as init sees it. Gradle wins when both
/// are there (a project half-way through a move keeps what it had).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Detected {
    /// `build.gradle.kts` or `build.gradle`.
    Gradle(&'static str),
    /// `pom.xml`, or only the Maven wrapper `mvnw` (then there is no
    /// build to run yet).
    Maven(&'static str),
    /// Neither.
    Nothing,
}

impl Detected {
    fn in_dir(dir: &Path) -> Self {
        let first = |files: &[&'static str]| files.iter().copied().find(|f| dir.join(f).is_file());
        if let Some(file) = first(&["build.gradle.kts", "build.gradle"]) {
            Self::Gradle(file)
        } else if let Some(file) = first(&["pom.xml", "mvnw"]) {
            Self::Maven(file)
        } else {
            Self::Nothing
        }
    }

    fn tool(self) -> Option<BuildTool> {
        match self {
            Self::Gradle(_) => Some(BuildTool::Gradle),
            Self::Maven(_) => Some(BuildTool::Maven),
            Self::Nothing => None,
        }
    }

    fn jar_glob(self) -> &'static str {
        self.tool().unwrap_or(BuildTool::Gradle).default_jar_glob()
    }

    /// The project's name from the build's own files.
    fn name(self, dir: &Path) -> Option<String> {
        let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
        match self {
            Self::Gradle(_) => ["settings.gradle.kts", "settings.gradle"]
                .into_iter()
                .filter_map(read)
                .find_map(|text| gradle_root_project_name(&text)),
            Self::Maven(_) => read("pom.xml").and_then(|pom| pom_artifact_id(&pom)),
            Self::Nothing => None,
        }
    }

    /// ` (Maven: pom.xml)`, for init's one line.
    fn summary(self) -> String {
        match self {
            Self::Gradle(file) => format!(" (Gradle: {file})"),
            Self::Maven(file) => format!(" (Maven: {file})"),
            Self::Nothing => String::new(),
        }
    }
}

/// `rootProject.name = 'x'` (or `"x"`) in settings.gradle(.kts).
fn gradle_root_project_name(settings: &str) -> Option<String> {
    settings.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("rootProject.name")?;
        let value = rest
            .trim_start_matches([' ', '='])
            .trim()
            .trim_matches(['"', '\'']);
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The project's own `<artifactId>` in pom.xml text: the first one that is
/// a child of the root `<project>` — the parent's, a dependency's or a
/// plugin's sit deeper. A small scan of the tags (skipping comments,
/// processing instructions, CDATA and declarations) rather than an XML
/// parser: only the nesting depth matters. None when there is none, or
/// when it is a `${property}` init cannot resolve.
fn pom_artifact_id(pom: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut rest = pom;
    while let Some(open) = rest.find('<') {
        rest = &rest[open..];
        let skipped = [
            ("<!--", "-->"),
            ("<![CDATA[", "]]>"),
            ("<?", "?>"),
            ("<!", ">"),
        ]
        .iter()
        .find(|(start, _)| rest.starts_with(start));
        if let Some((_, end)) = skipped {
            rest = &rest[rest.find(end)? + end.len()..];
            continue;
        }
        let close = rest.find('>')?;
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('/') {
            depth = depth.saturating_sub(1);
            continue;
        }
        if tag.ends_with('/') {
            continue;
        }
        depth += 1;
        let name = tag.split_whitespace().next().unwrap_or_default();
        if depth == 2 && name == "artifactId" {
            let id = rest[..rest.find('<')?].trim();
            return (!id.is_empty() && !id.contains("${")).then(|| id.to_string());
        }
    }
    None
}

/// `setting` with its comment in the template's comment column.
fn commented(setting: &str, note: &str) -> String {
    format!("{setting:<39} # {note}\n")
}

fn init_template(name: &str, project: Detected, jar: Option<&Path>) -> String {
    let found = match jar {
        Some(j) => format!("  # found: {}", j.display()),
        None => String::new(),
    };
    let jar_glob = format!("jar = \"{}\"", project.jar_glob());
    let (jar_line, build_line) = match project {
        Detected::Gradle(_) => (
            commented(
                &jar_glob,
                &format!("Gradle's *-plain.jar is ignored{found}"),
            ),
            commented(
                "build = \"gradle bootJar\"",
                "./gradlew bootJar first (gradle without the wrapper); remove if CI builds the jar",
            ),
        ),
        Detected::Maven(file) => (
            commented(
                &jar_glob,
                &format!("Maven's *.jar.original is ignored{found}"),
            ),
            if file == "pom.xml" {
                commented(
                    "build = \"maven package -DskipTests\"",
                    "./mvnw -B package -DskipTests first (mvn without the wrapper); remove if CI builds the jar",
                )
            } else {
                commented(
                    "# build = \"maven package -DskipTests\"",
                    "no pom.xml found here",
                )
            },
        ),
        Detected::Nothing => (
            commented(
                &jar_glob,
                &format!("Gradle's *-plain.jar is ignored{found}"),
            ),
            commented(
                "# build = \"gradle bootJar\"",
                "or \"maven package -DskipTests\"; no Gradle or Maven build found here",
            ),
        ),
    };
    format!(
        r#"# hoist.toml — how {name} becomes an image and where it is deployed.
# Reference: docs/configuration.md in hoist's repository. Unknown keys are errors, so typos never pass silently.

[image]
from = "eclipse-temurin:17-jre"         # base: registry ref, oci:DIR[:TAG], docker-archive:FILE, or scratch
to = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/{name}"   # repository; tags come from [env.*]
{jar_line}{build_line}jvm-flags = ["-XX:MaxRAMPercentage=75"]
ports = [8080]
# platforms = ["linux/amd64", "linux/arm64"]   # several make one multi-arch index
# mode = "packaged"                     # default for Spring Boot: exploded (layers from layers.idx); or extracted
# compression = "zstd"                 # smaller, faster layers for containerd/Fargate pulls; default auto (gzip)
# Start-up archive: runs your app once at build time (to Spring's onRefresh, with the image's JVM)
# to train a CDS archive (JDK 17+) or AOT cache (JDK 24+): the app serves 40-55 % sooner after start,
# the image grows by 10-15 MB compressed, the build by the training run (about 10 s). Implies mode = "extracted".
# startup = "auto"                      # none (default), cds, aot-cache or auto
# [image.training]
# env = {{ SPRING_PROFILES_ACTIVE = "training" }}   # if the app needs a database to start

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
    fn the_gradle_template_parses_and_builds_with_gradle() {
        let text = init_template("plog", Detected::Gradle("build.gradle"), None);
        let config = HoistConfig::parse(&text).unwrap();
        assert_eq!(config.env.len(), 2);
        assert!(config.env["prod"].protect);
        let build = config.image.build_command().unwrap();
        assert_eq!(build.tool, BuildTool::Gradle);
        assert_eq!(build.args, ["bootJar"]);
        assert!(config.image.gradle_task.is_none());
        assert_eq!(config.image.jar_glob(), "build/libs/*.jar");
        assert!(
            text.contains("jar = \"build/libs/*.jar\"                # Gradle's"),
            "{text}"
        );
    }

    #[test]
    fn the_maven_template_parses_and_builds_with_maven() {
        let jar = Path::new("/p/target/plog-0.1.jar");
        let text = init_template("plog", Detected::Maven("pom.xml"), Some(jar));
        let config = HoistConfig::parse(&text).unwrap();
        let build = config.image.build_command().unwrap();
        assert_eq!(build.tool, BuildTool::Maven);
        assert_eq!(build.args, ["package", "-DskipTests"]);
        assert_eq!(config.image.jar_glob(), "target/*.jar");
        assert!(text.contains("*.jar.original is ignored  # found: /p/target/plog-0.1.jar"));

        // Only the wrapper: Maven's jar glob, the build commented out.
        let text = init_template("plog", Detected::Maven("mvnw"), None);
        let config = HoistConfig::parse(&text).unwrap();
        assert!(config.image.build_command().is_none());
        assert_eq!(config.image.jar_glob(), "target/*.jar");
        assert!(
            text.contains("\n# build = \"maven package -DskipTests\" "),
            "{text}"
        );
        assert!(text.contains("# no pom.xml found here"), "{text}");
    }

    #[test]
    fn without_a_build_the_template_suggests_both() {
        let text = init_template("plog", Detected::Nothing, None);
        let config = HoistConfig::parse(&text).unwrap();
        assert!(config.image.build_command().is_none());
        assert_eq!(config.image.jar_glob(), "build/libs/*.jar");
        assert!(text.contains("# build = \"gradle bootJar\""));
        assert!(text.contains("or \"maven package -DskipTests\""));
    }

    #[test]
    fn detects_gradle_before_maven_and_names_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let at = |f: &str| dir.path().join(f);
        assert_eq!(Detected::in_dir(dir.path()), Detected::Nothing);
        std::fs::write(at("mvnw"), "#!/bin/sh\n").unwrap();
        assert_eq!(Detected::in_dir(dir.path()), Detected::Maven("mvnw"));
        assert_eq!(Detected::Maven("mvnw").name(dir.path()), None);
        std::fs::write(
            at("pom.xml"),
            "<project><artifactId>Plog-Back</artifactId></project>",
        )
        .unwrap();
        let maven = Detected::in_dir(dir.path());
        assert_eq!(maven, Detected::Maven("pom.xml"));
        assert_eq!(maven.name(dir.path()).as_deref(), Some("Plog-Back"));
        assert_eq!(maven.summary(), " (Maven: pom.xml)");
        assert_eq!(maven.jar_glob(), "target/*.jar");
        std::fs::write(at("build.gradle"), "").unwrap();
        std::fs::write(at("settings.gradle"), "rootProject.name = \"plog\"\n").unwrap();
        let gradle = Detected::in_dir(dir.path());
        assert_eq!(gradle, Detected::Gradle("build.gradle"));
        assert_eq!(gradle.name(dir.path()).as_deref(), Some("plog"));
        assert_eq!(gradle.summary(), " (Gradle: build.gradle)");
    }

    #[test]
    fn gradle_names_come_from_root_project_name() {
        assert_eq!(
            gradle_root_project_name("include 'a'\nrootProject.name = 'plog-back'\n").as_deref(),
            Some("plog-back")
        );
        assert_eq!(
            gradle_root_project_name("rootProject.name=\"x\"").as_deref(),
            Some("x")
        );
        assert_eq!(gradle_root_project_name("include 'a'\n"), None);
    }

    #[test]
    fn the_pom_artifact_id_is_the_projects_own() {
        let id = |pom: &str| pom_artifact_id(pom);
        assert_eq!(
            id("<project><groupId>g</groupId><artifactId>app</artifactId></project>").as_deref(),
            Some("app")
        );
        // The parent's comes first but is deeper.
        let spring = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>3.3.0</version>
    <relativePath/> <!-- lookup parent from repository -->
  </parent>
  <groupId>com.example</groupId>
  <artifactId>
    plog-back
  </artifactId>
  <version>0.0.1-SNAPSHOT</version>
</project>
"#;
        assert_eq!(id(spring).as_deref(), Some("plog-back"));
        // Comments, CDATA and dependencies before it do not count.
        let odd = r#"<!-- <artifactId>commented</artifactId> -->
<!DOCTYPE project>
<project>
  <dependencies>
    <dependency><artifactId>lib</artifactId></dependency>
  </dependencies>
  <description><![CDATA[<artifactId>nope</artifactId>]]></description>
  <artifactId>late</artifactId>
</project>"#;
        assert_eq!(id(odd).as_deref(), Some("late"));
        // Nothing to name the project by.
        assert_eq!(
            id("<project><artifactId>${name}</artifactId></project>"),
            None
        );
        assert_eq!(
            id("<project><parent><artifactId>p</artifactId></parent></project>"),
            None
        );
        assert_eq!(id("<project><artifactId></artifactId></project>"), None);
        assert_eq!(id("<project><artifactId>cut"), None);
        assert_eq!(id("<project><!-- never closed"), None);
        assert_eq!(id("not xml at all"), None);
        assert_eq!(id(""), None);
    }
}
