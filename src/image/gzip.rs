//! gzip streams with fixed header fields (no name, mtime 0, OS byte 255):
//! real deflate through flate2 (miniz_oxide), or stored blocks framed here.
//!
//! Stored blocks are what `--compression stored` and `auto` use for layers of
//! jars. miniz_oxide produces them byte by byte at ~375 MB/s; framing them
//! directly is a copy. The framing follows miniz_oxide's level-0 output
//! exactly — a block every 31,745 input bytes, a full last block followed by
//! an empty final one — so the bytes (and digests) are the same either way;
//! a test holds the two side by side.

use std::io::{self, Write};

/// Input bytes per stored block (miniz_oxide's level-0 block size).
const STORED_BLOCK: usize = 31 * 1024 + 1;

/// gzip header: magic, deflate, no flags, mtime 0, XFL as flate2 writes it
/// for levels 0–1, OS 255 (unknown).
const STORED_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255];

/// A gzip writer: deflate at a level, or stored blocks.
pub(crate) enum GzipWriter<W: Write> {
    /// Real deflate via flate2.
    Deflate(flate2::write::GzEncoder<W>),
    /// Stored blocks, framed directly.
    Stored(StoredGzipWriter<W>),
}

impl<W: Write> GzipWriter<W> {
    /// A writer compressing at `level` (0 = stored blocks).
    pub(crate) fn new(out: W, level: u32) -> io::Result<Self> {
        if level == 0 {
            return Ok(GzipWriter::Stored(StoredGzipWriter::new(out)?));
        }
        Ok(GzipWriter::Deflate(
            flate2::GzBuilder::new()
                .mtime(0)
                .operating_system(255)
                .write(out, flate2::Compression::new(level)),
        ))
    }

    /// Ends the stream and returns the inner writer.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            GzipWriter::Deflate(encoder) => encoder.finish(),
            GzipWriter::Stored(writer) => writer.finish(),
        }
    }
}

impl<W: Write> Write for GzipWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            GzipWriter::Deflate(encoder) => encoder.write(buf),
            GzipWriter::Stored(writer) => writer.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            GzipWriter::Deflate(encoder) => encoder.flush(),
            GzipWriter::Stored(writer) => writer.flush(),
        }
    }
}

/// gzip made of stored deflate blocks.
pub(crate) struct StoredGzipWriter<W: Write> {
    out: W,
    /// Input not yet framed: at most one block.
    pending: Vec<u8>,
    crc: flate2::Crc,
}

impl<W: Write> StoredGzipWriter<W> {
    /// Writes the header and returns the writer.
    pub(crate) fn new(mut out: W) -> io::Result<Self> {
        out.write_all(&STORED_HEADER)?;
        Ok(Self {
            out,
            pending: Vec::with_capacity(STORED_BLOCK),
            crc: flate2::Crc::new(),
        })
    }

    fn block(out: &mut W, data: &[u8], last: bool) -> io::Result<()> {
        let len = data.len() as u16;
        let mut header = [u8::from(last), 0, 0, 0, 0];
        header[1..3].copy_from_slice(&len.to_le_bytes());
        header[3..5].copy_from_slice(&(!len).to_le_bytes());
        out.write_all(&header)?;
        out.write_all(data)
    }

    /// Writes the final block and the trailer (CRC-32, size mod 2^32).
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if self.pending.len() == STORED_BLOCK {
            Self::block(&mut self.out, &self.pending, false)?;
            self.pending.clear();
        }
        Self::block(&mut self.out, &self.pending, true)?;
        self.out.write_all(&self.crc.sum().to_le_bytes())?;
        self.out.write_all(&self.crc.amount().to_le_bytes())?;
        Ok(self.out)
    }
}

impl<W: Write> Write for StoredGzipWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = buf.len();
        self.crc.update(buf);
        let mut rest = buf;
        if !self.pending.is_empty() {
            let take = (STORED_BLOCK - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() < STORED_BLOCK || rest.is_empty() {
                return Ok(written);
            }
            Self::block(&mut self.out, &self.pending, false)?;
            self.pending.clear();
        }
        // A full block is framed only once more input follows it.
        while rest.len() > STORED_BLOCK {
            Self::block(&mut self.out, &rest[..STORED_BLOCK], false)?;
            rest = &rest[STORED_BLOCK..];
        }
        self.pending.extend_from_slice(rest);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn with_flate2(data: &[u8], chunk: usize) -> Vec<u8> {
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .operating_system(255)
            .write(Vec::new(), flate2::Compression::new(0));
        for part in data.chunks(chunk) {
            gz.write_all(part).unwrap();
        }
        gz.finish().unwrap()
    }

    fn with_stored(data: &[u8], chunk: usize) -> Vec<u8> {
        let mut gz = GzipWriter::new(Vec::new(), 0).unwrap();
        for part in data.chunks(chunk) {
            gz.write_all(part).unwrap();
        }
        gz.finish().unwrap()
    }

    #[test]
    fn stored_framing_matches_miniz_level_0_byte_for_byte() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let data: Vec<u8> = (0..3 * STORED_BLOCK + 100)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let sizes = [
            0,
            1,
            512,
            STORED_BLOCK - 1,
            STORED_BLOCK,
            STORED_BLOCK + 1,
            2 * STORED_BLOCK,
            3 * STORED_BLOCK + 100,
        ];
        for size in sizes {
            for chunk in [1 << 20, 8192, 512, STORED_BLOCK, 100_003] {
                let ours = with_stored(&data[..size], chunk);
                assert!(
                    ours == with_flate2(&data[..size], chunk),
                    "size {size}, chunk {chunk}"
                );
                let mut back = Vec::new();
                flate2::read::GzDecoder::new(&ours[..])
                    .read_to_end(&mut back)
                    .unwrap();
                assert_eq!(back, &data[..size]);
            }
        }
    }
}
