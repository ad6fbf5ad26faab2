//! The real Spring Boot apps of `testdata/spring/` (see its README), built
//! with Maven once per test process, and a reader of the index their
//! `spring-boot-maven-plugin` writes (`BOOT-INF/layers.idx`).
//!
//! * [`App::jar`] copies the app's Maven project (without any `target/`)
//!   into a directory of this test process under the temp dir, runs `mvn -B
//!   -q package -DskipTests` there and returns the repackaged jar: the
//!   source tree stays clean, and test processes never build in each
//!   other's directories. Maven uses the normal `~/.m2` repository and runs
//!   offline (`-o`) first; only when that fails (a cold repository) does it
//!   build again online, saying so on stderr. Each app is built at most
//!   once per process (one `OnceLock` each); a failed build fails every
//!   test that asked for it.
//! * [`layers_index`] reads `BOOT-INF/layers.idx` out of a jar, and
//!   [`layer_of`] says which of its layers an entry belongs to (the first
//!   whose entries name it, a name ending in `/` being a prefix).
//! * [`jar_files`] lists a jar's files (not its directories) with their
//!   sizes.
//!
//! Needs `mvn` (`apt-get install maven`) and a JDK 17.

#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const INSTALL: &str = "install Maven (apt-get install maven)";

/// One app of `testdata/spring/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum App {
    /// Spring Boot 3.5, default layering.
    Boot35,
    /// Spring Boot 4.0, default layering.
    Boot40,
    /// Boot 3.5 reactor: `greeting-lib` (1.1.0-SNAPSHOT) and `app`.
    MultiModule,
    /// Boot 3.5 reactor with five layers of its own (`company-dependencies`).
    CustomLayers,
    /// Boot 3.5 reactor whose `shadow-a` and `shadow-b` hold the same class
    /// (`GET /which` names the copy loaded).
    ClassOrder,
}

impl App {
    /// Every app.
    pub const ALL: [App; 5] = [
        App::Boot35,
        App::Boot40,
        App::MultiModule,
        App::CustomLayers,
        App::ClassOrder,
    ];

    /// Its `spring.application.name`, which `/hello` answers with.
    pub fn name(self) -> &'static str {
        match self {
            App::Boot35 => "boot35",
            App::Boot40 => "boot40",
            App::MultiModule => "multimodule",
            App::CustomLayers => "customlayers",
            App::ClassOrder => "classorder",
        }
    }

    /// Its version (the pom's), which `/hello` answers with.
    pub fn version(self) -> &'static str {
        "1.0.0"
    }

    /// The Maven project directory under `testdata/spring/` (the reactor's
    /// parent for the two multi-module apps).
    fn project(self) -> &'static str {
        self.name()
    }

    /// The repackaged jar, relative to the project directory.
    fn jar_in_project(self) -> &'static str {
        match self {
            App::Boot35 => "target/boot35-1.0.0.jar",
            App::Boot40 => "target/boot40-1.0.0.jar",
            App::MultiModule | App::CustomLayers | App::ClassOrder => "app/target/app-1.0.0.jar",
        }
    }

    /// The app's jar, built with Maven the first time any test of this
    /// process asks for it.
    #[track_caller]
    pub fn jar(self) -> PathBuf {
        static BUILT: [OnceLock<PathBuf>; 5] = [
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
            OnceLock::new(),
        ];
        let slot = App::ALL.iter().position(|a| *a == self).unwrap();
        BUILT[slot].get_or_init(|| self.build()).clone()
    }

    #[track_caller]
    fn build(self) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/spring")
            .join(self.project());
        let project = process_dir().join(self.project());
        if project.exists() {
            std::fs::remove_dir_all(&project).unwrap();
        }
        copy_project(&source, &project);
        let started = std::time::Instant::now();
        let offline = mvn(&project, true);
        if !offline.status.success() {
            eprintln!(
                "spring fixture {}: the offline Maven build failed (a cold ~/.m2?); building online, which downloads from Maven Central",
                self.name()
            );
            let online = mvn(&project, false);
            assert!(
                online.status.success(),
                "mvn -B -q package -DskipTests in {} failed ({}), offline and online.\n--- offline ---\n{}\n--- online ---\n{}",
                project.display(),
                online.status,
                output_tail(&offline),
                output_tail(&online)
            );
        }
        let jar = project.join(self.jar_in_project());
        assert!(
            jar.is_file(),
            "Maven built {} but left no {}",
            self.name(),
            jar.display()
        );
        eprintln!(
            "spring fixture {}: built with Maven in {:.1} s",
            self.name(),
            started.elapsed().as_secs_f64()
        );
        jar
    }
}

/// `mvn -B -q [-o] package -DskipTests` in `project`.
#[track_caller]
fn mvn(project: &Path, offline: bool) -> Output {
    let mut command = Command::new("mvn");
    command.args(["-B", "-q"]);
    if offline {
        command.arg("-o");
    }
    command
        .args(["package", "-DskipTests", "-Dstyle.color=never"])
        .current_dir(project)
        .stdin(Stdio::null());
    match command.output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("`mvn` is not installed; {INSTALL}")
        }
        Err(e) => panic!("cannot run mvn ({e}); {INSTALL}"),
    }
}

/// The last 60 lines of what a command printed.
fn output_tail(output: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// This process's build directory, `TMPDIR/hoist-spring-PID`, made on
/// first use; those of processes that are gone are removed then.
fn process_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let temp = std::env::temp_dir();
        let own = std::process::id();
        for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .and_then(|n| n.strip_prefix("hoist-spring-"))
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid != own && !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        let dir = temp.join(format!("hoist-spring-{own}"));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// Copies a Maven project tree, leaving out every `target/`.
fn copy_project(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in
        std::fs::read_dir(from).unwrap_or_else(|e| panic!("reading {}: {e}", from.display()))
    {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            if entry.file_name() != "target" {
                copy_project(&entry.path(), &target);
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// BOOT-INF/layers.idx
// ---------------------------------------------------------------------------------------------

/// One layer of `layers.idx`: its name and its entries (names, or
/// prefixes when they end in `/`), in the file's order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexLayer {
    /// The layer's name.
    pub name: String,
    /// Entry names and prefixes.
    pub entries: Vec<String>,
}

impl IndexLayer {
    /// Whether jar entry `name` is this layer's.
    pub fn holds(&self, name: &str) -> bool {
        self.entries.iter().any(|entry| {
            if entry.ends_with('/') {
                name.starts_with(entry.as_str())
            } else {
                name == entry
            }
        })
    }
}

/// Parses the text of `layers.idx`:
///
/// ```text
/// - "dependencies":
///   - "BOOT-INF/lib/"
/// - "application":
///   - "BOOT-INF/classes/"
/// ```
#[track_caller]
pub fn parse_layers_index(text: &str) -> Vec<IndexLayer> {
    let quoted = |s: &str| -> String {
        s.strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or_else(|| panic!("layers.idx: {s:?} is not quoted"))
            .to_string()
    };
    let mut layers: Vec<IndexLayer> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(entry) = line.strip_prefix("  - ") {
            layers
                .last_mut()
                .unwrap_or_else(|| panic!("layers.idx: entry {line:?} before any layer"))
                .entries
                .push(quoted(entry));
        } else if let Some(layer) = line.strip_prefix("- ") {
            let name = layer
                .strip_suffix(':')
                .unwrap_or_else(|| panic!("layers.idx: layer line {line:?} lacks its ':'"));
            layers.push(IndexLayer {
                name: quoted(name),
                entries: Vec::new(),
            });
        } else {
            panic!("layers.idx: unexpected line {line:?}");
        }
    }
    layers
}

/// The layers of the jar's `BOOT-INF/layers.idx`.
#[track_caller]
pub fn layers_index(jar: &Path) -> Vec<IndexLayer> {
    let mut archive = open_jar(jar);
    let mut entry = archive
        .by_name("BOOT-INF/layers.idx")
        .unwrap_or_else(|e| panic!("{}: no BOOT-INF/layers.idx ({e})", jar.display()));
    let mut text = String::new();
    entry.read_to_string(&mut text).unwrap();
    parse_layers_index(&text)
}

/// The index of the first layer holding entry `name`.
pub fn layer_of(index: &[IndexLayer], name: &str) -> Option<usize> {
    index.iter().position(|layer| layer.holds(name))
}

/// The jar's files (directories left out), name and uncompressed size, in
/// the jar's order.
#[track_caller]
pub fn jar_files(jar: &Path) -> Vec<(String, u64)> {
    let mut archive = open_jar(jar);
    (0..archive.len())
        .map(|i| {
            let entry = archive.by_index_raw(i).unwrap();
            (
                entry.name().unwrap().to_string(),
                entry.size(),
                entry.is_dir(),
            )
        })
        .filter(|(_, _, dir)| !dir)
        .map(|(name, size, _)| (name, size))
        .collect()
}

#[track_caller]
fn open_jar(jar: &Path) -> zip::ZipArchive<std::fs::File> {
    let file =
        std::fs::File::open(jar).unwrap_or_else(|e| panic!("opening {}: {e}", jar.display()));
    zip::ZipArchive::new(file).unwrap_or_else(|e| panic!("reading {}: {e}", jar.display()))
}
