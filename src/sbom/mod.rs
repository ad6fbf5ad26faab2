//! The SBOM of a JVM app: a CycloneDX 1.6 JSON document listing every jar
//! on the app's class path, exactly.
//!
//! Exact means: each jar's SHA-256 and SHA-1 are of its real bytes, and its
//! Maven coordinates come from its own `pom.properties` or from a file with
//! the same SHA-1 in the local Maven repository — a jar matching neither is
//! listed by file name and hashes with `hoist:coordinates` = `unknown`,
//! never guessed from its name. The same inputs give the same bytes, so an
//! image rebuilt from the same inputs carries the same SBOM.
//!
//! [`cyclonedx`] builds the document from plain inputs (pure); [`jars`]
//! reads an app jar's classpath jars; [`identity`] and [`license`] decide
//! what a jar is and what its manifest declares; [`uuid`] makes the serial
//! number. Files only: reading the SBOM an image carries as a referrer
//! belongs with the destinations (`attached_sbom`).

pub mod cyclonedx;
pub mod identity;
pub mod jars;
pub mod license;
pub mod uuid;

pub use cyclonedx::{AppComponent, BaseImage, Bom, Jdk, LibraryJar, SbomInputs};
pub use identity::{Coordinates, Identity, MavenRepository};

use anyhow::Result;
use std::path::{Path, PathBuf};

/// What `hoist sbom JAR` needs besides the jar.
#[derive(Clone, Debug)]
pub struct JarSbomOptions {
    /// The local Maven repository searched for jars without pom.properties
    /// (`None`: none, so such jars stay unknown).
    pub maven_repository: Option<PathBuf>,
    /// `metadata.timestamp`, RFC 3339.
    pub timestamp: String,
}

/// The local Maven repository's usual place, `~/.m2/repository`.
pub fn default_maven_repository() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|home| PathBuf::from(home).join(".m2/repository"))
}

/// The SBOM of a jar alone: its serial number derives from the jar's
/// SHA-256 (`sha256:<hex>`), and it has no base image or JDK.
pub fn jar_sbom(jar: &Path, options: &JarSbomOptions) -> Result<Bom> {
    let repository = MavenRepository::new(options.maven_repository.clone().unwrap_or_default());
    let read = jars::read_app_jar(jar, &repository)?;
    let subject = format!("sha256:{}", read.app.sha256);
    Ok(cyclonedx::build(&SbomInputs {
        subject,
        timestamp: options.timestamp.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        app: read.app,
        libraries: read.libraries,
        base_image: None,
        jdk: None,
    }))
}
