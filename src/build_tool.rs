//! The project's own build, run by `hoist ship` before it packs the jar:
//! Gradle or Maven, named in hoist.toml by `[image] build = "TOOL ARGS…"`
//! (or by the older `gradle-task = "TASK"`, which means `gradle TASK`).
//!
//! This module owns reading that setting (checked when hoist.toml is read,
//! so a bad value stops hoist before anything runs), choosing the program
//! (the project's wrapper, `./gradlew` or `./mvnw`, else the tool on PATH),
//! running it in the project's directory, and the jar glob each tool writes
//! to by default. It knows nothing of images, registries or ECS.

use crate::error::usage_hint;
use anyhow::{Context, Result};
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// A build tool hoist can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildTool {
    /// Gradle: `./gradlew`, else `gradle`.
    Gradle,
    /// Maven: `./mvnw`, else `mvn`; always in batch mode (`-B`).
    Maven,
}

impl BuildTool {
    /// The word that names it in `build` (`gradle`, `maven`).
    pub fn word(self) -> &'static str {
        match self {
            Self::Gradle => "gradle",
            Self::Maven => "maven",
        }
    }

    /// The wrapper script a project carries (`gradlew`, `mvnw`).
    pub fn wrapper(self) -> &'static str {
        match self {
            Self::Gradle => "gradlew",
            Self::Maven => "mvnw",
        }
    }

    /// The program looked for on PATH when there is no wrapper.
    pub fn program(self) -> &'static str {
        match self {
            Self::Gradle => "gradle",
            Self::Maven => "mvn",
        }
    }

    /// Where the tool puts the jar, as the default `jar` glob.
    pub fn default_jar_glob(self) -> &'static str {
        match self {
            Self::Gradle => "build/libs/*.jar",
            Self::Maven => "target/*.jar",
        }
    }

    /// The usual command that builds the jar, for hints.
    pub fn example(self) -> &'static str {
        match self {
            Self::Gradle => "./gradlew bootJar",
            Self::Maven => "./mvnw package",
        }
    }

    /// The tool a jar glob points at when no build is configured: Maven
    /// for `target/…`, else Gradle.
    pub fn guess_from_glob(glob: &str) -> Self {
        if glob.trim_start_matches("./").starts_with("target/") {
            Self::Maven
        } else {
            Self::Gradle
        }
    }
}

/// What `[image] build` (or `gradle-task`) asks for: a tool and its
/// arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildCommand {
    /// Gradle or Maven.
    pub tool: BuildTool,
    /// The arguments as written (Maven's `-B` is added by [`arguments`](Self::arguments)).
    pub args: Vec<String>,
}

const BUILD_HINT: &str =
    "the first word is gradle or maven, e.g. build = \"gradle bootJar\" or build = \"maven package -DskipTests\"";

impl BuildCommand {
    /// Reads `build = "TOOL ARGS…"`: the words are split at white space
    /// (no shell quoting), the first is `gradle` or `maven`, and at least one
    /// argument follows. Errors name the key and the value.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let mut words = text.split_whitespace();
        let Some(first) = words.next() else {
            return Err(format!("[image] build is empty (hint: {BUILD_HINT})"));
        };
        let tool = match first {
            "gradle" => BuildTool::Gradle,
            "maven" => BuildTool::Maven,
            other => {
                return Err(format!(
                    "[image] build {text:?}: unknown build tool {other:?} (hint: {BUILD_HINT})"
                ))
            }
        };
        let args: Vec<String> = words.map(str::to_string).collect();
        if args.is_empty() {
            return Err(format!(
                "[image] build {text:?}: say what {first} should run (hint: e.g. build = \"{}\")",
                match tool {
                    BuildTool::Gradle => "gradle bootJar",
                    BuildTool::Maven => "maven package -DskipTests",
                }
            ));
        }
        if let Some(quoted) = args.iter().find(|a| a.contains(['"', '\''])) {
            return Err(format!(
                "[image] build {text:?}: {quoted} has quotes, but the arguments are split at spaces, not by a shell (hint: write each argument without quotes or spaces)"
            ));
        }
        Ok(Self { tool, args })
    }

    /// The older `gradle-task = "TASK"`: `gradle TASK`, the task passed as
    /// one argument, as it always was.
    pub fn gradle_task(task: &str) -> std::result::Result<Self, String> {
        if task.trim().is_empty() {
            return Err(
                "[image] gradle-task is empty (hint: e.g. gradle-task = \"bootJar\", or build = \"gradle bootJar\")".into(),
            );
        }
        Ok(Self {
            tool: BuildTool::Gradle,
            args: vec![task.to_string()],
        })
    }

    /// The arguments the program gets: as written, with `-B` first for
    /// Maven unless batch mode is asked for already (so no prompt or
    /// progress animation ends up in a CI log).
    pub fn arguments(&self) -> Vec<String> {
        let mut args = self.args.clone();
        let batch = args.iter().any(|a| a == "-B" || a == "--batch-mode");
        if self.tool == BuildTool::Maven && !batch {
            args.insert(0, "-B".into());
        }
        args
    }

    /// The program to run in `dir` (the directory of hoist.toml): the
    /// project's wrapper when it has one, else the tool found on `path`
    /// (the value of `PATH`). Neither is a usage error with a hint.
    pub fn locate(&self, dir: &Path, path: Option<&OsStr>) -> Result<LocatedBuild> {
        let tool = self.tool;
        let wrapper = dir.join(tool.wrapper());
        let (program, shown) = if wrapper.is_file() {
            if !is_executable(&wrapper) {
                return Err(usage_hint(
                    format!("{}: not executable", wrapper.display()),
                    format!(
                        "chmod +x {0} (and git update-index --chmod=+x {0} to keep it so)",
                        tool.wrapper()
                    ),
                ));
            }
            let absolute = std::fs::canonicalize(&wrapper).unwrap_or(wrapper);
            (absolute, format!("./{}", tool.wrapper()))
        } else if let Some(found) = find_on_path(tool.program(), path) {
            (found, tool.program().to_string())
        } else {
            return Err(usage_hint(
                format!(
                    "build {:?}: no ./{} in {} and no {} on PATH",
                    format!("{} {}", tool.word(), self.args.join(" ")),
                    tool.wrapper(),
                    dir.display(),
                    tool.program()
                ),
                match tool {
                    BuildTool::Gradle => "add the Gradle wrapper (gradle wrapper) or install Gradle; or remove build from hoist.toml and build the jar first",
                    BuildTool::Maven => "add the Maven wrapper (mvn wrapper:wrapper) or install Maven; or remove build from hoist.toml and build the jar first",
                },
            ));
        };
        Ok(LocatedBuild {
            program,
            shown,
            args: self.arguments(),
            dir: dir.to_path_buf(),
        })
    }
}

/// A build ready to run: which program, with which arguments, where.
#[derive(Clone, Debug)]
pub struct LocatedBuild {
    /// The program, by absolute path (or as found on PATH).
    pub program: PathBuf,
    /// How the program is shown (`./mvnw`, `mvn`).
    pub shown: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Where it runs.
    pub dir: PathBuf,
}

impl fmt::Display for LocatedBuild {
    /// `./mvnw -B package -DskipTests`: the command as it is run.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)?;
        for arg in &self.args {
            if arg.is_empty() || arg.contains(char::is_whitespace) {
                write!(f, " '{arg}'")?;
            } else {
                write!(f, " {arg}")?;
            }
        }
        Ok(())
    }
}

impl LocatedBuild {
    /// Runs the build and waits for it. Its output goes to stderr, so
    /// that stdout carries only hoist's result. A build that fails is an
    /// error naming the command and how it ended.
    pub fn run(&self) -> Result<()> {
        let status = Command::new(&self.program)
            .args(&self.args)
            .current_dir(&self.dir)
            .stdout(Stdio::from(std::io::stderr()))
            .status()
            .with_context(|| format!("running {self}"))?;
        if !status.success() {
            anyhow::bail!(
                "build failed: {self} {} (its output is above)",
                ending(status)
            );
        }
        Ok(())
    }
}

/// `exited with status 3`, `was killed by signal 9`.
fn ending(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => format!("ended: {status}"),
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The first executable `name` in the directories of `path` (PATH's value).
fn find_on_path(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn parsed(text: &str) -> BuildCommand {
        BuildCommand::parse(text).unwrap()
    }

    #[test]
    fn the_first_word_names_the_tool_and_the_rest_are_its_arguments() {
        let gradle = parsed("gradle bootJar");
        assert_eq!(gradle.tool, BuildTool::Gradle);
        assert_eq!(gradle.arguments(), ["bootJar"]);
        let maven = parsed("  maven   package -DskipTests ");
        assert_eq!(maven.tool, BuildTool::Maven);
        assert_eq!(maven.args, ["package", "-DskipTests"]);
        assert_eq!(maven.arguments(), ["-B", "package", "-DskipTests"]);
    }

    #[test]
    fn maven_gets_batch_mode_once() {
        assert_eq!(parsed("maven -B verify").arguments(), ["-B", "verify"]);
        assert_eq!(
            parsed("maven verify --batch-mode").arguments(),
            ["verify", "--batch-mode"]
        );
        // Gradle has no such flag.
        assert_eq!(
            parsed("gradle clean bootJar").arguments(),
            ["clean", "bootJar"]
        );
    }

    #[test]
    fn bad_values_say_what_to_write() {
        let err = BuildCommand::parse("ant jar").unwrap_err();
        assert!(
            err.contains("\"ant\"") && err.contains("gradle") && err.contains("maven"),
            "{err}"
        );
        let err = BuildCommand::parse("Maven package").unwrap_err();
        assert!(err.contains("unknown build tool \"Maven\""), "{err}");
        let err = BuildCommand::parse("   ").unwrap_err();
        assert!(err.contains("empty"), "{err}");
        let err = BuildCommand::parse("maven").unwrap_err();
        assert!(err.contains("maven package"), "{err}");
        let err = BuildCommand::parse("maven package -Dx=\"a b\"").unwrap_err();
        assert!(err.contains("quotes"), "{err}");
        assert!(!err.contains('\n') && !BUILD_HINT.contains('\n'));
    }

    #[test]
    fn gradle_task_is_gradle_with_the_task_as_one_argument() {
        assert_eq!(
            BuildCommand::gradle_task("bootJar").unwrap(),
            parsed("gradle bootJar")
        );
        assert!(BuildCommand::gradle_task(" ")
            .unwrap_err()
            .contains("gradle-task is empty"));
    }

    #[test]
    fn default_globs_and_guesses() {
        assert_eq!(BuildTool::Gradle.default_jar_glob(), "build/libs/*.jar");
        assert_eq!(BuildTool::Maven.default_jar_glob(), "target/*.jar");
        assert_eq!(BuildTool::guess_from_glob("target/*.jar"), BuildTool::Maven);
        assert_eq!(
            BuildTool::guess_from_glob("./target/app.jar"),
            BuildTool::Maven
        );
        assert_eq!(
            BuildTool::guess_from_glob("build/libs/*.jar"),
            BuildTool::Gradle
        );
    }

    fn script(path: &Path, mode: u32) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn the_wrapper_wins_over_the_tool_on_path() {
        let project = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        script(&bin.path().join("mvn"), 0o755);
        let path = std::env::join_paths([Path::new("/nonexistent"), bin.path()]).unwrap();
        let maven = parsed("maven package");

        let located = maven.locate(project.path(), Some(&path)).unwrap();
        assert_eq!(located.program, bin.path().join("mvn"));
        assert_eq!(located.to_string(), "mvn -B package");

        script(&project.path().join("mvnw"), 0o755);
        let located = maven.locate(project.path(), Some(&path)).unwrap();
        assert!(located.program.is_absolute() && located.program.ends_with("mvnw"));
        assert_eq!(located.to_string(), "./mvnw -B package");
        assert_eq!(located.dir, project.path());
    }

    #[test]
    fn no_wrapper_and_nothing_on_path_is_a_usage_error() {
        let project = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        // Not executable: not a candidate.
        script(&bin.path().join("gradle"), 0o644);
        let err = parsed("gradle bootJar")
            .locate(project.path(), Some(bin.path().as_os_str()))
            .unwrap_err();
        let text = crate::error::one_line(&err);
        assert_eq!(crate::error::exit_code(&err), crate::error::EXIT_USAGE);
        assert!(
            text.contains("no ./gradlew") && text.contains("no gradle on PATH"),
            "{text}"
        );
        assert!(text.contains("hint: add the Gradle wrapper"), "{text}");
        let err = parsed("gradle bootJar")
            .locate(project.path(), None)
            .unwrap_err();
        assert!(crate::error::one_line(&err).contains("no gradle on PATH"));
    }

    #[test]
    fn a_wrapper_that_is_not_executable_says_chmod() {
        let project = tempfile::tempdir().unwrap();
        script(&project.path().join("gradlew"), 0o644);
        let err = parsed("gradle bootJar")
            .locate(project.path(), None)
            .unwrap_err();
        assert!(crate::error::one_line(&err).contains("chmod +x gradlew"));
    }

    #[test]
    fn a_failed_build_names_the_command_and_its_status() {
        let project = tempfile::tempdir().unwrap();
        std::fs::write(project.path().join("mvnw"), "#!/bin/sh\nexit 3\n").unwrap();
        std::fs::set_permissions(
            project.path().join("mvnw"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let located = parsed("maven package -DskipTests")
            .locate(project.path(), None)
            .unwrap();
        let err = located.run().unwrap_err();
        let text = crate::error::one_line(&err);
        assert_eq!(
            text,
            "build failed: ./mvnw -B package -DskipTests exited with status 3 (its output is above)"
        );
        assert_eq!(crate::error::exit_code(&err), crate::error::EXIT_FAILURE);
    }

    #[test]
    fn arguments_with_spaces_are_shown_quoted() {
        let located = LocatedBuild {
            program: "/p/gradlew".into(),
            shown: "./gradlew".into(),
            args: vec!["clean bootJar".into()],
            dir: ".".into(),
        };
        assert_eq!(located.to_string(), "./gradlew 'clean bootJar'");
    }
}
