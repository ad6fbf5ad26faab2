//! Deciding layers and the entrypoint for a jar: the [`JarPlan`].
//!
//! Layers run from least to most often changed so that a code change
//! re-uploads only the small top layers. This is pure decision-making over
//! the jar's central directory and manifest; no bytes are copied here.

use crate::error::{usage, usage_hint};
use crate::jar::archive::{JarArchive, JarEntry};
use crate::jar::index_files::{parse_layers_index, IndexedLayer};
use anyhow::Result;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Spring Boot launcher classes hoist recognises (Boot 2 and Boot 3.2+).
pub(crate) const BOOT_LAUNCHERS: &[&str] = &[
    "org.springframework.boot.loader.JarLauncher",
    "org.springframework.boot.loader.PropertiesLauncher",
    "org.springframework.boot.loader.launch.JarLauncher",
    "org.springframework.boot.loader.launch.PropertiesLauncher",
];

/// How the jar is laid out in the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Entries unpacked under the app root (Spring Boot jars only).
    Exploded,
    /// The jar shipped as a file, started with `java -jar`.
    Packaged,
    /// Spring Boot's extracted layout (Boot jars only): a thin `app.jar`
    /// naming its dependencies in `lib/`, started with `java -jar`.
    Extracted,
}

impl Mode {
    /// The name used by `--mode` and `hoist.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Exploded => "exploded",
            Mode::Packaged => "packaged",
            Mode::Extracted => "extracted",
        }
    }
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "exploded" => Ok(Mode::Exploded),
            "packaged" => Ok(Mode::Packaged),
            "extracted" => Ok(Mode::Extracted),
            _ => Err(format!(
                "unknown mode {text:?}: use exploded, extracted or packaged"
            )),
        }
    }
}

/// What sort of jar this is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum JarKind {
    /// A Spring Boot fat jar (`BOOT-INF/`).
    SpringBoot {
        /// The launcher named by `Main-Class`.
        launcher: String,
        /// True when the jar carries `BOOT-INF/layers.idx`.
        layers_index: bool,
    },
    /// A plain jar whose manifest `Class-Path` names jars beside it.
    ClassPath,
    /// An uber (shaded) jar: everything in one archive.
    Uber,
}

/// Where a planned file's bytes come from.
#[derive(Clone, Debug)]
pub enum FileSource {
    /// An entry of the jar.
    JarEntry {
        /// The jar.
        jar: Arc<PathBuf>,
        /// The entry's index.
        index: usize,
        /// The entry's CRC-32 (identifies the content for caching).
        crc32: u32,
    },
    /// A file on the host (the jar itself, or a `Class-Path` jar).
    HostFile(PathBuf),
    /// Bytes hoist wrote (the thin jar of the extracted layout).
    Bytes(Arc<[u8]>),
}

/// A file the plan puts in the image.
#[derive(Clone, Debug)]
pub struct PlannedFile {
    /// Absolute path in the image.
    pub dest: String,
    /// Size in bytes.
    pub size: u64,
    /// Where the bytes come from.
    pub source: FileSource,
    /// True when the file should be executable.
    pub executable: bool,
}

/// A layer of the plan.
#[derive(Clone, Debug)]
pub struct PlannedLayer {
    /// Layer name.
    pub name: String,
    /// Files, in no particular order (the image core sorts).
    pub files: Vec<PlannedFile>,
}

impl PlannedLayer {
    /// Total bytes of the layer's files.
    pub fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Options that shape a plan.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Exploded, extracted or packaged; `None` = exploded for Boot jars,
    /// packaged otherwise.
    pub mode: Option<Mode>,
    /// Where the app goes in the image (`/app`).
    pub app_root: String,
    /// JVM flags placed before the main class.
    pub jvm_flags: Vec<String>,
    /// Overrides the manifest's `Main-Class`.
    pub main_class: Option<String>,
    /// Arguments after the main class (the image's `Cmd`).
    pub args: Vec<String>,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            mode: None,
            app_root: "/app".into(),
            jvm_flags: Vec::new(),
            main_class: None,
            args: Vec::new(),
        }
    }
}

/// The decided layout of a jar in an image.
#[derive(Clone, Debug)]
pub struct JarPlan {
    /// The jar.
    pub jar: PathBuf,
    /// Its kind.
    pub kind: JarKind,
    /// Exploded, extracted or packaged.
    pub mode: Mode,
    /// Layers, bottom first; empty layers are left out.
    pub layers: Vec<PlannedLayer>,
    /// The image entrypoint.
    pub entrypoint: Vec<String>,
    /// The image's default arguments.
    pub cmd: Vec<String>,
    /// The working directory (the app root).
    pub working_dir: String,
    /// `Implementation-Title`, if the manifest has one.
    pub title: Option<String>,
    /// `Implementation-Version`, if the manifest has one.
    pub version: Option<String>,
}

/// Plans the image layout of the jar at `path`.
pub fn plan_jar(path: &Path, options: &PlanOptions) -> Result<JarPlan> {
    let jar = JarArchive::open(path)?;
    let root = options.app_root.trim_end_matches('/').to_string();
    if !root.starts_with('/') {
        return Err(usage(format!("app root {root:?} must be an absolute path")));
    }
    if jar.has_prefix("WEB-INF/") && !jar.has_prefix("BOOT-INF/") {
        return Err(usage_hint(
            format!("jar {}: a war file is not supported", path.display()),
            "build an executable jar (Gradle: bootJar)",
        ));
    }
    let main_class = jar.manifest.get("Main-Class").map(str::to_string);
    let is_boot = jar.has_prefix("BOOT-INF/")
        && (main_class
            .as_deref()
            .is_some_and(|m| BOOT_LAUNCHERS.contains(&m))
            || jar.manifest.get("Start-Class").is_some());
    let kind = if is_boot {
        JarKind::SpringBoot {
            launcher: main_class.clone().unwrap_or_default(),
            layers_index: jar.entries.iter().any(|e| e.name == "BOOT-INF/layers.idx"),
        }
    } else if jar.manifest.get("Class-Path").is_some() {
        JarKind::ClassPath
    } else {
        JarKind::Uber
    };
    let main = options.main_class.clone().or(main_class).ok_or_else(|| {
        usage_hint(
            format!(
                "jar {}: no Main-Class in META-INF/MANIFEST.MF",
                path.display()
            ),
            "set Main-Class in the jar's manifest or pass --main-class",
        )
    })?;
    let mode = match (options.mode, &kind) {
        (None, JarKind::SpringBoot { .. }) => Mode::Exploded,
        (None, _) | (Some(Mode::Packaged), _) => Mode::Packaged,
        (Some(mode), JarKind::SpringBoot { .. }) => mode,
        (Some(mode), _) => {
            return Err(usage_hint(
                format!(
                    "jar {}: --mode {} needs a Spring Boot jar",
                    path.display(),
                    mode.name()
                ),
                "plain and uber jars are shipped packaged; drop --mode",
            ))
        }
    };
    let mut java = vec!["java".to_string()];
    java.extend(options.jvm_flags.iter().cloned());
    let (layers, entrypoint) = match (&kind, mode) {
        (JarKind::SpringBoot { .. }, Mode::Exploded) => {
            let layers = boot_exploded_layers(&jar, &root)?;
            let classpath = if options.main_class.is_some() {
                format!("{root}/BOOT-INF/classes:{root}/BOOT-INF/lib/*")
            } else {
                root.clone()
            };
            java.extend(["-cp".into(), classpath, main]);
            (layers, java)
        }
        (JarKind::SpringBoot { .. }, Mode::Extracted) => {
            let layers = boot_extracted_layers(&jar, &root, options.main_class.as_deref())?;
            java.extend(["-jar".into(), format!("{root}/{EXTRACTED_JAR}")]);
            (layers, java)
        }
        (JarKind::ClassPath, _) => {
            let (layers, files) = class_path_layers(&jar, &root)?;
            if options.main_class.is_some() {
                java.extend(["-cp".into(), files.join(":"), main]);
            } else {
                java.extend(["-jar".into(), files[0].clone()]);
            }
            (layers, java)
        }
        _ => {
            let dest = format!("{root}/app.jar");
            let layer = PlannedLayer {
                name: "application".into(),
                files: vec![PlannedFile {
                    dest: dest.clone(),
                    size: jar.file_size,
                    source: FileSource::HostFile(jar.path.to_path_buf()),
                    executable: false,
                }],
            };
            if options.main_class.is_some() {
                java.extend(["-cp".into(), dest, main]);
            } else {
                java.extend(["-jar".into(), dest]);
            }
            (vec![layer], java)
        }
    };
    Ok(JarPlan {
        jar: jar.path.to_path_buf(),
        kind,
        mode,
        layers: layers.into_iter().filter(|l| !l.files.is_empty()).collect(),
        entrypoint,
        cmd: options.args.clone(),
        working_dir: root,
        title: jar.manifest.get("Implementation-Title").map(str::to_string),
        version: jar
            .manifest
            .get("Implementation-Version")
            .map(str::to_string),
    })
}

/// Boot jar, exploded: `layers.idx` order when present, else hoist's default.
fn boot_exploded_layers(jar: &JarArchive, root: &str) -> Result<Vec<PlannedLayer>> {
    let index = match jar.read_entry("BOOT-INF/layers.idx")? {
        Some(text) => Some(parse_layers_index(&text).map_err(|why| {
            usage(format!(
                "jar {}: BOOT-INF/layers.idx: {why}",
                jar.path.display()
            ))
        })?),
        None => None,
    };
    let layer_names: Vec<String> = match &index {
        Some(layers) => layers.iter().map(|l| l.name.clone()).collect(),
        None => DEFAULT_BOOT_LAYERS.iter().map(|s| s.to_string()).collect(),
    };
    let mut layers: Vec<PlannedLayer> = layer_names
        .into_iter()
        .map(|name| PlannedLayer {
            name,
            files: Vec::new(),
        })
        .collect();
    for entry in jar.entries.iter().filter(|e| !e.is_dir) {
        let slot = match &index {
            Some(indexed) => indexed_layer_of(indexed, &entry.name),
            None => default_boot_layer_of(&entry.name),
        };
        layers[slot].files.push(jar_file(jar, entry, root));
    }
    Ok(layers)
}

/// The thin jar's name under the app root in the extracted layout.
pub(crate) const EXTRACTED_JAR: &str = "app.jar";

/// Boot jar, extracted: each dependency jar to `lib/` in the layer
/// `layers.idx` (or hoist's default) gives it, the thin jar to the layer of
/// the application's classes; the loader is not needed and left out.
fn boot_extracted_layers(
    jar: &JarArchive,
    root: &str,
    main_override: Option<&str>,
) -> Result<Vec<PlannedLayer>> {
    let mut layers = boot_exploded_layers(jar, root)?;
    let classes_slot = layers
        .iter()
        .position(|l| {
            l.files
                .iter()
                .any(|f| f.dest.starts_with(&format!("{root}/BOOT-INF/classes/")))
        })
        .unwrap_or(layers.len() - 1);
    let slot_of: std::collections::HashMap<String, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, l)| l.files.iter().map(move |f| (f.dest.clone(), i)))
        .collect();
    for layer in &mut layers {
        layer.files.clear();
    }
    let start_class = crate::jar::thin::start_class(jar, main_override)?;
    let libs = crate::jar::thin::dependency_jars(jar)?;
    let mut lib_names = Vec::with_capacity(libs.len());
    for name in &libs {
        let entry = jar
            .entries
            .iter()
            .find(|e| &e.name == name)
            .expect("dependency_jars lists entries of the jar");
        let file_name = &name[crate::jar::thin::LIB.len()..];
        if file_name.contains('/') {
            return Err(usage(format!(
                "jar {}: {name} is in a subdirectory of BOOT-INF/lib/, which the extracted layout does not have",
                jar.path.display()
            )));
        }
        let slot = slot_of[&format!("{root}/{name}")];
        let mut file = jar_file(jar, entry, root);
        file.dest = format!("{root}/lib/{file_name}");
        file.executable = false;
        layers[slot].files.push(file);
        lib_names.push(file_name.to_string());
    }
    let thin = crate::jar::thin::thin_jar(jar, &lib_names, &start_class)?;
    layers[classes_slot].files.push(PlannedFile {
        dest: format!("{root}/{EXTRACTED_JAR}"),
        size: thin.len() as u64,
        source: FileSource::Bytes(Arc::from(thin)),
        executable: false,
    });
    Ok(layers)
}

/// The layers hoist uses for a Boot jar without `layers.idx`.
const DEFAULT_BOOT_LAYERS: &[&str] = &[
    "dependencies",
    "spring-boot-loader",
    "snapshot-dependencies",
    "resources",
    "classes",
];

fn default_boot_layer_of(name: &str) -> usize {
    if let Some(lib) = name.strip_prefix("BOOT-INF/lib/") {
        if is_snapshot(lib) {
            2
        } else {
            0
        }
    } else if name.starts_with("org/springframework/boot/loader/") {
        1
    } else if name.starts_with("BOOT-INF/classes/") && name.ends_with(".class") {
        4
    } else {
        3
    }
}

/// The first indexed layer an entry belongs to; unlisted entries go to the last.
fn indexed_layer_of(layers: &[IndexedLayer], name: &str) -> usize {
    layers
        .iter()
        .position(|l| l.contains(name))
        .unwrap_or(layers.len() - 1)
}

fn is_snapshot(file_name: &str) -> bool {
    file_name.contains("-SNAPSHOT")
}

fn jar_file(jar: &JarArchive, entry: &JarEntry, root: &str) -> PlannedFile {
    PlannedFile {
        dest: format!("{root}/{}", entry.name),
        size: entry.size,
        source: FileSource::JarEntry {
            jar: jar.path.clone(),
            index: entry.index,
            crc32: entry.crc32,
        },
        executable: entry.executable,
    }
}

/// Plain jar + `Class-Path`: dependencies, snapshot dependencies, the jar.
/// Returns the layers and the image paths of the jar and its class path.
fn class_path_layers(jar: &JarArchive, root: &str) -> Result<(Vec<PlannedLayer>, Vec<String>)> {
    let base_dir = jar.path.parent().unwrap_or(Path::new("/")).to_path_buf();
    let jar_name = jar
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "app.jar".into());
    let app_dest = format!("{root}/{jar_name}");
    let mut deps = PlannedLayer {
        name: "dependencies".into(),
        files: Vec::new(),
    };
    let mut snapshots = PlannedLayer {
        name: "snapshot-dependencies".into(),
        files: Vec::new(),
    };
    let mut image_paths = vec![app_dest.clone()];
    let class_path = jar.manifest.get("Class-Path").unwrap_or_default();
    for item in class_path.split_whitespace() {
        let relative = class_path_item(item).map_err(|why| {
            usage(format!(
                "jar {}: Class-Path entry {item:?} {why}",
                jar.path.display()
            ))
        })?;
        let host = base_dir.join(&relative);
        let meta = std::fs::metadata(&host).map_err(|_| {
            usage_hint(
                format!(
                    "jar {}: Class-Path names {item}, but {} does not exist",
                    jar.path.display(),
                    host.display()
                ),
                "point --jar at the jar inside the installDist output (build/install/APP/lib/)",
            )
        })?;
        if meta.is_dir() {
            continue;
        }
        let dest = format!("{root}/{relative}");
        if image_paths.contains(&dest) {
            continue;
        }
        image_paths.push(dest.clone());
        let file = PlannedFile {
            dest,
            size: meta.len(),
            source: FileSource::HostFile(host),
            executable: false,
        };
        if is_snapshot(&relative) {
            snapshots.files.push(file);
        } else {
            deps.files.push(file);
        }
    }
    let app = PlannedLayer {
        name: "application".into(),
        files: vec![PlannedFile {
            dest: app_dest,
            size: jar.file_size,
            source: FileSource::HostFile(jar.path.to_path_buf()),
            executable: false,
        }],
    };
    Ok((vec![deps, snapshots, app], image_paths))
}

/// Checks a `Class-Path` item: a relative path that stays beside the jar.
fn class_path_item(item: &str) -> Result<String, &'static str> {
    if item.contains("://") || item.starts_with("file:") {
        return Err("is a URL; only relative paths are supported");
    }
    let decoded = item.replace("%20", " ");
    if decoded.starts_with('/') {
        return Err("is an absolute path");
    }
    let parts: Vec<&str> = decoded
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err("leaves the jar's directory with '..'");
    }
    if parts.is_empty() {
        return Err("is empty");
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_boot_layers() {
        assert_eq!(default_boot_layer_of("BOOT-INF/lib/a-1.0.jar"), 0);
        assert_eq!(default_boot_layer_of("BOOT-INF/lib/a-1.0-SNAPSHOT.jar"), 2);
        assert_eq!(
            default_boot_layer_of("org/springframework/boot/loader/JarLauncher.class"),
            1
        );
        assert_eq!(default_boot_layer_of("BOOT-INF/classes/app.yml"), 3);
        assert_eq!(default_boot_layer_of("META-INF/MANIFEST.MF"), 3);
        assert_eq!(default_boot_layer_of("BOOT-INF/classes/a/B.class"), 4);
    }

    #[test]
    fn class_path_items() {
        assert_eq!(class_path_item("lib/a.jar").unwrap(), "lib/a.jar");
        assert_eq!(class_path_item("./a%20b.jar").unwrap(), "a b.jar");
        assert!(class_path_item("../a.jar").is_err());
        assert!(class_path_item("/a.jar").is_err());
        assert!(class_path_item("http://x/a.jar").is_err());
    }
}
