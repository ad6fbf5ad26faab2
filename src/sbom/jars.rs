//! Reading an app jar for its SBOM: the jar's own identity and its
//! classpath jars' bytes — a Spring Boot jar's `BOOT-INF/lib/*.jar` (in
//! class path order), or the jars a plain jar's `Class-Path` names beside it
//! — each hashed (SHA-256, SHA-1) and opened for its `pom.properties` and
//! `Bundle-License`. Reads files; no network.

use crate::jar::archive::JarArchive;
use crate::jar::manifest::JarManifest;
use crate::jar::plan::{plan_jar, FileSource, JarKind, Mode, PlanOptions};
use crate::jar::thin::dependency_jars;
use crate::sbom::cyclonedx::{AppComponent, LibraryJar};
use crate::sbom::identity::{self, Coordinates, Identity, MavenRepository};
use crate::sbom::license;
use anyhow::{Context, Result};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::io::{Cursor, Read, Seek};
use std::path::Path;

/// An app jar, read.
#[derive(Clone, Debug)]
pub struct AppJar {
    /// The application component.
    pub app: AppComponent,
    /// Its classpath jars, identified.
    pub libraries: Vec<LibraryJar>,
}

/// What one classpath jar holds that the SBOM needs.
struct JarFacts {
    manifest: JarManifest,
    /// (entry name, text) of each `META-INF/maven/*/*/pom.properties`.
    pom_properties: Vec<(String, String)>,
}

/// Reads `path`, hashes and identifies every classpath jar (through
/// `repository` when a jar carries no usable pom.properties).
pub fn read_app_jar(path: &Path, repository: &MavenRepository) -> Result<AppJar> {
    let archive = JarArchive::open(path)?;
    let open = || {
        std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .with_context(|| format!("opening {}", path.display()))
    };
    let mut hasher = Sha256::new();
    std::io::copy(&mut open()?, &mut hasher)
        .with_context(|| format!("reading {}", path.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let own = facts_of(open()?).with_context(|| format!("reading jar {}", path.display()))?;
    let app = app_component(
        &file_name,
        &archive.manifest,
        &own,
        hex::encode(hasher.finalize()),
    );

    let mut found: Vec<(String, Vec<u8>)> = Vec::new();
    if archive.has_prefix("BOOT-INF/") {
        let mut zip = zip::ZipArchive::new(open()?)
            .with_context(|| format!("reading jar {}", path.display()))?;
        for name in dependency_jars(&archive)? {
            let mut inner = Vec::new();
            zip.by_name(&name)
                .and_then(|mut e| e.read_to_end(&mut inner).map_err(Into::into))
                .with_context(|| format!("reading {name} of {}", path.display()))?;
            found.push((name, inner));
        }
    } else if archive.manifest.get("Class-Path").is_some() {
        // The plan resolves and checks Class-Path; its entrypoint is not
        // used, so a main class is named for a library jar that has none.
        let options = PlanOptions {
            mode: Some(Mode::Packaged),
            main_class: Some("sbom".into()),
            ..PlanOptions::default()
        };
        let plan = plan_jar(path, &options)?;
        if plan.kind == JarKind::ClassPath {
            let base = archive
                .path
                .parent()
                .unwrap_or(Path::new("/"))
                .to_path_buf();
            for layer in &plan.layers {
                for file in &layer.files {
                    let FileSource::HostFile(host) = &file.source else {
                        continue;
                    };
                    if host.as_path() == archive.path.as_path() {
                        continue;
                    }
                    let relative = host
                        .strip_prefix(&base)
                        .unwrap_or(host)
                        .to_string_lossy()
                        .into_owned();
                    let inner = std::fs::read(host)
                        .with_context(|| format!("reading Class-Path jar {}", host.display()))?;
                    found.push((relative, inner));
                }
            }
        }
    }

    let mut libraries = Vec::with_capacity(found.len());
    for (jar_path, inner) in found {
        libraries.push(
            library(&jar_path, &inner, repository)
                .with_context(|| format!("jar {}: {jar_path}", path.display()))?,
        );
    }
    Ok(AppJar { app, libraries })
}

/// Hashes and identifies one classpath jar.
fn library(jar_path: &str, bytes: &[u8], repository: &MavenRepository) -> Result<LibraryJar> {
    let file_name = jar_path.rsplit('/').next().unwrap_or(jar_path).to_string();
    let sha256 = hex::encode(Sha256::digest(bytes));
    let sha1 = hex::encode(Sha1::digest(bytes));
    // A classpath entry that is not a zip is still a file on the class path:
    // hashed, never identified.
    let facts = facts_of(Cursor::new(bytes)).ok();
    let identity = match facts
        .as_ref()
        .and_then(|f| identity::from_pom_properties(&file_name, &f.pom_properties))
    {
        Some((coordinates, entry)) => Identity::PomProperties { coordinates, entry },
        None => {
            let hints = facts
                .as_ref()
                .map(|f| identity::manifest_hints(|name| f.manifest.get(name).map(str::to_string)))
                .unwrap_or_default();
            repository
                .find(&file_name, &hints, &sha1)?
                .unwrap_or(Identity::Unknown)
        }
    };
    let licenses = facts
        .as_ref()
        .and_then(|f| f.manifest.get("Bundle-License"))
        .map(license::from_bundle_license)
        .unwrap_or_default();
    Ok(LibraryJar {
        path: jar_path.to_string(),
        file_name,
        sha256,
        sha1,
        identity,
        licenses,
    })
}

/// The manifest and pom.properties of a jar's bytes.
fn facts_of<R: Read + Seek>(reader: R) -> Result<JarFacts> {
    let mut zip = zip::ZipArchive::new(reader)?;
    let mut manifest = JarManifest::default();
    let mut pom_properties = Vec::new();
    let names = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<Vec<String>, _>>()?;
    for name in names {
        let wanted_manifest = name == "META-INF/MANIFEST.MF";
        if !wanted_manifest && !identity::is_pom_properties(&name) {
            continue;
        }
        let mut text = String::new();
        zip.by_name(&name)?
            .read_to_string(&mut text)
            .with_context(|| format!("reading {name}"))?;
        if wanted_manifest {
            manifest = JarManifest::parse(&text);
        } else {
            pom_properties.push((name, text));
        }
    }
    pom_properties.sort();
    Ok(JarFacts {
        manifest,
        pom_properties,
    })
}

/// The app: coordinates from its own pom.properties, else the manifest's
/// `Implementation-Title`/`-Version`, else the file name.
fn app_component(
    file_name: &str,
    manifest: &JarManifest,
    own: &JarFacts,
    sha256: String,
) -> AppComponent {
    match identity::from_pom_properties(file_name, &own.pom_properties) {
        Some((coordinates, _)) => {
            let Coordinates {
                group,
                artifact,
                version,
            } = &coordinates;
            AppComponent {
                group: Some(group.clone()),
                name: artifact.clone(),
                version: Some(version.clone()),
                purl: Some(coordinates.purl()),
                sha256,
            }
        }
        None => AppComponent {
            group: None,
            name: manifest
                .get("Implementation-Title")
                .map(str::to_string)
                .unwrap_or_else(|| file_name.to_string()),
            version: manifest.get("Implementation-Version").map(str::to_string),
            purl: None,
            sha256,
        },
    }
}
