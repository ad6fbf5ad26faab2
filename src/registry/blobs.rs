//! Blobs in a repository: is it there, mount it from another repository,
//! upload it (small blobs whole in the closing `PUT`; large ones as `PATCH`
//! parts with `Content-Range`, then `PUT`), download it (streamed, checked
//! against its digest).
//!
//! It answers to registries as they are, not only as the spec reads: any
//! 2xx is success where the spec names `202` or `201` (Amazon ECR answers a
//! `PATCH` with `201`: openai/tart#273, jdx/mise PR #11376,
//! aws/containers-roadmap#2831); the next part's offset is counted from the
//! bytes sent, never read from the `Range` answer (ECR's stops advancing
//! after the first part: aws/containers-roadmap#2831, crashappsec/chalk PR
//! #682); and a mount the registry refuses becomes a plain upload.

use crate::image::digest::{Digest, HashingWriter};
use crate::registry::transport::{answer_error, response_error, ErrorAnswer, Registry};
use crate::util::fs::{disk_full_or, DiskFull};
use crate::util::temp::{self, TempKind};
use anyhow::{anyhow, bail, Context, Result};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use std::io::Write;
use std::path::Path;

/// The upload part size, and the largest blob sent whole in one `PUT`.
///
/// Amazon ECR is the registry that bounds it, from both sides:
/// - every part but the last must be at least 5 MiB; a smaller one makes
///   ECR raise LayerPartTooSmallException, and the closing `PUT` fails with
///   `400 BLOB_UPLOAD_INVALID` (dotnet/sdk-container-builds#424);
/// - its UploadLayerPart API takes at most 10 MiB in a part (ECR service
///   quotas, "Layer part size").
///
/// 8 MiB sits between the two, and every other registry takes it.
pub(crate) const DEFAULT_CHUNK_SIZE: usize = 8 << 20;
/// ECR's smallest part but the last (see [`DEFAULT_CHUNK_SIZE`]).
const ECR_MIN_PART: usize = 5 << 20;
/// ECR's UploadLayerPart's largest part (see [`DEFAULT_CHUNK_SIZE`]).
const ECR_MAX_PART: usize = 10 << 20;
const _: () = assert!(ECR_MIN_PART <= DEFAULT_CHUNK_SIZE && DEFAULT_CHUNK_SIZE <= ECR_MAX_PART);

/// How many times an upload session is started before giving up.
const UPLOAD_SESSIONS: u32 = 3;

/// The token scope for pulling from `repo`.
pub(crate) fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

/// The token scope for pushing to `repo`.
pub(crate) fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

/// True when `repo` has the blob.
pub(crate) async fn blob_exists(registry: &Registry, repo: &str, digest: &Digest) -> Result<bool> {
    let path = format!("/v2/{repo}/blobs/{digest}");
    let response = registry
        .send(&push_scope(repo), "checking a blob", || {
            registry.request(Method::HEAD, &path)
        })
        .await?;
    match response.status() {
        StatusCode::OK => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(response_error(
            response,
            registry.host(),
            &format!("checking blob {digest} in {repo}"),
        )
        .await),
    }
}

/// What a mount request led to.
pub(crate) enum MountOutcome {
    /// The registry linked the blob: nothing to upload.
    Mounted,
    /// The registry opened an upload session instead (at this location).
    UploadAt(String),
    /// The registry refused the mount (403, 404, 405, …): upload instead.
    Refused,
}

/// Asks the registry to link `digest` from repository `from` into `repo`.
pub(crate) async fn mount_blob(
    registry: &Registry,
    repo: &str,
    digest: &Digest,
    from: &str,
) -> Result<MountOutcome> {
    let path = format!("/v2/{repo}/blobs/uploads/?mount={digest}&from={from}");
    let scope = format!("{} {}", push_scope(repo), pull_scope(from));
    let response = registry
        .send(&scope, "mounting a blob", || {
            registry
                .request(Method::POST, &path)
                .header(CONTENT_LENGTH, 0)
        })
        .await?;
    // ECR mounts only where the account enabled BLOB_MOUNTING, within one
    // account and region, and only a blob that a manifest of `from`
    // references (ECR user guide, blob mounting); elsewhere it answers 202
    // with a plain upload session. A refusal or an error never fails the
    // push: the blob is uploaded instead.
    let status = response.status();
    if status == StatusCode::CREATED {
        Ok(MountOutcome::Mounted)
    } else if status.is_success() {
        Ok(location(&response).map_or(MountOutcome::Refused, MountOutcome::UploadAt))
    } else {
        Ok(MountOutcome::Refused)
    }
}

fn location(response: &reqwest::Response) -> Result<String> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| {
            anyhow!(
                "the registry answered {} without a Location",
                response.status()
            )
        })
}

/// Uploads the blob file at `path` to `repo`; restarts the session after a
/// failure (bounded). `started` is a session the caller already has (from a
/// mount that fell back). `on_bytes` hears of every part sent.
pub(crate) async fn upload_blob(
    registry: &Registry,
    repo: &str,
    digest: &Digest,
    path: &Path,
    chunk_size: usize,
    mut started: Option<String>,
    on_bytes: &(dyn Fn(u64) + Send + Sync),
) -> Result<()> {
    let mut last_error = None;
    for _ in 0..UPLOAD_SESSIONS {
        match upload_session(
            registry,
            repo,
            digest,
            path,
            chunk_size,
            started.take(),
            on_bytes,
        )
        .await
        {
            Ok(()) => return Ok(()),
            Err(error) if error.is::<FinalUploadError>() || error.is::<DigestRejected>() => {
                return Err(error)
            }
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.expect("at least one session ran"))
}

/// An upload failure that another session cannot fix (e.g. a digest the
/// registry computed differently).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct FinalUploadError(String);

async fn upload_session(
    registry: &Registry,
    repo: &str,
    digest: &Digest,
    path: &Path,
    chunk_size: usize,
    started: Option<String>,
    on_bytes: &(dyn Fn(u64) + Send + Sync),
) -> Result<()> {
    let scope = push_scope(repo);
    let what = format!("uploading {digest} to {repo}");
    let mut location = match started {
        Some(location) => location,
        None => start_session(registry, repo, &scope, &what)
            .await
            .map_err(|error| match error.downcast::<SessionRefused>() {
                Ok(SessionRefused(error)) => FinalUploadError(format!("{error:#}")).into(),
                Err(error) => error,
            })?,
    };
    let size = tokio::fs::metadata(path)
        .await
        .with_context(|| format!("reading blob {}", path.display()))?
        .len();
    if size <= chunk_size as u64 {
        return put_monolithic(registry, &scope, &what, &location, digest, path, on_bytes).await;
    }
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("opening blob {}", path.display()))?;
    let mut offset: u64 = 0;
    loop {
        let mut part = Vec::with_capacity(chunk_size);
        use tokio::io::AsyncReadExt;
        (&mut file)
            .take(chunk_size as u64)
            .read_to_end(&mut part)
            .await?;
        if part.is_empty() {
            break;
        }
        let size = part.len() as u64;
        location = send_part(registry, &scope, &what, &location, offset, part.into()).await?;
        offset += size;
        on_bytes(size);
    }
    close_session(
        registry,
        &scope,
        &what,
        &location,
        digest,
        bytes::Bytes::new(),
    )
    .await
}

/// The registry answered an upload session's `POST` with an error.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub(crate) struct SessionRefused(anyhow::Error);

/// Opens an upload session in `repo` (`POST …/blobs/uploads/`); returns
/// where its parts go.
pub(crate) async fn start_session(
    registry: &Registry,
    repo: &str,
    scope: &str,
    what: &str,
) -> Result<String> {
    let path = format!("/v2/{repo}/blobs/uploads/");
    let response = registry
        .send(scope, what, || {
            registry
                .request(Method::POST, &path)
                .header(CONTENT_LENGTH, 0)
        })
        .await?;
    if !response.status().is_success() {
        let error = response_error(response, registry.host(), what).await;
        return Err(SessionRefused(error).into());
    }
    location(&response)
}

/// Sends one part of a session at `offset` (`PATCH` with `Content-Range`);
/// returns where the next one goes.
pub(crate) async fn send_part(
    registry: &Registry,
    scope: &str,
    what: &str,
    location: &str,
    offset: u64,
    part: bytes::Bytes,
) -> Result<String> {
    let end = offset + part.len() as u64 - 1;
    let response = registry
        .send(scope, what, || {
            registry
                .request(Method::PATCH, location)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header("Content-Range", format!("{offset}-{end}"))
                .header(CONTENT_LENGTH, part.len())
                .body(part.clone())
        })
        .await?;
    part_answer(registry, response, what, location).await
}

/// Checks the answer to a `PATCH`: any 2xx is success (ECR answers `201`
/// where the spec names `202`). Returns where the session goes on: the
/// `Location` if one was sent, else where it was. The `Range` header is
/// never read: ECR's stops advancing after the first part.
async fn part_answer(
    registry: &Registry,
    response: reqwest::Response,
    what: &str,
    location: &str,
) -> Result<String> {
    if !response.status().is_success() {
        return Err(response_error(response, registry.host(), what).await);
    }
    Ok(location_of(&response).unwrap_or_else(|| location.to_string()))
}

/// Sends a body of unknown length as one `PATCH` of the session at
/// `location`, without `Content-Range` (a streamed upload: the body goes
/// out as it is produced; `docker push` uploads its layers the same way).
/// Sent once: a stream cannot be replayed. Returns the session's next location.
pub(crate) async fn send_stream(
    registry: &Registry,
    scope: &str,
    what: &str,
    location: &str,
    body: reqwest::Body,
) -> Result<String> {
    let request = registry
        .request(Method::PATCH, location)
        .header(CONTENT_TYPE, "application/octet-stream")
        .body(body);
    let response = registry.send_once(scope, what, request).await?;
    part_answer(registry, response, what, location).await
}

/// Cancels the session at `location` (`DELETE`), best effort and bounded by
/// the read timeout: a registry purges abandoned sessions in time anyway.
pub(crate) async fn cancel_session(registry: &Registry, scope: &str, location: &str) {
    let request = registry.request(Method::DELETE, location);
    let cancel = registry.send_once(scope, "cancelling an upload session", request);
    let _ = tokio::time::timeout(registry.read_timeout(), cancel).await;
}

/// Closes a session with `PUT ?digest=`, carrying `last` (the whole blob
/// when no part was sent, else nothing), and checks the registry's answer.
pub(crate) async fn close_session(
    registry: &Registry,
    scope: &str,
    what: &str,
    location: &str,
    digest: &Digest,
    last: bytes::Bytes,
) -> Result<()> {
    let url = with_digest(location, digest);
    let response = registry
        .send(scope, what, || {
            registry
                .request(Method::PUT, &url)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, last.len())
                .body(last.clone())
        })
        .await?;
    finish_upload(registry, response, what, digest).await
}

/// A small blob: the whole body in the closing `PUT`.
async fn put_monolithic(
    registry: &Registry,
    scope: &str,
    what: &str,
    location: &str,
    digest: &Digest,
    path: &Path,
    on_bytes: &(dyn Fn(u64) + Send + Sync),
) -> Result<()> {
    let body = bytes::Bytes::from(
        tokio::fs::read(path)
            .await
            .with_context(|| format!("reading blob {}", path.display()))?,
    );
    let size = body.len() as u64;
    close_session(registry, scope, what, location, digest, body).await?;
    on_bytes(size);
    Ok(())
}

/// `location` with the `digest` query parameter that closes an upload.
fn with_digest(location: &str, digest: &Digest) -> String {
    let separator = if location.contains('?') { '&' } else { '?' };
    format!("{location}{separator}digest={digest}")
}

/// The registry refused an upload's closing `PUT`: the bytes it received
/// hash to another digest than the one they were sent as.
#[derive(Debug, thiserror::Error)]
#[error("{message} (the registry computed another digest)")]
pub(crate) struct DigestRejected {
    /// The digest the blob was sent as.
    pub digest: Digest,
    message: String,
}

/// Checks the answer to an upload's closing `PUT` of `digest`.
async fn finish_upload(
    registry: &Registry,
    response: reqwest::Response,
    what: &str,
    digest: &Digest,
) -> Result<()> {
    if response.status().is_success() {
        return Ok(());
    }
    let answer = ErrorAnswer::read(response).await;
    let error = answer_error(&answer, registry.host(), what);
    // A 400 that names no other cause is a digest mismatch; ECR's
    // BLOB_UPLOAD_INVALID (a part under 5 MiB) is not.
    if answer.status == 400 && matches!(answer.code.as_str(), "DIGEST_INVALID" | "") {
        return Err(DigestRejected {
            digest: digest.clone(),
            message: format!("{error:#}"),
        }
        .into());
    }
    Err(error)
}

fn location_of(response: &reqwest::Response) -> Option<String> {
    location(response).ok()
}

/// A download whose connection broke off: worth trying again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DownloadInterrupted(String);

/// Downloads blob `digest` of `repo` into `dest` (atomically), checking the
/// bytes against the digest as they stream.
pub(crate) async fn download_blob(
    registry: &Registry,
    repo: &str,
    digest: &Digest,
    dest: &Path,
) -> Result<()> {
    use futures_util::StreamExt;
    let path = format!("/v2/{repo}/blobs/{digest}");
    let what = format!("downloading {digest} from {repo}");
    let response = registry
        .send(&pull_scope(repo), &what, || {
            registry.request(Method::GET, &path)
        })
        .await?;
    if response.status() != StatusCode::OK {
        return Err(response_error(response, registry.host(), &what).await);
    }
    let dir = dest.parent().expect("blob paths have a parent");
    let length = response.content_length();
    let full = |error: anyhow::Error| {
        disk_full_or(error, || {
            let what = format!("{what} to {}", dir.display());
            let hint = "free space there or point --cache-dir elsewhere";
            match length {
                Some(length) => DiskFull::new(what, length, hint),
                None => DiskFull::size_unknown(what, hint),
            }
        })
    };
    let temp = temp::file_in(dir, TempKind::Download).map_err(full)?;
    let mut writer = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, temp.reopen()?));
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            anyhow::Error::new(DownloadInterrupted(format!(
                "registry {}: {what}: the download broke off ({e})",
                registry.host()
            )))
        })?;
        writer
            .write_all(&chunk)
            .map_err(|e| full(anyhow::Error::from(e)))?;
    }
    let (buffered, actual, _) = writer.finish();
    // Synced before the rename: after a crash the name holds all its bytes.
    buffered
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|file| file.sync_all())
        .map_err(|e| full(anyhow::Error::from(e)))?;
    if &actual != digest {
        bail!(
            "registry {}: {what}: the bytes have digest {actual} (the registry sent something else)",
            registry.host()
        );
    }
    temp.persist(dest)
        .with_context(|| format!("storing {}", dest.display()))?;
    Ok(())
}
