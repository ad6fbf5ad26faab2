//! Streaming a blob to a registry while it is being produced: the layer
//! writer hands its compressed bytes to a [`StreamTee`] (a bounded channel,
//! so memory stays flat and a slow registry slows the writer, not RAM), and
//! an upload task sends them in an upload session — `POST`, one `PATCH`
//! whose body is the stream itself (no `Content-Range`: its length is not
//! known yet), then `PUT ?digest=` once the digest is known. One request
//! carries the whole blob, so the registry does the same work as for a
//! monolithic upload, and the first bytes leave as soon as one piece is
//! written. A blob smaller than one piece goes up in the closing `PUT`.
//! Nothing is sent for a layer that never produces bytes (a cache hit).
//!
//! A stream that fails is abandoned, never retried here: the blob is
//! complete on disk by then, and the push that follows finds it missing and
//! uploads it from the file under the usual retry rules.

use crate::image::layer::BlobTee;
use crate::image::Digest;
use crate::registry::blobs::{
    cancel_session, close_session, push_scope, send_stream, start_session,
};
use crate::registry::transport::Registry;
use anyhow::{anyhow, Result};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

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
) -> (StreamTee, tokio::task::JoinHandle<Result<Option<Digest>>>) {
    let (tx, rx) = mpsc::channel(PIECES_IN_FLIGHT);
    let task = tokio::spawn(async move { upload(&registry, &repo, rx).await });
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
) -> Result<Option<Digest>> {
    let what = format!("streaming a layer to {repo}");
    let Some(first) = rx.recv().await else {
        return Ok(None);
    };
    let scope = push_scope(repo);
    let mut location = start_session(registry, repo, &scope, &what).await?;
    let sent = send_in_session(registry, &scope, &what, &mut location, rx, first).await;
    if sent.is_err() {
        // The push sends this blob in a session of its own: free this one.
        cancel_session(registry, &scope, &location).await;
    }
    sent.map(Some)
}

/// Sends the pieces, `first` and then the rest of `rx`, in the session at
/// `location` (kept up to date) and closes it with the digest.
async fn send_in_session(
    registry: &Registry,
    scope: &str,
    what: &str,
    location: &mut String,
    mut rx: mpsc::Receiver<Piece>,
    first: Piece,
) -> Result<Digest> {
    let unfinished = || anyhow!("{what}: the layer was not finished");
    let second = rx.recv().await.ok_or_else(unfinished)?;
    if let (Piece::Bytes(whole), Piece::Done(digest, size)) = (&first, &second) {
        // A blob smaller than one piece goes up whole in the closing PUT,
        // as a small blob does without streaming.
        check_size(what, whole.len() as u64, *size)?;
        close_session(registry, scope, what, location, digest, whole.clone()).await?;
        return Ok(digest.clone());
    }
    let (done_tx, done_rx) = oneshot::channel();
    let stall = Stall::default();
    // The body reads from its own channel, fed from the writer's by this
    // task: giving up drops the writer's channel here, which the writer sees
    // at once, even while the HTTP connection still holds the body.
    let (body_tx, body_rx) = mpsc::channel(1);
    let feed = Feed {
        rx: body_rx,
        sent: 0,
        done: Some(done_tx),
        stall: stall.clone(),
    };
    let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(feed, Feed::next));
    let timeout = registry.read_timeout();
    let next = {
        let forward = forward_pieces(rx, [first, second], body_tx);
        let patch = send_stream(registry, scope, what, location, body);
        let stalled = stall.exceeds(timeout);
        tokio::pin!(forward, patch, stalled);
        let mut forwarded = false;
        loop {
            tokio::select! {
                sent = &mut patch => break sent?,
                () = &mut forward, if !forwarded => forwarded = true,
                () = &mut stalled => anyhow::bail!(
                    "{what}: the registry took nothing for {} s (--read-timeout)",
                    timeout.as_secs_f64()
                ),
            }
        }
    };
    *location = next;
    let (digest, size, sent) = done_rx.await.map_err(|_| unfinished())?;
    check_size(what, sent, size)?;
    close_session(
        registry,
        scope,
        what,
        location,
        &digest,
        bytes::Bytes::new(),
    )
    .await?;
    Ok(digest)
}

fn check_size(what: &str, sent: u64, size: u64) -> Result<()> {
    if sent != size {
        anyhow::bail!("{what}: sent {sent} bytes of {size}");
    }
    Ok(())
}

/// Hands the writer's pieces, `ahead` first, to the body until the last
/// ([`Piece::Done`]); stops early if either side goes away (dropping `tx`,
/// which fails an unfinished body).
async fn forward_pieces(mut rx: mpsc::Receiver<Piece>, ahead: [Piece; 2], tx: mpsc::Sender<Piece>) {
    for piece in ahead {
        if tx.send(piece).await.is_err() {
            return;
        }
    }
    while let Some(piece) = rx.recv().await {
        let last = matches!(piece, Piece::Done(..));
        if tx.send(piece).await.is_err() || last {
            return;
        }
    }
}

/// The body of the streamed `PATCH`: the pieces as they come, ending at
/// [`Piece::Done`] (whose digest and size, with the bytes sent, go to
/// `done`), or failing if the writer goes away first, so an unfinished
/// layer never looks like a whole one.
struct Feed {
    rx: mpsc::Receiver<Piece>,
    sent: u64,
    done: Option<oneshot::Sender<(Digest, u64, u64)>>,
    stall: Stall,
}

impl Feed {
    async fn next(mut self) -> Option<(std::io::Result<bytes::Bytes>, Feed)> {
        // Asked for more: the registry took what it had. Waiting for the
        // writer is not the registry's fault.
        self.stall.moving();
        let piece = self.rx.recv().await;
        match piece {
            Some(Piece::Bytes(bytes)) => {
                self.sent += bytes.len() as u64;
                self.stall.waiting();
                Some((Ok(bytes), self))
            }
            Some(Piece::Done(digest, size)) => {
                if let Some(done) = self.done.take() {
                    let _ = done.send((digest, size, self.sent));
                }
                // Now the answer is awaited.
                self.stall.waiting();
                None
            }
            // The writer dropped its end without finishing (a failed
            // build): fail the request once, then end.
            None if self.done.take().is_some() => Some((
                Err(std::io::Error::other("the layer was not finished")),
                self,
            )),
            None => None,
        }
    }
}

/// Since when a streamed upload has been waiting on the registry (to take
/// the piece handed over, or to answer), if it is: the read timeout of a
/// stream, which has no per-read timeout because its body is made as it goes.
#[derive(Clone, Default)]
struct Stall(Arc<std::sync::Mutex<Option<Instant>>>);

impl Stall {
    fn waiting(&self) {
        let mut since = self.0.lock().unwrap_or_else(|e| e.into_inner());
        since.get_or_insert_with(Instant::now);
    }

    fn moving(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    fn waited(&self) -> Duration {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map_or(Duration::ZERO, |since| since.elapsed())
    }

    /// Returns once the upload has waited `timeout` on the registry.
    async fn exceeds(&self, timeout: Duration) {
        let tick = (timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        while self.waited() < timeout {
            tokio::time::sleep(tick).await;
        }
    }
}
