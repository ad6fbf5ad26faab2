//! The writer behind a [`Compression`]: gzip (deflate or stored blocks, see
//! [`crate::image::gzip`]) or zstd, and reading either back.
//!
//! zstd runs libzstd's multi-threaded mode with one worker per core (at
//! least one) and otherwise fixed parameters: the level, a content checksum,
//! no dictionary, no long-distance matching, 2 MiB jobs up to level 9
//! (libzstd's default job size above it) and libzstd's default overlap. Its
//! output is the same for any worker count of 1 or more (facebook/zstd#2327)
//! as long as the frame is fed through the streaming API and not begun with
//! `ZSTD_e_end`: jobs are cut at fixed offsets of the input, each job's window
//! reaches back a fixed overlap into the one before it, and the jobs' output
//! is concatenated in order, whichever thread compressed them. The job size
//! is set from the level here, and libzstd's defaults derive from the level's
//! parameters only (libzstd 1.5.7, `ZSTDMT_computeTargetJobLog`,
//! `ZSTDMT_computeOverlapSize`), never from the worker count. So a layer's
//! bytes depend only on its tar, the level and the libzstd version locked in
//! Cargo.lock — not on the machine's core count. Zero workers (libzstd's
//! single-threaded mode) would write other bytes, so even a one-core machine
//! gets one worker.

use crate::image::compression::Compression;
use crate::image::gzip::GzipWriter;
use std::io::{self, BufRead, Read, Write};

/// The first bytes of a gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The first bytes of a zstd frame (RFC 8878, section 3.1.1).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// A compressing writer for one layer.
pub(crate) enum Compressor<W: Write> {
    /// gzip, deflate or stored blocks.
    Gzip(GzipWriter<W>),
    /// zstd at a level.
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Compressor<W> {
    /// A writer applying `compression` (`Auto` is treated as its gzip
    /// default; resolve it per layer first).
    pub(crate) fn new(out: W, compression: Compression) -> io::Result<Self> {
        match compression {
            Compression::Zstd(level) => Self::zstd(out, level, zstd_workers()),
            other => Ok(Compressor::Gzip(GzipWriter::new(out, other.level())?)),
        }
    }

    /// A zstd writer at `level` with `workers` worker threads (at least 1:
    /// see the module's documentation). The bytes do not depend on `workers`.
    /// `Encoder::write` hands each buffer to `ZSTD_compressStream`
    /// (`ZSTD_e_continue`), and only `finish` ends the frame.
    fn zstd(out: W, level: i32, workers: u32) -> io::Result<Self> {
        let mut encoder = zstd::stream::write::Encoder::new(out, level)?;
        encoder.include_checksum(true)?;
        encoder.multithread(workers.max(1))?;
        if let Some(size) = zstd_job_size(level) {
            encoder.set_parameter(zstd::stream::raw::CParameter::JobSize(size))?;
        }
        Ok(Compressor::Zstd(encoder))
    }

    /// Ends the stream and returns the inner writer.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Gzip(writer) => writer.finish(),
            Compressor::Zstd(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Gzip(writer) => writer.write(buf),
            Compressor::Zstd(encoder) => encoder.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Gzip(writer) => writer.flush(),
            Compressor::Zstd(encoder) => encoder.flush(),
        }
    }
}

/// The size of libzstd's jobs at `level`: 2 MiB up to level 9, whose
/// default jobs (8 MiB at level 3) hold the first compressed bytes back long
/// enough to slow a push that streams its layers; libzstd's default above
/// (small jobs with their long windows would re-read much overlap). Fixed by
/// the level alone, so the bytes stay the same on any machine.
fn zstd_job_size(level: i32) -> Option<u32> {
    (level <= 9).then_some(2 << 20)
}

/// The zstd worker threads per layer: one per core this process may use, at
/// least one.
fn zstd_workers() -> u32 {
    std::thread::available_parallelism()
        .map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
        .max(1)
}

/// How a blob's bytes are compressed, told by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// gzip (one or more members).
    Gzip,
    /// zstd (one or more frames).
    Zstd,
    /// Anything else: taken as an uncompressed tar.
    Plain,
}

/// Looks at the start of `reader` (without consuming it).
pub(crate) fn framing_of(reader: &mut impl BufRead) -> io::Result<Framing> {
    let start = reader.fill_buf()?;
    Ok(if start.starts_with(&GZIP_MAGIC) {
        Framing::Gzip
    } else if start.starts_with(&ZSTD_MAGIC) {
        Framing::Zstd
    } else {
        Framing::Plain
    })
}

/// A reader of the decompressed content of `reader`, whatever its framing.
pub(crate) fn decompressing_reader<'a, R: BufRead + 'a>(
    mut reader: R,
) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match framing_of(&mut reader)? {
        Framing::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Framing::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
        Framing::Plain => Box::new(reader),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compress(data: &[u8], compression: Compression) -> Vec<u8> {
        let mut writer = Compressor::new(Vec::new(), compression).unwrap();
        writer.write_all(data).unwrap();
        writer.finish().unwrap()
    }

    #[test]
    fn zstd_round_trips_and_is_told_apart_from_gzip() {
        let data: Vec<u8> = (0..200_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for compression in [
            Compression::Zstd(3),
            Compression::Stored,
            Compression::Gzip(6),
        ] {
            let blob = compress(&data, compression);
            let mut reader = io::BufReader::new(&blob[..]);
            let framing = framing_of(&mut reader).unwrap();
            let expected = match compression {
                Compression::Zstd(_) => Framing::Zstd,
                _ => Framing::Gzip,
            };
            assert_eq!(framing, expected);
            let mut back = Vec::new();
            decompressing_reader(reader)
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, data, "{compression}");
        }
    }

    /// Deterministic pseudo-random text that compresses about 2:1: words drawn
    /// (xorshift64*) from a vocabulary of 4096 random lowercase words.
    fn compressible_input(len: usize) -> Vec<u8> {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let words: Vec<Vec<u8>> = (0..4096)
            .map(|_| {
                let len = 3 + next() % 10;
                (0..len).map(|_| b'a' + (next() % 26) as u8).collect()
            })
            .collect();
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            out.extend_from_slice(&words[(next() % 4096) as usize]);
            out.push(if next() % 16 == 0 { b'\n' } else { b' ' });
        }
        out.truncate(len);
        out
    }

    /// zstd at `level` with `workers`, fed in writes of `chunk` bytes.
    fn zstd_with(data: &[u8], level: i32, workers: u32, chunk: usize) -> Vec<u8> {
        let mut writer = Compressor::zstd(Vec::new(), level, workers).unwrap();
        for part in data.chunks(chunk) {
            writer.write_all(part).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn zstd_bytes_do_not_depend_on_the_worker_count() {
        // At level 3 hoist sets 2 MiB jobs (`zstd_job_size`): this input spans
        // 17 jobs (16 whole ones and a short last one), each after the first
        // with an overlap into the one before.
        const JOB: usize = 2 << 20;
        assert_eq!(zstd_job_size(3), Some(JOB as u32));
        let data = compressible_input(16 * JOB + 1_000_017);
        // Writes of several sizes too: how a tar reaches the compressor in
        // pieces must not matter either.
        let one = zstd_with(&data, 3, 1, 1 << 16);
        assert!(
            one.len() < data.len() * 3 / 4,
            "the input compresses: {} of {}",
            one.len(),
            data.len()
        );
        for (workers, chunk) in [(2, 1 << 20), (3, 10_007), (8, data.len())] {
            let other = zstd_with(&data, 3, workers, chunk);
            assert!(
                other == one,
                "{workers} workers gave {} bytes, 1 worker {}",
                other.len(),
                one.len()
            );
        }
        // Zero workers (no worker threads) is another format: the reason
        // hoist never asks for it.
        let mut single = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        single.include_checksum(true).unwrap();
        single.write_all(&data).unwrap();
        assert!(single.finish().unwrap() != one, "0 workers differ from 1+");
        let mut back = Vec::new();
        decompressing_reader(io::BufReader::new(&one[..]))
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == data, "the zstd stream decompresses to its input");
    }

    #[test]
    fn zstd_bytes_are_the_same_on_every_run_and_from_another_thread() {
        let data: Vec<u8> = (0..300_000u32)
            .flat_map(|i| (i * 7 % 97).to_le_bytes())
            .collect();
        let here = compress(&data, Compression::Zstd(3));
        let copy = data.clone();
        let there = std::thread::spawn(move || compress(&copy, Compression::Zstd(3)))
            .join()
            .unwrap();
        assert_eq!(here, there);
        assert_ne!(
            here,
            compress(&data, Compression::Zstd(9)),
            "the level matters"
        );
    }
}
