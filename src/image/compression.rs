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
/// The zstd level of a plain `zstd` (zstd's own default).
pub(crate) const DEFAULT_ZSTD_LEVEL: i32 = 3;

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
    /// zstd at the given level (1–19): smaller than stored gzip and far
    /// cheaper than deflate, for runtimes that pull zstd layers (containerd
    /// 1.5+, ECS on Fargate platform 1.4.0, Podman/CRI-O); not Docker v2s2.
    Zstd(i32),
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

    /// The deflate level handed to a gzip compressor (0: stored blocks).
    pub fn level(self) -> u32 {
        match self {
            Compression::Auto | Compression::Zstd(_) => DEFAULT_GZIP_LEVEL,
            Compression::Gzip(level) => level,
            Compression::Stored => 0,
        }
    }

    /// True for zstd.
    pub fn is_zstd(self) -> bool {
        matches!(self, Compression::Zstd(_))
    }

    /// Resolves `Auto` for a layer of `files` (name, size), as a build does.
    pub fn resolve_for<'a>(self, files: impl Iterator<Item = (&'a str, u64)>) -> Compression {
        let (mut compressed, mut total) = (0, 0);
        for (name, size) in files {
            total += size;
            if looks_compressed(name) {
                compressed += size;
            }
        }
        self.resolve(compressed, total)
    }

    /// Which runtimes pull layers compressed this way.
    pub fn pulled_by(self) -> &'static str {
        match self {
            Compression::Zstd(_) => {
                "zstd layers (OCI media type application/vnd.oci.image.layer.v1.tar+zstd) are pulled \
                 by containerd 1.5+ (ECS on Fargate platform 1.4.0, EKS), Docker Engine 23.0+, \
                 Podman and CRI-O; older Docker engines cannot pull them"
            }
            _ => "gzip layers are pulled by every runtime",
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
            "zstd" => Ok(Compression::Zstd(DEFAULT_ZSTD_LEVEL)),
            _ => {
                let gzip = text
                    .strip_prefix("gzip:")
                    .and_then(|l| l.parse::<u32>().ok())
                    .filter(|l| (1..=9).contains(l))
                    .map(Compression::Gzip);
                let zstd = text
                    .strip_prefix("zstd:")
                    .and_then(|l| l.parse::<i32>().ok())
                    .filter(|l| (1..=19).contains(l))
                    .map(Compression::Zstd);
                gzip.or(zstd).ok_or_else(|| {
                    format!(
                        "unknown compression {text:?}: use auto, stored, gzip, gzip:1..9, zstd or zstd:1..19"
                    )
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
            Compression::Zstd(level) => write!(f, "zstd:{level}"),
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
        assert_eq!("zstd".parse::<Compression>().unwrap(), Compression::Zstd(3));
        assert_eq!(
            "zstd:19".parse::<Compression>().unwrap(),
            Compression::Zstd(19)
        );
        assert!("zstd:0".parse::<Compression>().is_err());
        assert!("zstd:20".parse::<Compression>().is_err());
        assert_eq!(
            Compression::Zstd(5)
                .to_string()
                .parse::<Compression>()
                .unwrap(),
            Compression::Zstd(5)
        );
        assert_eq!(Compression::Zstd(3).resolve(90, 100), Compression::Zstd(3));
        assert!(looks_compressed("BOOT-INF/lib/X.JAR"));
        assert!(!looks_compressed("a/B.class"));
    }
}
