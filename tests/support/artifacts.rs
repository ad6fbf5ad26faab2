//! OCI 1.1 artifacts for the referrer tests: the media types they use, the
//! install hints of the independent clients that read them (crane, oras),
//! an artifact manifest made by hand, and crane's read of a manifest.

use crate::support::cli::run_tool;
use hoist::registry::referrers::{referrer_descriptor, Referrer};
use hoist::Digest;
use serde_json::json;

/// How to get crane when it is missing.
pub const CRANE: &str =
    "go install github.com/google/go-containerregistry/cmd/crane@v0.20.6 (scripts/install-test-deps.sh)";
/// How to get oras when it is missing.
pub const ORAS: &str = "go install oras.land/oras/cmd/oras@v1.2.3 (scripts/install-test-deps.sh)";
/// An OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// An OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// A CycloneDX JSON SBOM.
pub const SBOM: &str = "application/vnd.cyclonedx+json";
/// An in-toto statement.
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// An artifact manifest (image spec "Guidelines for Artifact Usage": the
/// empty config, one layer holding `document`) whose subject is the
/// manifest `subject` of `subject_type`; marked as hoist's own attestation
/// of that kind (`dev.hoist.attestation`) when `as_hoists`.
pub fn artifact(
    artifact_type: &str,
    document: &[u8],
    subject: &[u8],
    subject_type: &str,
    as_hoists: bool,
) -> Referrer {
    let mut annotations = json!({"org.opencontainers.image.created": "1970-01-01T00:00:00Z"});
    if as_hoists {
        annotations["dev.hoist.attestation"] = json!(artifact_type);
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": Digest::of(b"{}"), "size": 2, "data": "e30="},
        "layers": [{"mediaType": artifact_type, "digest": Digest::of(document), "size": document.len()}],
        "subject": {"mediaType": subject_type, "digest": Digest::of(subject), "size": subject.len()},
        "annotations": annotations,
    });
    let bytes = serde_json::to_vec(&manifest).unwrap();
    Referrer {
        digest: Digest::of(&bytes),
        subject: Digest::of(subject),
        descriptor: referrer_descriptor(&bytes).unwrap(),
        blobs: vec![b"{}".to_vec(), document.to_vec()],
        manifest: bytes,
    }
}

/// The manifest bytes `image` names, read with crane (plain HTTP allowed).
pub fn crane_manifest(image: &str) -> Vec<u8> {
    run_tool("crane", &["manifest", "--insecure", image], CRANE).into_bytes()
}
