//! Manifests in a repository: fetch by tag or digest (all four media types,
//! bodies bounded), ask which digest a tag names, push with a check of the
//! registry's `Docker-Content-Digest`, and tell a refused immutable tag from
//! other failures.

use crate::image::manifest::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use crate::image::Digest;
use crate::registry::blobs::{pull_scope, push_scope};
use crate::registry::transport::{
    answer_error, read_limited, response_error, ErrorAnswer, Registry, MAX_MANIFEST_BYTES,
};
use anyhow::{anyhow, bail, Result};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Method, StatusCode};

/// A manifest as fetched: its bytes, media type and digest.
#[derive(Clone, Debug)]
pub(crate) struct FetchedManifest {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The media type (Content-Type, or the document's own `mediaType`).
    pub media_type: String,
    /// The digest of the bytes.
    pub digest: Digest,
}

const ACCEPTED: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Fetches the manifest `reference` (tag or digest) of `repo`.
pub(crate) async fn get_manifest(
    registry: &Registry,
    repo: &str,
    reference: &str,
) -> Result<FetchedManifest> {
    let path = format!("/v2/{repo}/manifests/{reference}");
    let what = format!("fetching manifest {repo}:{reference}");
    let response = registry
        .send(&pull_scope(repo), &what, || {
            registry
                .request(Method::GET, &path)
                .header(ACCEPT, ACCEPTED)
        })
        .await?;
    if response.status() != StatusCode::OK {
        return Err(response_error(response, registry.host(), &what).await);
    }
    let header_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
    let bytes = read_limited(response, MAX_MANIFEST_BYTES, registry.host(), &what).await?;
    let digest = Digest::of(&bytes);
    if let Ok(expected) = Digest::parse(reference) {
        if expected != digest {
            bail!(
                "registry {}: {what}: the bytes have digest {digest}",
                registry.host()
            );
        }
    }
    let own_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(str::to_string));
    let media_type = own_type
        .or(header_type)
        .filter(|t| {
            [
                OCI_INDEX,
                OCI_MANIFEST,
                DOCKER_MANIFEST_LIST,
                DOCKER_MANIFEST,
            ]
            .contains(&t.as_str())
        })
        .ok_or_else(|| {
            anyhow!(
                "registry {}: {what}: unsupported manifest type",
                registry.host()
            )
        })?;
    Ok(FetchedManifest {
        bytes,
        media_type,
        digest,
    })
}

/// The digest of the manifest `reference` (a tag) names in `repo`, or
/// `None` when there is no such tag. Asks with `HEAD` and reads
/// `Docker-Content-Digest`; a registry that sends none is asked with `GET`.
pub(crate) async fn manifest_digest(
    registry: &Registry,
    repo: &str,
    reference: &str,
) -> Result<Option<Digest>> {
    let path = format!("/v2/{repo}/manifests/{reference}");
    let what = format!("checking manifest {repo}:{reference}");
    let response = registry
        .send(&pull_scope(repo), &what, || {
            registry
                .request(Method::HEAD, &path)
                .header(ACCEPT, ACCEPTED)
        })
        .await?;
    match response.status() {
        StatusCode::NOT_FOUND => return Ok(None),
        StatusCode::OK => {}
        _ => return Err(response_error(response, registry.host(), &what).await),
    }
    let reported = response
        .headers()
        .get("Docker-Content-Digest")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Digest::parse(v).ok());
    match reported {
        Some(digest) => Ok(Some(digest)),
        None => Ok(Some(get_manifest(registry, repo, reference).await?.digest)),
    }
}

/// True when `repo` exists and holds at least one tag (a repository pushed
/// to before); false for a new or empty one (404 or no tags).
pub(crate) async fn has_tags(registry: &Registry, repo: &str) -> Result<bool> {
    let path = format!("/v2/{repo}/tags/list?n=1");
    let what = format!("listing the tags of {repo}");
    let response = registry
        .send(&pull_scope(repo), &what, || {
            registry.request(Method::GET, &path)
        })
        .await?;
    match response.status() {
        StatusCode::NOT_FOUND => Ok(false),
        StatusCode::OK => {
            let body = read_limited(response, MAX_MANIFEST_BYTES, registry.host(), &what).await?;
            let listed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            Ok(listed["tags"].as_array().is_some_and(|t| !t.is_empty()))
        }
        _ => Err(response_error(response, registry.host(), &what).await),
    }
}

/// How many tags [`tags_naming`] looks at, at most.
const MAX_TAGS_LOOKED_AT: usize = 100;

/// The tags of `repo` that name `digest`: the registry's tag list (one
/// page of at most 1000), each tag looked up, newest-sorted names first
/// (at most [`MAX_TAGS_LOOKED_AT`] lookups).
pub(crate) async fn tags_naming(
    registry: &Registry,
    repo: &str,
    digest: &Digest,
) -> Result<Vec<String>> {
    let path = format!("/v2/{repo}/tags/list?n=1000");
    let what = format!("listing the tags of {repo}");
    let response = registry
        .send(&pull_scope(repo), &what, || {
            registry.request(Method::GET, &path)
        })
        .await?;
    if response.status() != StatusCode::OK {
        return Err(response_error(response, registry.host(), &what).await);
    }
    let body = read_limited(response, MAX_MANIFEST_BYTES, registry.host(), &what).await?;
    let listed: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| anyhow!("registry {}: {what}: not JSON ({e})", registry.host()))?;
    let mut tags: Vec<String> = listed["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    tags.sort();
    let mut naming = Vec::new();
    for tag in tags.iter().take(MAX_TAGS_LOOKED_AT) {
        if manifest_digest(registry, repo, tag).await?.as_ref() == Some(digest) {
            naming.push(tag.clone());
        }
    }
    Ok(naming)
}

/// How a manifest `PUT` ended, short of a failure.
#[derive(Debug)]
pub(crate) enum PutOutcome {
    /// The registry stored it.
    Stored,
    /// The registry refused to move the tag: an immutable tag that already
    /// names something (ECR: 400 `TAG_INVALID`). The answer is kept for the
    /// error message.
    TagImmutable(ErrorAnswer),
}

/// True for the answer a registry gives when a tag exists and may not move.
///
/// ECR answers a manifest `PUT` to an existing tag of an IMMUTABLE repository
/// (or an IMMUTABLE_WITH_EXCLUSION one, for a tag no filter excludes) with
/// HTTP 400 and the distribution error code `TAG_INVALID`, even when the
/// tag already names the very manifest sent (aws/containers-roadmap#2380).
/// The message is "The image tag '…' already exists in the '…' repository
/// and cannot be overwritten because the tag is immutable." since 2025, and
/// ended "…because the repository is immutable." before
/// (GoogleContainerTools/kaniko#3481; the ECR user guide, "Preventing image
/// tags from being overwritten"; aws/containers-roadmap#862). The code
/// decides, whichever the wording. Other registries (Harbor, MSR) say
/// "immutable" in their message.
pub(crate) fn is_immutable_tag_answer(answer: &ErrorAnswer) -> bool {
    let message = answer.message.to_ascii_lowercase();
    (400..500).contains(&answer.status)
        && (answer.code == "TAG_INVALID" || message.contains("immutable"))
        && answer.code != "MANIFEST_BLOB_UNKNOWN"
}

/// Pushes a manifest under `reference` and checks the digest the registry
/// reports. A refused immutable tag is an outcome, not an error, so that
/// the caller can apply its tag policy.
pub(crate) async fn put_manifest(
    registry: &Registry,
    repo: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> Result<PutOutcome> {
    match put_manifest_answer(registry, repo, reference, media_type, bytes).await? {
        Ok(_) => Ok(PutOutcome::Stored),
        Err(answer) if Digest::parse(reference).is_err() && is_immutable_tag_answer(&answer) => {
            Ok(PutOutcome::TagImmutable(answer))
        }
        Err(answer) => Err(answer_error(
            &answer,
            registry.host(),
            &format!("pushing manifest {repo}:{reference}"),
        )),
    }
}

/// `PUT`s a manifest under `reference`: the answer's headers (a referrer
/// push reads `OCI-Subject` there), or the registry's refusal for the caller
/// to judge. Any 2xx is success: the spec names 201, and hoist asks no more
/// of a registry. A reported digest other than the bytes' is an error.
pub(crate) async fn put_manifest_answer(
    registry: &Registry,
    repo: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> Result<std::result::Result<reqwest::header::HeaderMap, ErrorAnswer>> {
    let path = format!("/v2/{repo}/manifests/{reference}");
    let what = format!("pushing manifest {repo}:{reference}");
    let body = bytes::Bytes::copy_from_slice(bytes);
    let response = registry
        .send(&push_scope(repo), &what, || {
            registry
                .request(Method::PUT, &path)
                .header(CONTENT_TYPE, media_type)
                .body(body.clone())
        })
        .await?;
    if !response.status().is_success() {
        return Ok(Err(ErrorAnswer::read(response).await));
    }
    let ours = Digest::of(bytes);
    if let Some(reported) = response
        .headers()
        .get("Docker-Content-Digest")
        .and_then(|v| v.to_str().ok())
    {
        if reported != ours.as_str() {
            bail!(
                "registry {}: {what}: it reports digest {reported}, hoist computed {ours}",
                registry.host()
            );
        }
    }
    Ok(Ok(response.headers().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_ecrs_immutable_tag_answer() {
        let ecr = ErrorAnswer {
            status: 400,
            code: "TAG_INVALID".into(),
            message: "The image tag 'dev' already exists in the 'plog-back' repository and cannot be overwritten because the repository is immutable.".into(),
        };
        assert!(is_immutable_tag_answer(&ecr));
        let since_2025 = ErrorAnswer {
            status: 400,
            code: "TAG_INVALID".into(),
            message: "The image tag 'dev' already exists in the 'plog-back' repository and cannot be overwritten because the tag is immutable.".into(),
        };
        assert!(is_immutable_tag_answer(&since_2025));
        let other = ErrorAnswer {
            status: 400,
            code: "MANIFEST_INVALID".into(),
            message: "manifest invalid".into(),
        };
        assert!(!is_immutable_tag_answer(&other));
        let server = ErrorAnswer {
            status: 500,
            code: "TAG_INVALID".into(),
            message: String::new(),
        };
        assert!(!is_immutable_tag_answer(&server));
    }
}
