//! Attestations of a built image: its CycloneDX SBOM ([`crate::sbom`]) and
//! its SLSA provenance ([`crate::provenance`]), each an OCI 1.1 artifact
//! manifest whose `subject` is one platform's image manifest
//! ([`crate::image::artifact`]), handed to the registry client as
//! referrers. Which ones are made is [`Attestations`]; what they say comes
//! from the build, given here as plain facts.

use crate::error::usage_hint;
use crate::image::artifact::{self, ArtifactDocument};
use crate::image::assemble::Image;
use crate::image::Digest;
use crate::provenance::{self, ProvenanceInputs, Subject};
use crate::registry::referrers::Referrer;
use anyhow::Result;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The annotation that marks hoist's own attestations, `sbom` or
/// `provenance`: a re-run finds them by it and pushes nothing new.
pub(crate) const KIND_ANNOTATION: &str = "dev.hoist.attestation";

/// Which attestations a build attaches (`[image] attestations`,
/// `--attestations`); both by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attestations {
    /// The CycloneDX SBOM.
    pub sbom: bool,
    /// The SLSA provenance.
    pub provenance: bool,
}

impl Default for Attestations {
    fn default() -> Self {
        Self {
            sbom: true,
            provenance: true,
        }
    }
}

impl Attestations {
    /// None at all.
    pub fn none() -> Self {
        Self {
            sbom: false,
            provenance: false,
        }
    }

    /// True when at least one is made.
    pub fn any(self) -> bool {
        self.sbom || self.provenance
    }

    /// Reads a list of `sbom` and `provenance` (`none` alone: neither).
    pub fn parse<'a>(what: &str, items: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut chosen = Self::none();
        for item in items {
            match item.trim() {
                "sbom" => chosen.sbom = true,
                "provenance" => chosen.provenance = true,
                "none" | "" => {}
                other => {
                    return Err(usage_hint(
                        format!("{what}: unknown attestation {other:?}"),
                        "use sbom, provenance, both, or none",
                    ))
                }
            }
        }
        Ok(chosen)
    }
}

/// What the build knows that the documents record.
#[derive(Clone, Debug)]
pub struct AttestationFacts {
    /// The jar, as given.
    pub jar: PathBuf,
    /// The base image, as named.
    pub from: String,
    /// The base's manifest digest, when it has one.
    pub base_digest: Option<Digest>,
    /// The base's repository (`registry/repo`), when it came from one.
    pub base_repository: Option<String>,
    /// The JDK's `release` facts and home, when the build read them.
    pub jdk: Option<(String, BTreeMap<String, String>)>,
    /// The image's `created`.
    pub created: String,
    /// The layer compression, the jar's layout and the start-up archive.
    pub compression: String,
    /// `exploded`, `extracted`, `packaged`.
    pub mode: String,
    /// `none`, `cds`, `aot-cache`, `auto`.
    pub startup: String,
    /// The `hoist.toml` environment shipped, and the file's digest.
    pub environment: Option<String>,
    /// SHA-256 of `hoist.toml`.
    pub config_digest: Option<Digest>,
    /// The commit built, when known.
    pub git: Option<provenance::GitSource>,
    /// When this run started (RFC 3339).
    pub started_on: String,
}

/// The referrers of `image` (pushed to `repository`, e.g. `host/repo`).
pub(crate) fn referrers_for(
    image: &Image,
    repository: &str,
    platforms: &[String],
    chosen: Attestations,
    facts: &AttestationFacts,
) -> Result<Vec<Referrer>> {
    let subject = image.descriptor();
    let mut referrers = Vec::new();
    if chosen.sbom {
        let bytes = sbom_document(image, facts)?;
        referrers.push(referrer(
            ArtifactDocument {
                artifact_type: artifact::CYCLONEDX_JSON.to_string(),
                media_type: artifact::CYCLONEDX_JSON.to_string(),
                title: "sbom.cdx.json".to_string(),
                bytes,
            },
            &subject,
            "sbom",
            &facts.created,
        ));
    }
    if chosen.provenance {
        let bytes = provenance_document(image, repository, platforms, facts)?;
        referrers.push(referrer(
            ArtifactDocument {
                artifact_type: artifact::IN_TOTO_JSON.to_string(),
                media_type: artifact::IN_TOTO_JSON.to_string(),
                title: "provenance.intoto.json".to_string(),
                bytes,
            },
            &subject,
            "provenance",
            &facts.created,
        ));
    }
    Ok(referrers)
}

fn referrer(
    document: ArtifactDocument,
    subject: &crate::image::manifest::Descriptor,
    kind: &str,
    created: &str,
) -> Referrer {
    let mut annotations = BTreeMap::from([(KIND_ANNOTATION.to_string(), kind.to_string())]);
    if kind == "provenance" {
        annotations.insert(
            "in-toto.io/predicate-type".to_string(),
            provenance::PREDICATE_TYPE.to_string(),
        );
    }
    let manifest = artifact::artifact_manifest(document, subject, created, &annotations);
    Referrer {
        blobs: manifest.blobs().iter().map(|(_, b)| b.to_vec()).collect(),
        digest: manifest.digest.clone(),
        subject: subject.digest.clone(),
        descriptor: manifest.referrer.clone(),
        manifest: manifest.bytes,
    }
}

/// The SBOM: the jar's classpath, the base by digest, the JDK when known;
/// its serial number from the image digest, its time the image's `created`.
fn sbom_document(image: &Image, facts: &AttestationFacts) -> Result<Vec<u8>> {
    let repository = crate::sbom::MavenRepository::new(
        crate::sbom::default_maven_repository().unwrap_or_default(),
    );
    let read = crate::sbom::jars::read_app_jar(&facts.jar, &repository)?;
    let base_image = match (&facts.base_digest, &facts.base_repository) {
        (Some(digest), Some(repository)) => Some(crate::sbom::BaseImage {
            repository: repository.clone(),
            digest: digest.to_string(),
            architecture: Some(image.platform.architecture.clone()),
        }),
        _ => None,
    };
    let jdk = facts.jdk.as_ref().map(|(home, release)| crate::sbom::Jdk {
        java_home: home.clone(),
        release: release.clone(),
    });
    let bom = crate::sbom::cyclonedx::build(&crate::sbom::SbomInputs {
        subject: image.digest.to_string(),
        timestamp: facts.created.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        app: read.app,
        libraries: read.libraries,
        base_image,
        jdk,
    });
    Ok(bom.to_json())
}

/// The provenance of this run, with the image as its subject.
fn provenance_document(
    image: &Image,
    repository: &str,
    platforms: &[String],
    facts: &AttestationFacts,
) -> Result<Vec<u8>> {
    let env = provenance::github_environment();
    let finished = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    let finished_on = finished
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let inputs = ProvenanceInputs {
        subjects: vec![Subject {
            name: repository.to_string(),
            digest: image.digest.clone(),
        }],
        environment: facts.environment.clone(),
        config_digest: facts.config_digest.clone(),
        jar: facts.jar.display().to_string(),
        jar_digest: Digest::of(
            &std::fs::read(&facts.jar)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", facts.jar.display()))?,
        ),
        from: facts.from.clone(),
        base_digest: facts.base_digest.clone(),
        platforms: platforms.to_vec(),
        hoist_version: env!("CARGO_PKG_VERSION").to_string(),
        compression: facts.compression.clone(),
        mode: facts.mode.clone(),
        startup: facts.startup.clone(),
        git: facts.git.clone(),
        env,
        invocation_id: format!("hoist-{}-{}", std::process::id(), facts.started_on),
        started_on: facts.started_on.clone(),
        finished_on,
    };
    Ok(provenance::build(&inputs).to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attestation_lists() {
        assert_eq!(
            Attestations::parse("x", ["sbom", "provenance"]).unwrap(),
            Attestations::default()
        );
        assert_eq!(
            Attestations::parse("x", ["none"]).unwrap(),
            Attestations::none()
        );
        assert!(Attestations::parse("x", ["sbom"]).unwrap().sbom);
        assert!(!Attestations::parse("x", ["sbom"]).unwrap().provenance);
        assert!(Attestations::parse("x", ["signature"]).is_err());
    }
}
