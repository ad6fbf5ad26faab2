//! How a layer's tar stream is compressed.
//!
//! The default, [`Compression::Auto`], decides from the layer's own content so
//! that digests stay reproducible: a layer whose bytes are mostly already
//! compressed (jars, zips, archives, images) gets *stored* deflate blocks — still
//! plain gzip that every runtime reads, but without spending seconds of CPU to
//! save a few percent — and everything else gets real deflate. The deflate
//! implementation is pinned (flate2's pure-Rust miniz_oxide backend, locked in
//! Cargo.lock): another compressor gives other bytes, hence other digests.

use std::fmt;
use std::str::FromStr;

/// The deflate level used for compressible layers.
pub(crate) const DEFAULT_GZIP_LEVEL: u32 = 6;

/// The file-name endings treated as already compressed.
const COMPRESSED_SUFFIXES: &[&str] = &[
    ".jar", ".war", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".png", ".jpg", ".jpeg",
    ".gif", ".webp", ".woff", ".woff2", ".jmod", ".deb",
];

/// The compression requested for layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Compression {
    /// Decide per layer from its content (the default).
    #[default]
    Auto,
    /// gzip with real deflate at the given level (1–9).
    Gzip(u32),
    /// gzip made of stored deflate blocks: valid gzip, no compression.
    Stored,
}

impl Compression {
    /// Resolves `Auto` for a layer holding `compressed_bytes` of already
    /// compressed files among `total_bytes` of file content.
    pub fn resolve(self, compressed_bytes: u64, total_bytes: u64) -> Compression {
        match self {
            Compression::Auto if total_bytes > 0 && compressed_bytes * 2 >= total_bytes => {
                Compression::Stored
            }
            Compression::Auto => Compression::Gzip(DEFAULT_GZIP_LEVEL),
            other => other,
        }
    }

    /// The deflate level handed to the compressor.
    pub fn level(self) -> u32 {
        match self {
            Compression::Auto => DEFAULT_GZIP_LEVEL,
            Compression::Gzip(level) => level,
            Compression::Stored => 0,
        }
    }
}

/// True when a file of this name is most likely compressed already.
pub(crate) fn looks_compressed(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    COMPRESSED_SUFFIXES.iter().any(|s| lower.ends_with(s))
}

impl FromStr for Compression {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "auto" => Ok(Compression::Auto),
            "stored" => Ok(Compression::Stored),
            "gzip" => Ok(Compression::Gzip(DEFAULT_GZIP_LEVEL)),
            _ => {
                let level = text
                    .strip_prefix("gzip:")
                    .and_then(|l| l.parse::<u32>().ok())
                    .filter(|l| (1..=9).contains(l));
                level.map(Compression::Gzip).ok_or_else(|| {
                    format!("unknown compression {text:?}: use auto, stored, gzip or gzip:1..9")
                })
            }
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Compression::Auto => f.write_str("auto"),
            Compression::Gzip(level) => write!(f, "gzip:{level}"),
            Compression::Stored => f.write_str("stored"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_stores_layers_of_jars_and_deflates_classes() {
        assert_eq!(Compression::Auto.resolve(90, 100), Compression::Stored);
        assert_eq!(Compression::Auto.resolve(10, 100), Compression::Gzip(6));
        assert_eq!(Compression::Auto.resolve(0, 0), Compression::Gzip(6));
        assert_eq!(Compression::Gzip(1).resolve(100, 100), Compression::Gzip(1));
    }

    #[test]
    fn parses_flag_values() {
        assert_eq!(
            "gzip:9".parse::<Compression>().unwrap(),
            Compression::Gzip(9)
        );
        assert!("gzip:0".parse::<Compression>().is_err());
        assert!("zstd".parse::<Compression>().is_err());
        assert!(looks_compressed("BOOT-INF/lib/X.JAR"));
        assert!(!looks_compressed("a/B.class"));
    }
}
