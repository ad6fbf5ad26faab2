//! Manifests in a repository: fetch by tag or digest (all four media types),
//! push with a check of the registry's `Docker-Content-Digest`.

use crate::image::manifest::{DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST};
use crate::image::Digest;
use crate::registry::blobs::{pull_scope, push_scope};
use crate::registry::transport::{response_error, Registry};
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
    let bytes = response.bytes().await?.to_vec();
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

/// Pushes a manifest under `reference` and checks the digest the registry reports.
pub(crate) async fn put_manifest(
    registry: &Registry,
    repo: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> Result<()> {
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
    if response.status() != StatusCode::CREATED {
        return Err(response_error(response, registry.host(), &what).await);
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
    Ok(())
}
