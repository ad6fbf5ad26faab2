//! Streaming a blob to a registry while it is being produced: the layer
//! writer hands its compressed bytes to a [`StreamTee`] (a bounded channel,
//! so memory stays flat and a slow registry slows the writer, not RAM), and
//! an upload task sends them as a chunked upload session — `POST`, a `PATCH`
//! per part with `Content-Range`, then `PUT ?digest=` once the digest is
//! known (the distribution spec's chunked upload; a blob smaller than one
//! part goes up in that closing `PUT`). Nothing is sent for a
//! layer that never produces bytes (a cache hit).
//!
//! A stream that fails is abandoned, never retried here: the blob is
//! complete on disk by then, and the push that follows finds it missing and
//! uploads it from the file under the usual retry rules.

use crate::image::layer::BlobTee;
use crate::image::Digest;
use crate::registry::blobs::{close_session, push_scope, send_part, start_session};
use crate::registry::transport::Registry;
use anyhow::{anyhow, Result};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Bytes handed over at once; also the channel's unit of memory.
const PIECE: usize = 1 << 20;
/// Pieces in flight between the writer and the upload.
const PIECES_IN_FLIGHT: usize = 8;

/// What the writer sends.
enum Piece {
    Bytes(bytes::Bytes),
    Done(Digest, u64),
}

/// The writer's end: collects bytes into pieces and sends them; if the
/// upload has given up, it just drops them (the layer write never fails
/// because of the stream).
pub(crate) struct StreamTee {
    tx: Option<mpsc::Sender<Piece>>,
    buffer: Vec<u8>,
}

impl StreamTee {
    fn send(&mut self, piece: Piece) {
        if let Some(tx) = &self.tx {
            // A closed channel means the upload stopped: stop sending.
            if tx.blocking_send(piece).is_err() {
                self.tx = None;
            }
        }
    }

    fn flush_buffer(&mut self) {
        if !self.buffer.is_empty() {
            let piece = bytes::Bytes::from(std::mem::take(&mut self.buffer));
            self.send(Piece::Bytes(piece));
        }
    }
}

impl BlobTee for StreamTee {
    fn bytes(&mut self, bytes: &[u8]) {
        if self.tx.is_none() {
            return;
        }
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= PIECE {
            self.flush_buffer();
        }
    }

    fn finish(&mut self, digest: &Digest, size: u64) {
        self.flush_buffer();
        self.send(Piece::Done(digest.clone(), size));
        self.tx = None;
    }
}

/// A tee for one layer and the upload task that sends what it gets to
/// `repo`; the task ends with the digest uploaded, `None` when the layer
/// produced nothing (a cache hit), or the error that stopped it.
pub(crate) fn stream_blob(
    registry: Arc<Registry>,
    repo: String,
    part_size: usize,
) -> (StreamTee, tokio::task::JoinHandle<Result<Option<Digest>>>) {
    let (tx, rx) = mpsc::channel(PIECES_IN_FLIGHT);
    let task = tokio::spawn(async move { upload(&registry, &repo, rx, part_size).await });
    (
        StreamTee {
            tx: Some(tx),
            buffer: Vec::with_capacity(PIECE),
        },
        task,
    )
}

async fn upload(
    registry: &Registry,
    repo: &str,
    mut rx: mpsc::Receiver<Piece>,
    part_size: usize,
) -> Result<Option<Digest>> {
    let Some(first) = rx.recv().await else {
        return Ok(None);
    };
    let scope = push_scope(repo);
    let what = format!("streaming a layer to {repo}");
    let mut location = start_session(registry, repo, &scope, &what).await?;
    let mut offset: u64 = 0;
    let mut part: Vec<u8> = Vec::with_capacity(part_size);
    let mut next = Some(first);
    loop {
        let piece = match next.take() {
            Some(piece) => piece,
            None => rx
                .recv()
                .await
                .ok_or_else(|| anyhow!("{what}: the layer was not finished"))?,
        };
        match piece {
            Piece::Bytes(bytes) => {
                part.extend_from_slice(&bytes);
                if part.len() >= part_size {
                    let full = std::mem::replace(&mut part, Vec::with_capacity(part_size));
                    let size = full.len() as u64;
                    location =
                        send_part(registry, &scope, &what, &location, offset, full.into()).await?;
                    offset += size;
                }
            }
            Piece::Done(digest, size) => {
                // A blob that never filled a part goes up whole with the
                // closing PUT (as a small blob does without streaming);
                // otherwise the rest is one more PATCH and the PUT is empty.
                let last = if offset == 0 {
                    bytes::Bytes::from(std::mem::take(&mut part))
                } else {
                    let rest = std::mem::take(&mut part);
                    let size = rest.len() as u64;
                    if size > 0 {
                        location =
                            send_part(registry, &scope, &what, &location, offset, rest.into())
                                .await?;
                    }
                    offset += size;
                    bytes::Bytes::new()
                };
                let sent = offset + last.len() as u64;
                if sent != size {
                    anyhow::bail!("{what}: sent {sent} bytes of {size}");
                }
                close_session(registry, &scope, &what, &location, &digest, last).await?;
                return Ok(Some(digest));
            }
        }
    }
}
