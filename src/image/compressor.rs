//! The writer behind a [`Compression`]: gzip (deflate or stored blocks, see
//! [`crate::image::gzip`]) or zstd, and reading either back.
//!
//! zstd runs single-threaded with fixed parameters (level, a content
//! checksum, no dictionary, no long-distance matching), so a layer's bytes
//! depend only on its tar and on the libzstd version locked in Cargo.lock —
//! never on the machine's core count: layers are written in parallel with
//! each other, not split inside one compressor.

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
            Compression::Zstd(level) => {
                let mut encoder = zstd::stream::write::Encoder::new(out, level)?;
                encoder.include_checksum(true)?;
                Ok(Compressor::Zstd(encoder))
            }
            other => Ok(Compressor::Gzip(GzipWriter::new(out, other.level())?)),
        }
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
