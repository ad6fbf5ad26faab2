//! The application's files as the image will hold them, for the training
//! run: the same paths, the same bytes and the same modification time as the
//! layers hoist writes (a CDS archive or AOT cache records each jar's size
//! and modification time and is refused at run time if either differs).
//! Also the digest of that set of files, which keys the archive.

use crate::image::Digest;
use crate::jar::plan::{FileSource, JarPlan};
use anyhow::{Context, Result};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// Reads the bytes of the plan's files, keeping each jar open once.
struct Sources {
    archives: HashMap<PathBuf, zip::ZipArchive<BufReader<File>>>,
}

impl Sources {
    fn new() -> Self {
        Self {
            archives: HashMap::new(),
        }
    }

    /// Streams the content of `source` into `sink`.
    fn copy(&mut self, source: &FileSource, sink: &mut dyn Write) -> Result<u64> {
        Ok(match source {
            FileSource::Bytes(bytes) => {
                sink.write_all(bytes)?;
                bytes.len() as u64
            }
            FileSource::HostFile(path) => {
                let mut file =
                    File::open(path).with_context(|| format!("opening {}", path.display()))?;
                std::io::copy(&mut file, sink)?
            }
            FileSource::JarEntry { jar, index, .. } => {
                if !self.archives.contains_key(jar.as_path()) {
                    let file = File::open(jar.as_path())
                        .with_context(|| format!("opening {}", jar.display()))?;
                    let zip = zip::ZipArchive::new(BufReader::new(file))
                        .with_context(|| format!("reading {}", jar.display()))?;
                    self.archives.insert(jar.to_path_buf(), zip);
                }
                let zip = self
                    .archives
                    .get_mut(jar.as_path())
                    .expect("inserted above");
                let mut entry = zip
                    .by_index(*index)
                    .with_context(|| format!("reading entry {index} of {}", jar.display()))?;
                std::io::copy(&mut entry as &mut dyn Read, sink)?
            }
        })
    }
}

/// The digest of the plan's files: each one's image path, size and SHA-256,
/// sorted by path. Equal digests mean the same class path, byte for byte.
pub(crate) fn classpath_digest(plan: &JarPlan) -> Result<Digest> {
    let mut sources = Sources::new();
    let mut lines = Vec::new();
    for layer in &plan.layers {
        for file in &layer.files {
            let mut hasher = HashingSink(Sha256::new());
            let size = sources.copy(&file.source, &mut hasher)?;
            lines.push(format!(
                "{} {size} {}\n",
                file.dest,
                hex::encode(hasher.0.finalize())
            ));
        }
    }
    lines.sort();
    Ok(Digest::of(lines.concat().as_bytes()))
}

/// Writes the plan's files under `root` at their image paths, each with
/// modification time `mtime` (seconds since 1970), as the layers will.
pub(crate) fn lay_out(plan: &JarPlan, root: &Path, mtime: u64) -> Result<()> {
    let mut sources = Sources::new();
    let mut directories = Vec::new();
    for layer in &plan.layers {
        for file in &layer.files {
            let host = root.join(file.dest.trim_start_matches('/'));
            if let Some(parent) = host.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
                directories.push(parent.to_path_buf());
            }
            let mut out = std::io::BufWriter::new(
                File::create(&host).with_context(|| format!("creating {}", host.display()))?,
            );
            sources.copy(&file.source, &mut out)?;
            let out = out
                .into_inner()
                .map_err(|e| anyhow::anyhow!("writing {}: {}", host.display(), e.error()))?;
            set_mtime(&out, mtime)
                .with_context(|| format!("setting the time of {}", host.display()))?;
        }
    }
    Ok(())
}

fn set_mtime(file: &File, mtime: u64) -> std::io::Result<()> {
    let time = rustix::fs::Timespec {
        tv_sec: mtime as i64,
        tv_nsec: 0,
    };
    rustix::fs::futimens(
        file,
        &rustix::fs::Timestamps {
            last_access: time,
            last_modification: time,
        },
    )
    .map_err(std::io::Error::from)
}

struct HashingSink(Sha256);

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
