//! OCI 1.1 referrers: pushing an artifact manifest that names a `subject`,
//! and listing the referrers of a manifest.
//!
//! It follows the distribution spec v1.1.1:
//! - "Pushing Manifests with Subject": the manifest goes up by digest; a
//!   registry with the referrers API answers `OCI-Subject: <digest>` and
//!   there is nothing more to do. Without that header the client keeps the
//!   list itself: it reads the referrers tag, starts from an empty index on
//!   404, leaves a tag that is not an index alone (and says so), skips a
//!   duplicate, appends the descriptor (`artifactType`, annotations copied)
//!   and pushes the index back to the same tag.
//! - "Listing Referrers" (end-12a, end-12b): `GET /v2/<name>/referrers/<digest>`,
//!   an optional `artifactType` filter answered with `OCI-Filters-Applied`,
//!   further pages behind `Link: rel="next"`.
//! - "Unavailable Referrers API" and "Referrers Tag Schema": a 404 from the
//!   API sends the reader to the index at tag `<alg>-<encoded>`.
//! - The image spec v1.1.1 (manifest.md, "Guidelines for Artifact Usage")
//!   for the descriptor a referrers list holds.
//!
//! Registries as they are: Debian's docker-registry 2.8 stores a manifest
//! with `subject` but has no API (404) and ignores `If-Match`, so a lost
//! race is caught by reading the tag back; it refuses a manifest whose blobs
//! it lacks (the empty `{}` config included, inline `data` or not) and an
//! index whose manifests it lacks, so blobs go first, then the referrer,
//! then the index. Amazon ECR has had the API since June 2024, and answers
//! 405 to some referrers (one whose subject is an index:
//! aws/containers-roadmap#2783); an immutable ECR repository refuses the
//! fallback tag (`TAG_INVALID`). A refusal is an outcome the caller prints
//! in one line, never an error that stops the push.
//!
//! It knows nothing of what the documents say (SBOM, provenance,
//! signature): it moves the bytes it is handed. The pure parts (the tag's
//! name, the descriptor a list holds, the merge into the tag's index) are
//! `crate::image::artifact`'s.

use crate::image::artifact::{
    self, merge_into_referrers_index, referrers_tag, ReferrersIndexError,
};
use crate::image::manifest::{Descriptor, Index, OCI_INDEX, OCI_MANIFEST};
use crate::image::Digest;
use crate::registry::auth::{docker_credentials, Credentials};
use crate::registry::blobs::{blob_exists, close_session, pull_scope, push_scope, start_session};
use crate::registry::manifests::{is_immutable_tag_answer, put_manifest_answer};
use crate::registry::transport::{
    answer_error, read_limited, response_error, ClientOptions, ErrorAnswer, Registry,
    MAX_MANIFEST_BYTES,
};
use anyhow::{anyhow, bail, Result};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE, LINK};
use reqwest::{Method, StatusCode};

/// The pages of a referrers list read at most (`Link: rel="next"`).
const MAX_PAGES: usize = 16;
/// Read-modify-write rounds of the fallback tag before giving up on a
/// registry where another writer keeps winning.
const MAX_TAG_ROUNDS: usize = 3;

/// An artifact manifest to attach to its subject, already built.
#[derive(Clone, Debug)]
pub struct Referrer {
    /// The manifest's bytes, pushed as they are.
    pub manifest: Vec<u8>,
    /// The digest of those bytes.
    pub digest: Digest,
    /// The manifest its `subject` names.
    pub subject: Digest,
    /// Its entry in a referrers list ([`referrer_descriptor`] makes it).
    pub descriptor: Descriptor,
    /// The blobs it references (the empty config `{}`, the document); each
    /// is uploaded unless the repository has it.
    pub blobs: Vec<Vec<u8>>,
}

/// Which way a referrer was attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReferrerOutcome {
    /// The registry has the referrers API: it answered `OCI-Subject`.
    Api,
    /// No API: the referrer was added to the index at the fallback tag.
    FallbackTag {
        /// The tag (`sha256-<hex>`).
        tag: String,
    },
    /// The repository had the referrer, and its subject's referrers list
    /// names it: nothing was sent.
    AlreadyThere,
    /// The registry refused the referrer or its fallback tag; the rest of
    /// the push goes on.
    Refused {
        /// Why, on one line.
        reason: String,
    },
}

/// What [`push_referrer`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferrerPush {
    /// Which way the referrer was attached.
    pub outcome: ReferrerOutcome,
    /// How many of its blobs were uploaded (the others were there).
    pub uploaded_blobs: usize,
}

/// The descriptor a referrers list holds for the manifest `bytes` (image
/// manifest or index): media type, digest, size, `artifactType` (else the
/// config's media type, for an image manifest) and every annotation.
pub fn referrer_descriptor(bytes: &[u8]) -> Result<Descriptor> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| anyhow!("the referrer manifest is not JSON ({e})"))?;
    let media_type = value["mediaType"].as_str().unwrap_or(OCI_MANIFEST);
    artifact::referrer_descriptor(media_type, bytes)
        .map_err(|e| anyhow!("the referrer manifest cannot be read ({e})"))
}

/// True when a manifest of `media_type` (the answer's `Content-Type`, if
/// any) with `bytes` is an OCI image index.
fn is_oci_index(media_type: Option<&str>, bytes: &[u8]) -> bool {
    let own = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_string));
    own.as_deref().or(media_type) == Some(OCI_INDEX)
}

/// The descriptors of an index's `manifests`, or none for bytes that are
/// not an OCI index.
fn listed(media_type: Option<&str>, bytes: &[u8]) -> Vec<Descriptor> {
    if !is_oci_index(media_type, bytes) {
        return Vec::new();
    }
    Index::from_slice(bytes)
        .map(|index| index.manifests)
        .unwrap_or_default()
}

/// The descriptors with `artifactType` equal to `artifact_type`, if one is given.
fn filtered(descriptors: Vec<Descriptor>, artifact_type: Option<&str>) -> Vec<Descriptor> {
    let Some(wanted) = artifact_type else {
        return descriptors;
    };
    descriptors
        .into_iter()
        .filter(|d| d.extra.get("artifactType").and_then(|t| t.as_str()) == Some(wanted))
        .collect()
}

/// The `rel="next"` target of a `Link` header (RFC 5988), if any.
fn next_link(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find(|part| part.contains("rel=\"next\"") || part.contains("rel=next"))
        .and_then(|part| {
            let start = part.find('<')? + 1;
            let end = part[start..].find('>')? + start;
            Some(part[start..end].to_string())
        })
}

/// The referrers of `subject` in `repo`, filtered by `artifact_type` when
/// given: from the referrers API, else (404: no API) from the fallback tag's
/// index (a missing tag, or one that is not an index: none). At most
/// [`MAX_PAGES`] pages of at most [`MAX_MANIFEST_BYTES`] each.
pub(crate) async fn list_referrers(
    registry: &Registry,
    repo: &str,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<Descriptor>> {
    let what = format!("listing the referrers of {repo}@{subject}");
    let scope = pull_scope(repo);
    let mut next = Some(format!("/v2/{repo}/referrers/{subject}"));
    let mut first = true;
    let mut found = Vec::new();
    for _ in 0..MAX_PAGES {
        let Some(target) = next.take() else {
            return Ok(found);
        };
        let response = registry
            .send(&scope, &what, || {
                let request = registry
                    .request(Method::GET, &target)
                    .header(ACCEPT, OCI_INDEX);
                match artifact_type {
                    Some(t) if first => request.query(&[("artifactType", t)]),
                    _ => request,
                }
            })
            .await?;
        match response.status() {
            StatusCode::NOT_FOUND if first => {
                return Ok(filtered(
                    tag_referrers(registry, repo, subject).await?,
                    artifact_type,
                ));
            }
            StatusCode::OK => {}
            _ => return Err(response_error(response, registry.host(), &what).await),
        }
        first = false;
        let headers = response.headers().clone();
        let applied = headers
            .get("OCI-Filters-Applied")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|f| f.trim() == "artifactType"));
        let media_type = content_type(&headers);
        let bytes = read_limited(response, MAX_MANIFEST_BYTES, registry.host(), &what).await?;
        let page = listed(media_type.as_deref().or(Some(OCI_INDEX)), &bytes);
        found.extend(if applied {
            page
        } else {
            filtered(page, artifact_type)
        });
        next = next_link(&headers);
    }
    if next.is_some() {
        bail!(
            "registry {}: {what}: more than {MAX_PAGES} pages of referrers",
            registry.host()
        );
    }
    Ok(found)
}

/// The media type a response names, without parameters.
fn content_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
}

/// The fallback tag's manifest: its `Content-Type` and bytes, or `None` on 404.
async fn read_tag(
    registry: &Registry,
    repo: &str,
    tag: &str,
) -> Result<Option<(Option<String>, Vec<u8>)>> {
    let path = format!("/v2/{repo}/manifests/{tag}");
    let what = format!("reading the referrers tag {repo}:{tag}");
    let response = registry
        .send(&pull_scope(repo), &what, || {
            registry.request(Method::GET, &path).header(
                ACCEPT,
                "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json",
            )
        })
        .await?;
    match response.status() {
        StatusCode::NOT_FOUND => Ok(None),
        StatusCode::OK => {
            let media_type = content_type(response.headers());
            let bytes = read_limited(response, MAX_MANIFEST_BYTES, registry.host(), &what).await?;
            Ok(Some((media_type, bytes)))
        }
        _ => Err(response_error(response, registry.host(), &what).await),
    }
}

/// The descriptors of the fallback tag's index of `subject`.
async fn tag_referrers(
    registry: &Registry,
    repo: &str,
    subject: &Digest,
) -> Result<Vec<Descriptor>> {
    let tag = referrers_tag(subject);
    Ok(match read_tag(registry, repo, &tag).await? {
        None => Vec::new(),
        Some((media_type, bytes)) => listed(media_type.as_deref(), &bytes),
    })
}

/// A registry's answer, on one line, for a refusal.
fn refusal(answer: &ErrorAnswer, host: &str, what: &str) -> String {
    format!("{:#}", answer_error(answer, host, what))
}

/// True for a manifest refusal that concerns this referrer alone (the
/// registry will not store such a manifest), not the push as a whole: ECR's
/// 405 (aws/containers-roadmap#2783), an unsupported media type, a manifest
/// the registry finds invalid (ECR refuses fields it does not know:
/// aws/containers-roadmap#2439).
fn is_referrer_refusal(answer: &ErrorAnswer) -> bool {
    matches!(answer.status, 405 | 415)
        || (answer.status == 400
            && matches!(
                answer.code.as_str(),
                "MANIFEST_INVALID" | "UNSUPPORTED" | "TAG_INVALID"
            ))
}

/// Attaches `referrer` to its subject in `repo`: blobs the repository lacks
/// first, then the manifest by digest; without `OCI-Subject` in the answer,
/// the fallback tag's index too (read, merge, write, read back: at most
/// [`MAX_TAG_ROUNDS`] rounds). A referrer already stored and listed is left
/// as it is (no blob, no manifest sent). A refused manifest or fallback tag
/// is an outcome, not an error.
pub(crate) async fn push_referrer(
    registry: &Registry,
    repo: &str,
    referrer: &Referrer,
) -> Result<ReferrerPush> {
    if Digest::of(&referrer.manifest) != referrer.digest
        || referrer.descriptor.digest != referrer.digest
    {
        bail!(
            "referrer {}: its digest does not match its bytes or its descriptor",
            referrer.digest
        );
    }
    let host = registry.host();
    let stored =
        crate::registry::manifests::manifest_digest(registry, repo, referrer.digest.as_str())
            .await?
            .is_some();
    if stored
        && list_referrers(registry, repo, &referrer.subject, None)
            .await?
            .iter()
            .any(|d| d.digest == referrer.digest)
    {
        return Ok(ReferrerPush {
            outcome: ReferrerOutcome::AlreadyThere,
            uploaded_blobs: 0,
        });
    }
    let mut uploaded_blobs = 0;
    for blob in &referrer.blobs {
        let digest = Digest::of(blob);
        if blob_exists(registry, repo, &digest).await? {
            continue;
        }
        let scope = push_scope(repo);
        let what = format!("uploading {digest} to {repo}");
        let location = start_session(registry, repo, &scope, &what).await?;
        close_session(
            registry,
            &scope,
            &what,
            &location,
            &digest,
            bytes::Bytes::copy_from_slice(blob),
        )
        .await?;
        uploaded_blobs += 1;
    }
    let what = format!("pushing referrer {repo}@{}", referrer.digest);
    let media_type = referrer.descriptor.media_type.as_str();
    let headers = match put_manifest_answer(
        registry,
        repo,
        referrer.digest.as_str(),
        media_type,
        &referrer.manifest,
    )
    .await?
    {
        Ok(headers) => headers,
        Err(answer) if is_referrer_refusal(&answer) => {
            return Ok(ReferrerPush {
                outcome: ReferrerOutcome::Refused {
                    reason: refusal(&answer, host, &what),
                },
                uploaded_blobs,
            })
        }
        Err(answer) => return Err(answer_error(&answer, host, &what)),
    };
    if headers.contains_key("OCI-Subject") {
        return Ok(ReferrerPush {
            outcome: ReferrerOutcome::Api,
            uploaded_blobs,
        });
    }
    let outcome = update_tag(registry, repo, referrer).await?;
    Ok(ReferrerPush {
        outcome,
        uploaded_blobs,
    })
}

/// Adds `referrer` to the fallback tag's index of its subject.
async fn update_tag(
    registry: &Registry,
    repo: &str,
    referrer: &Referrer,
) -> Result<ReferrerOutcome> {
    let host = registry.host();
    let tag = referrers_tag(&referrer.subject);
    let what = format!("pushing the referrers tag {repo}:{tag}");
    for _ in 0..MAX_TAG_ROUNDS {
        let current = read_tag(registry, repo, &tag).await?;
        let merged = merge_into_referrers_index(
            current.as_ref().map(|(_, bytes)| bytes.as_slice()),
            &referrer.descriptor,
        );
        let index = match merged {
            Ok(Some(index)) => index,
            // Listed already (a run that stopped after the index went up).
            Ok(None) => return Ok(ReferrerOutcome::FallbackTag { tag }),
            Err(
                error @ (ReferrersIndexError::NotAnIndex { .. }
                | ReferrersIndexError::Unreadable(_)),
            ) => {
                return Ok(ReferrerOutcome::Refused {
                    reason: format!("registry {host}: {repo}:{tag}: {error}"),
                })
            }
        };
        if let Err(answer) = put_manifest_answer(registry, repo, &tag, OCI_INDEX, &index).await? {
            if is_immutable_tag_answer(&answer) || is_referrer_refusal(&answer) {
                return Ok(ReferrerOutcome::Refused {
                    reason: refusal(&answer, host, &what),
                });
            }
            return Err(answer_error(&answer, host, &what));
        }
        // docker-registry ignores If-Match: read back, so that a writer
        // who won a race is seen and the merge done again.
        if tag_referrers(registry, repo, &referrer.subject)
            .await?
            .iter()
            .any(|d| d.digest == referrer.digest)
        {
            return Ok(ReferrerOutcome::FallbackTag { tag });
        }
    }
    Ok(ReferrerOutcome::Refused {
        reason: format!(
            "registry {host}: {what}: another writer replaced the index {MAX_TAG_ROUNDS} times"
        ),
    })
}

/// A client of one registry host for referrers, for callers outside a
/// push (tools and tests). A push reaches the same functions through its
/// own client.
pub struct ReferrersClient {
    registry: Registry,
}

impl ReferrersClient {
    /// A client for `host` with `basic` (user, password), else the docker
    /// config's credentials for it, else none; pings `/v2/` first.
    pub async fn connect(
        host: &str,
        options: &ClientOptions,
        basic: Option<(&str, &str)>,
    ) -> Result<Self> {
        let credentials = match basic {
            Some((user, password)) => Some(Credentials::password(user, password)),
            None => docker_credentials(host)?,
        };
        let registry = Registry::new(host, options, credentials)?;
        registry.ping().await?;
        Ok(Self { registry })
    }

    /// Attaches `referrer` to its subject in `repo`, as `push_referrer` does.
    pub async fn push(&self, repo: &str, referrer: &Referrer) -> Result<ReferrerPush> {
        push_referrer(&self.registry, repo, referrer).await
    }

    /// The referrers of `subject` in `repo`, as `list_referrers` reads them.
    pub async fn list(
        &self,
        repo: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        list_referrers(&self.registry, repo, subject, artifact_type).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn artifact(artifact_type: Option<&str>, annotations: serde_json::Value) -> Vec<u8> {
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                       "digest": Digest::of(b"{}"), "size": 2},
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": Digest::of(b"subject"), "size": 7},
            "annotations": annotations,
        });
        if let Some(t) = artifact_type {
            manifest["artifactType"] = t.into();
        }
        serde_json::to_vec(&manifest).unwrap()
    }

    #[test]
    fn the_descriptor_carries_the_artifact_type_and_every_annotation() {
        let bytes = artifact(
            Some("application/vnd.cyclonedx+json"),
            json!({"dev.hoist.attestation": "sbom", "org.opencontainers.image.created": "1970-01-01T00:00:00Z"}),
        );
        let d = referrer_descriptor(&bytes).unwrap();
        assert_eq!(d.digest, Digest::of(&bytes));
        assert_eq!(d.size, bytes.len() as u64);
        assert_eq!(d.media_type, OCI_MANIFEST);
        assert_eq!(d.extra["artifactType"], "application/vnd.cyclonedx+json");
        assert_eq!(d.annotation("dev.hoist.attestation"), Some("sbom"));
        assert_eq!(d.annotations.as_ref().unwrap().len(), 2);
        // No artifactType: the config's media type stands in.
        let d = referrer_descriptor(&artifact(None, json!({}))).unwrap();
        assert_eq!(d.extra["artifactType"], "application/vnd.oci.empty.v1+json");
        assert_eq!(d.annotations, None);
    }

    #[test]
    fn a_list_is_read_only_from_an_oci_index() {
        let sbom = referrer_descriptor(&artifact(Some("a/b"), json!({}))).unwrap();
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [sbom]});
        let index = serde_json::to_vec(&index).unwrap();
        assert_eq!(listed(None, &index), vec![sbom.clone()]);
        assert_eq!(listed(Some(OCI_INDEX), &index), vec![sbom]);
        assert!(listed(Some(OCI_MANIFEST), &artifact(None, json!({}))).is_empty());
        assert!(listed(Some(OCI_INDEX), b"not json").is_empty());
    }

    #[test]
    fn filters_by_artifact_type_and_reads_the_next_link() {
        let a = referrer_descriptor(&artifact(Some("a/b"), json!({}))).unwrap();
        let c = referrer_descriptor(&artifact(Some("c/d"), json!({}))).unwrap();
        assert_eq!(
            filtered(vec![a.clone(), c.clone()], Some("c/d")),
            vec![c.clone()]
        );
        assert_eq!(filtered(vec![a.clone(), c.clone()], None).len(), 2);
        let mut headers = HeaderMap::new();
        headers.insert(
            LINK,
            "</v2/app/referrers/sha256:1?n=1&last=x>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(
            next_link(&headers).as_deref(),
            Some("/v2/app/referrers/sha256:1?n=1&last=x")
        );
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn refusals_that_belong_to_one_referrer() {
        let answer = |status, code: &str| ErrorAnswer {
            status,
            code: code.into(),
            message: String::new(),
        };
        assert!(is_referrer_refusal(&answer(405, "UNSUPPORTED")));
        assert!(is_referrer_refusal(&answer(400, "MANIFEST_INVALID")));
        assert!(!is_referrer_refusal(&answer(400, "MANIFEST_BLOB_UNKNOWN")));
        assert!(!is_referrer_refusal(&answer(404, "NAME_UNKNOWN")));
        assert!(!is_referrer_refusal(&answer(401, "UNAUTHORIZED")));
    }
}
