//! OCI 1.1 artifacts that refer to an image: an SBOM, a provenance
//! statement, later a signature.
//!
//! This module owns their bytes, as the image spec's "Guidelines for
//! Artifact Usage" shape them for one file and no config: an image manifest
//! with an `artifactType`, the empty config descriptor, one layer holding
//! the document, and a `subject` naming the platform manifest it describes.
//! It also owns the other half of the distribution spec's referrers
//! protocol that needs no network: the descriptor a referrers list shows
//! for such a manifest, the fallback tag's name (`sha256-<hex>`) and the
//! merge of a descriptor into that tag's index.
//!
//! Pure and deterministic: the same inputs give the same bytes, hence the
//! same digest, so a re-run can see its referrer is already there. Pushing
//! is the registry client's job, in this order: the blobs of
//! [`ArtifactManifest::blobs`] (the `{}` config too — a registry without
//! inline-data support refuses the manifest without it), the manifest by
//! digest, and, when the registry answers without `OCI-Subject`, the
//! fallback tag's index, read-modify-written with
//! [`merge_into_referrers_index`].

// Nothing calls this module yet: the pushers that attach SBOMs and
// provenance are next (issue 26). Remove this line once they do.
#![cfg_attr(not(test), allow(dead_code))]

use crate::image::digest::Digest;
use crate::image::manifest::{Descriptor, Index, OCI_INDEX, OCI_MANIFEST};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The empty descriptor's media type (image spec "Guidance for an Empty
/// Descriptor").
pub(crate) const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The empty blob, `{}`: the config of every artifact manifest. Upload it
/// like any blob; the inline `data` does not spare it.
pub(crate) const EMPTY_BLOB: &[u8] = b"{}";
/// `{}` in base64, the empty descriptor's inline `data`.
const EMPTY_DATA: &str = "e30=";
/// The artifact type (and layer media type) of a CycloneDX JSON SBOM.
pub(crate) const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";
/// The artifact type (and layer media type) of an unsigned in-toto
/// Statement.
pub(crate) const IN_TOTO_JSON: &str = "application/vnd.in-toto+json";
/// The annotation naming a layer's file (`sbom.cdx.json`).
pub(crate) const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// The annotation holding an artifact's creation time (RFC 3339).
pub(crate) const CREATED_ANNOTATION: &str = "org.opencontainers.image.created";

/// The empty descriptor: `{}`, with its bytes inline as `data`.
pub(crate) fn empty_descriptor() -> Descriptor {
    let mut descriptor = Descriptor::of_bytes(EMPTY_MEDIA_TYPE, EMPTY_BLOB);
    descriptor
        .extra
        .insert("data".to_string(), Value::String(EMPTY_DATA.to_string()));
    descriptor
}

/// The one file an artifact carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArtifactDocument {
    /// The manifest's `artifactType`, e.g. [`CYCLONEDX_JSON`].
    pub(crate) artifact_type: String,
    /// The layer's media type (usually the artifact type).
    pub(crate) media_type: String,
    /// The file's name, the layer's `org.opencontainers.image.title`.
    pub(crate) title: String,
    /// The document itself.
    pub(crate) bytes: Vec<u8>,
}

/// An artifact manifest, ready to push, with what goes with it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ArtifactManifest {
    /// The manifest's bytes, as pushed.
    pub(crate) bytes: Vec<u8>,
    /// Their digest: push the manifest by this digest, not by a tag.
    pub(crate) digest: Digest,
    /// The config: the empty descriptor.
    pub(crate) config: Descriptor,
    /// The one layer: the document.
    pub(crate) layer: Descriptor,
    /// The document's bytes (the layer blob).
    pub(crate) document: Vec<u8>,
    /// What a referrers list shows for this manifest: media type, digest,
    /// size, `artifactType` and its annotations.
    pub(crate) referrer: Descriptor,
}

impl ArtifactManifest {
    /// The blobs to upload before the manifest: the `{}` config, then the
    /// document.
    pub(crate) fn blobs(&self) -> [(&Descriptor, &[u8]); 2] {
        [
            (&self.config, EMPTY_BLOB),
            (&self.layer, self.document.as_slice()),
        ]
    }
}

/// The manifest's JSON, fields in the order they are written.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactManifestJson<'a> {
    schema_version: u32,
    media_type: &'static str,
    artifact_type: &'a str,
    config: &'a Descriptor,
    layers: [&'a Descriptor; 1],
    subject: &'a Descriptor,
    annotations: &'a BTreeMap<String, String>,
}

/// The artifact manifest carrying `document`, referring to `subject` (the
/// platform image manifest: only its media type, digest and size are
/// kept), with `annotations` plus `org.opencontainers.image.created` =
/// `created` (RFC 3339; it wins over an annotation of the same name).
pub(crate) fn artifact_manifest(
    document: ArtifactDocument,
    subject: &Descriptor,
    created: &str,
    annotations: &BTreeMap<String, String>,
) -> ArtifactManifest {
    let config = empty_descriptor();
    let mut layer = Descriptor::of_bytes(&document.media_type, &document.bytes);
    layer.annotations = Some(BTreeMap::from([(
        TITLE_ANNOTATION.to_string(),
        document.title.clone(),
    )]));
    let subject = Descriptor::new(&subject.media_type, subject.digest.clone(), subject.size);
    let mut annotations = annotations.clone();
    annotations.insert(CREATED_ANNOTATION.to_string(), created.to_string());
    let bytes = serde_json::to_vec(&ArtifactManifestJson {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        artifact_type: &document.artifact_type,
        config: &config,
        layers: [&layer],
        subject: &subject,
        annotations: &annotations,
    })
    .expect("an artifact manifest always serialises");
    let referrer =
        referrer_descriptor(OCI_MANIFEST, &bytes).expect("the manifest just written parses");
    ArtifactManifest {
        digest: referrer.digest.clone(),
        bytes,
        config,
        layer,
        document: document.bytes,
        referrer,
    }
}

/// The fields of a manifest a referrers list copies.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReferrerFields {
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<ConfigMediaType>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigMediaType {
    media_type: String,
}

/// The descriptor a referrers list shows for the manifest `bytes` of
/// `media_type` (any referrer, hoist's or not): its digest and size,
/// `artifactType` from the manifest, else its config's media type, and all
/// its annotations.
pub(crate) fn referrer_descriptor(
    media_type: &str,
    bytes: &[u8],
) -> serde_json::Result<Descriptor> {
    let fields: ReferrerFields = serde_json::from_slice(bytes)?;
    let mut descriptor = Descriptor::of_bytes(media_type, bytes);
    descriptor.annotations = fields.annotations.filter(|a| !a.is_empty());
    let artifact_type = fields
        .artifact_type
        .filter(|t| !t.is_empty())
        .or(fields.config.map(|c| c.media_type));
    if let Some(artifact_type) = artifact_type {
        descriptor
            .extra
            .insert("artifactType".to_string(), Value::String(artifact_type));
    }
    Ok(descriptor)
}

/// The tag that stands in for the referrers API on a registry without it
/// (distribution spec "Referrers Tag Schema"): `sha256-<hex>`.
pub(crate) fn referrers_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm(), subject.hex())
}

/// Why a referrers tag's content cannot take another descriptor.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReferrersIndexError {
    /// The tag names something other than an OCI image index: the spec says
    /// to report it and leave the tag alone.
    #[error("the referrers tag holds {media_type}, not an OCI image index: left as it is")]
    NotAnIndex {
        /// What it holds, as its `mediaType` says.
        media_type: String,
    },
    /// The tag's content is not an index hoist can read.
    #[error("the referrers tag's index cannot be read: {0}")]
    Unreadable(#[from] serde_json::Error),
}

/// Just the `mediaType` of a manifest or index.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeclaredMediaType {
    #[serde(default)]
    media_type: Option<String>,
}

/// The fallback tag's index with `referrer` appended: `existing` is what
/// the tag holds (`None` when it answered 404: start from an empty index).
/// `Ok(None)` when a descriptor with the same digest is listed already, so
/// there is nothing to push. Every other entry and field is kept, in order.
pub(crate) fn merge_into_referrers_index(
    existing: Option<&[u8]>,
    referrer: &Descriptor,
) -> Result<Option<Vec<u8>>, ReferrersIndexError> {
    let mut index = match existing {
        None => Index::empty(),
        Some(bytes) => {
            let declared: DeclaredMediaType = serde_json::from_slice(bytes)?;
            match declared.media_type {
                Some(media_type) if media_type != OCI_INDEX => {
                    return Err(ReferrersIndexError::NotAnIndex { media_type })
                }
                // Without a mediaType, it is an index if it parses as one.
                _ => Index::from_slice(bytes)?,
            }
        }
    };
    if index.manifests.iter().any(|d| d.digest == referrer.digest) {
        return Ok(None);
    }
    index.manifests.push(referrer.clone());
    Ok(Some(index.to_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject() -> Descriptor {
        Descriptor::new(
            OCI_MANIFEST,
            Digest::parse(
                "sha256:9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725",
            )
            .unwrap(),
            1234,
        )
    }

    fn sbom() -> ArtifactDocument {
        ArtifactDocument {
            artifact_type: CYCLONEDX_JSON.to_string(),
            media_type: CYCLONEDX_JSON.to_string(),
            title: "sbom.cdx.json".to_string(),
            bytes: b"{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.6\"}\n".to_vec(),
        }
    }

    fn hoist_annotations() -> BTreeMap<String, String> {
        BTreeMap::from([("dev.hoist.attestation".to_string(), "sbom".to_string())])
    }

    fn built() -> ArtifactManifest {
        artifact_manifest(
            sbom(),
            &subject(),
            "2024-05-01T12:00:00Z",
            &hoist_annotations(),
        )
    }

    #[test]
    fn the_empty_descriptor_is_the_well_known_one() {
        let empty = empty_descriptor();
        assert_eq!(
            empty.digest.as_str(),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
        assert_eq!(empty.size, 2);
        assert_eq!(empty.media_type, EMPTY_MEDIA_TYPE);
        assert_eq!(empty.extra["data"], "e30=");
        assert_eq!(
            serde_json::to_string(&empty).unwrap(),
            r#"{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2,"data":"e30="}"#
        );
    }

    #[test]
    fn the_manifest_has_every_field_of_an_artifact() {
        let artifact = built();
        let json: Value = serde_json::from_slice(&artifact.bytes).unwrap();
        assert_eq!(json["schemaVersion"], 2);
        assert_eq!(json["mediaType"], OCI_MANIFEST);
        assert_eq!(json["artifactType"], CYCLONEDX_JSON);
        assert_eq!(json["config"]["mediaType"], EMPTY_MEDIA_TYPE);
        assert_eq!(json["config"]["size"], 2);
        let layers = json["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0]["mediaType"], CYCLONEDX_JSON);
        assert_eq!(
            layers[0]["digest"],
            Digest::of(&sbom().bytes).as_str(),
            "the layer is the document"
        );
        assert_eq!(layers[0]["size"], sbom().bytes.len());
        assert_eq!(layers[0]["annotations"][TITLE_ANNOTATION], "sbom.cdx.json");
        assert_eq!(
            json["subject"],
            serde_json::json!({
                "mediaType": OCI_MANIFEST,
                "digest": "sha256:9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725",
                "size": 1234,
            })
        );
        assert_eq!(
            json["annotations"],
            serde_json::json!({
                CREATED_ANNOTATION: "2024-05-01T12:00:00Z",
                "dev.hoist.attestation": "sbom",
            })
        );
        // The parsed manifest model reads it too.
        let manifest = crate::image::manifest::Manifest::from_slice(&artifact.bytes).unwrap();
        assert_eq!(manifest.config, artifact.config);
        assert_eq!(manifest.layers, vec![artifact.layer.clone()]);
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes_and_a_pinned_digest() {
        let a = built();
        let b = built();
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.digest, Digest::of(&a.bytes));
        // Pinned: a change here changes every SBOM referrer hoist has pushed,
        // so a re-run would push a second one. Checked with Python's json +
        // hashlib on the same fields.
        assert_eq!(
            String::from_utf8(a.bytes.clone()).unwrap(),
            concat!(
                r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","#,
                r#""artifactType":"application/vnd.cyclonedx+json","config":{"mediaType":"#,
                r#""application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","#,
                r#""size":2,"data":"e30="},"layers":[{"mediaType":"application/vnd.cyclonedx+json","#,
                r#""digest":"sha256:726c2214edb4ee286759394e9048e7105e534dce6a8e3c462cf9b7829007ddc1","size":46,"annotations":{"org.opencontainers.image.title":"sbom.cdx.json"}}],"#,
                r#""subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","#,
                r#""digest":"sha256:9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725","size":1234},"#,
                r#""annotations":{"dev.hoist.attestation":"sbom","org.opencontainers.image.created":"2024-05-01T12:00:00Z"}}"#
            )
        );
        assert_eq!(
            a.digest.as_str(),
            "sha256:029c6df90cca037875cbe254a7703951ba3cb6ad612b55c7b1f2909e95fbfc99"
        );
    }

    #[test]
    fn a_provenance_statement_is_an_in_toto_artifact() {
        let statement = ArtifactDocument {
            artifact_type: IN_TOTO_JSON.to_string(),
            media_type: IN_TOTO_JSON.to_string(),
            title: "provenance.intoto.json".to_string(),
            bytes: b"{}\n".to_vec(),
        };
        let a = artifact_manifest(
            statement,
            &subject(),
            "2024-05-01T12:00:00Z",
            &BTreeMap::new(),
        );
        assert_eq!(a.referrer.extra["artifactType"], IN_TOTO_JSON);
        assert_eq!(a.layer.media_type, IN_TOTO_JSON);
        assert_ne!(a.digest, built().digest);
    }

    #[test]
    fn the_subject_keeps_only_media_type_digest_and_size() {
        let mut from_an_index = subject();
        from_an_index.platform =
            Some(crate::image::platform::Platform::parse("linux/amd64").unwrap());
        from_an_index.annotations = Some(BTreeMap::from([("a".into(), "b".into())]));
        let a = artifact_manifest(
            sbom(),
            &from_an_index,
            "2024-05-01T12:00:00Z",
            &hoist_annotations(),
        );
        assert_eq!(a.bytes, built().bytes);
    }

    #[test]
    fn created_wins_over_an_annotation_of_the_same_name() {
        let mut annotations = hoist_annotations();
        annotations.insert(CREATED_ANNOTATION.into(), "1999-01-01T00:00:00Z".into());
        let a = artifact_manifest(sbom(), &subject(), "2024-05-01T12:00:00Z", &annotations);
        assert_eq!(a.bytes, built().bytes);
    }

    #[test]
    fn the_referrer_descriptor_copies_artifact_type_and_annotations() {
        let a = built();
        assert_eq!(a.referrer.media_type, OCI_MANIFEST);
        assert_eq!(a.referrer.digest, a.digest);
        assert_eq!(a.referrer.size, a.bytes.len() as u64);
        assert_eq!(a.referrer.extra["artifactType"], CYCLONEDX_JSON);
        assert_eq!(a.referrer.annotation("dev.hoist.attestation"), Some("sbom"));
        assert_eq!(
            a.referrer.annotation(CREATED_ANNOTATION),
            Some("2024-05-01T12:00:00Z")
        );
        assert!(a.referrer.platform.is_none());
    }

    #[test]
    fn a_referrer_without_artifact_type_is_listed_by_its_config_media_type() {
        let foreign = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
        let d = referrer_descriptor(OCI_MANIFEST, foreign).unwrap();
        assert_eq!(
            d.extra["artifactType"],
            "application/vnd.dev.cosign.simplesigning.v1+json"
        );
        assert_eq!(d.annotations, None);
        assert_eq!(d.digest, Digest::of(foreign));
    }

    #[test]
    fn the_blobs_are_the_empty_config_then_the_document() {
        let a = built();
        let blobs = a.blobs();
        assert_eq!(blobs[0].1, b"{}");
        assert_eq!(blobs[0].0.digest, Digest::of(b"{}"));
        assert_eq!(blobs[1].1, sbom().bytes.as_slice());
        assert_eq!(blobs[1].0.digest, Digest::of(&sbom().bytes));
    }

    #[test]
    fn the_referrers_tag_follows_the_spec_example() {
        let digest = Digest::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
        assert_eq!(referrers_tag(&digest), format!("sha256-{}", "a".repeat(64)));
    }

    fn listed(index: &[u8]) -> Vec<String> {
        Index::from_slice(index)
            .unwrap()
            .manifests
            .iter()
            .map(|d| d.digest.to_string())
            .collect()
    }

    #[test]
    fn merging_into_no_index_starts_an_oci_index() {
        let a = built();
        let bytes = merge_into_referrers_index(None, &a.referrer)
            .unwrap()
            .expect("a new index");
        let json: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(json["schemaVersion"], 2);
        assert_eq!(json["mediaType"], OCI_INDEX);
        assert_eq!(json["manifests"][0]["artifactType"], CYCLONEDX_JSON);
        assert_eq!(
            json["manifests"][0]["annotations"]["dev.hoist.attestation"],
            "sbom"
        );
        assert_eq!(listed(&bytes), vec![a.digest.to_string()]);
    }

    #[test]
    fn merging_keeps_foreign_entries_in_order_and_skips_a_duplicate() {
        let signature = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.dev.sigstore.bundle.v0.3+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
        let foreign = referrer_descriptor(OCI_MANIFEST, signature).unwrap();
        let first = merge_into_referrers_index(None, &foreign).unwrap().unwrap();
        // Another client's field on the index survives.
        let mut with_extra: Value = serde_json::from_slice(&first).unwrap();
        with_extra["annotations"] = serde_json::json!({"x": "y"});
        let first = serde_json::to_vec(&with_extra).unwrap();

        let sbom = built();
        let second = merge_into_referrers_index(Some(&first), &sbom.referrer)
            .unwrap()
            .unwrap();
        assert_eq!(
            listed(&second),
            vec![foreign.digest.to_string(), sbom.digest.to_string()]
        );
        let json: Value = serde_json::from_slice(&second).unwrap();
        assert_eq!(json["annotations"]["x"], "y");
        assert_eq!(
            json["manifests"][0]["artifactType"],
            "application/vnd.dev.sigstore.bundle.v0.3+json"
        );

        assert_eq!(
            merge_into_referrers_index(Some(&second), &sbom.referrer).unwrap(),
            None,
            "already listed: nothing to push"
        );
        assert_eq!(
            merge_into_referrers_index(Some(&second), &foreign).unwrap(),
            None
        );
    }

    #[test]
    fn merging_refuses_a_tag_that_is_not_an_index() {
        let manifest = built().bytes;
        let err = merge_into_referrers_index(Some(&manifest), &built().referrer).unwrap_err();
        assert!(
            matches!(err, ReferrersIndexError::NotAnIndex { .. }),
            "{err}"
        );
        let docker_list =
            br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]}"#;
        let err = merge_into_referrers_index(Some(docker_list), &built().referrer).unwrap_err();
        assert!(err.to_string().contains("manifest.list"), "{err}");
        let err = merge_into_referrers_index(Some(b"not json"), &built().referrer).unwrap_err();
        assert!(matches!(err, ReferrersIndexError::Unreadable(_)), "{err}");
    }

    #[test]
    fn merging_accepts_an_index_without_media_type() {
        let bare = br#"{"schemaVersion":2,"manifests":[]}"#;
        let bytes = merge_into_referrers_index(Some(bare), &built().referrer)
            .unwrap()
            .unwrap();
        assert_eq!(listed(&bytes), vec![built().digest.to_string()]);
    }
}
