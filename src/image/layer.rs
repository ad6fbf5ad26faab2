//! Layers: what goes in them ([`LayerSpec`]) and writing them as reproducible
//! compressed tar blobs (gzip or zstd, [`write_layer`]) in one streaming pass
//! that hashes the tar (diff_id) and the compressed bytes (digest) as it writes — memory stays flat
//! whatever the layer size.

use crate::image::compression::{looks_compressed, Compression};
use crate::image::compressor::Compressor;
use crate::image::digest::{Digest, HashingWriter};
use crate::util::fs::{disk_full_or, DiskFull};
use crate::util::temp::TempKind;
use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Media type of a gzip-compressed OCI layer.
pub(crate) const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// Media type of a zstd-compressed OCI layer (Docker v2s2 has none).
pub(crate) const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Media type of a gzip-compressed Docker layer.
pub(crate) const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The modification time written for every entry unless told otherwise:
/// one second after the epoch (zero is read as "unset" by some tools).
pub(crate) const DEFAULT_MTIME: u64 = 1;

/// Where the bytes of a file entry come from.
#[derive(Clone, Debug)]
pub(crate) enum Content {
    /// Bytes held in memory (a jar hoist writes, tests' small files).
    Bytes(Arc<[u8]>),
    /// A file on the host.
    HostFile(PathBuf),
    /// The entry at `index` of the zip archive (jar) at `archive`.
    ZipEntry {
        /// The archive's path.
        archive: Arc<PathBuf>,
        /// The entry's index in the archive's central directory.
        index: usize,
        /// The entry's CRC-32, which (with size and name) identifies its
        /// content for the layer cache without reading it.
        crc32: u32,
    },
}

/// What kind of tar entry, with its kind-specific data.
#[derive(Clone, Debug)]
pub(crate) enum EntryKind {
    /// A directory.
    Directory,
    /// A regular file of `size` bytes.
    File {
        /// Exact size; reading a different number of bytes is an error.
        size: u64,
        /// Where the bytes come from.
        content: Content,
    },
    /// A symbolic link.
    Symlink {
        /// The link target, as stored.
        target: String,
    },
    /// A hard link to an earlier entry of the same layer.
    HardLink {
        /// The path (in the layer) of the entry linked to.
        target: String,
    },
    /// A character device.
    CharDevice {
        /// Device major number.
        major: u32,
        /// Device minor number.
        minor: u32,
    },
    /// A block device.
    BlockDevice {
        /// Device major number.
        major: u32,
        /// Device minor number.
        minor: u32,
    },
    /// A named pipe.
    Fifo,
}

/// One entry of a layer: a path relative to the image root (no leading `/`).
#[derive(Clone, Debug)]
pub(crate) struct LayerEntry {
    /// Path in the image, relative, `/`-separated, no trailing slash.
    pub path: String,
    /// What the entry is.
    pub kind: EntryKind,
    /// Permission bits (and setuid/setgid/sticky).
    pub mode: u32,
    /// Owner user id.
    pub uid: u64,
    /// Owner group id.
    pub gid: u64,
}

impl LayerEntry {
    /// The file size, 0 for anything but regular files.
    pub(crate) fn size(&self) -> u64 {
        match &self.kind {
            EntryKind::File { size, .. } => *size,
            _ => 0,
        }
    }
}

/// Everything needed to write one layer: its entries (sorted by path), the
/// mtime stamped on all of them, and the compression asked for.
#[derive(Clone, Debug)]
pub(crate) struct LayerSpec {
    /// A short name for people (`dependencies`, `application`, …).
    pub name: String,
    entries: Vec<LayerEntry>,
    /// The modification time written for every entry.
    pub mtime: u64,
    /// The compression asked for; `Auto` is resolved from the content.
    pub compression: Compression,
    /// False for layers holding secrets: never kept in the layer cache.
    pub cacheable: bool,
}

impl LayerSpec {
    /// A layer of `entries`, sorted by path; two entries with one path are an error.
    pub(crate) fn new(name: impl Into<String>, mut entries: Vec<LayerEntry>) -> Result<Self> {
        let name = name.into();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        if let Some(pair) = entries.windows(2).find(|w| w[0].path == w[1].path) {
            bail!(crate::error::usage_hint(
                format!("layer {name}: two entries for /{}", pair[0].path),
                "give each file one destination"
            ));
        }
        Ok(Self {
            name,
            entries,
            mtime: DEFAULT_MTIME,
            compression: Compression::Auto,
            cacheable: true,
        })
    }

    /// The entries, sorted by path.
    pub(crate) fn entries(&self) -> &[LayerEntry] {
        &self.entries
    }

    /// How many regular files the layer holds.
    pub(crate) fn file_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| matches!(e.kind, EntryKind::File { .. }))
            .count()
    }

    /// The total size of the layer's file contents.
    pub(crate) fn content_size(&self) -> u64 {
        self.entries.iter().map(LayerEntry::size).sum()
    }

    /// The compression this layer will get: `Auto` resolved from its content.
    pub(crate) fn effective_compression(&self) -> Compression {
        let compressed = self
            .entries
            .iter()
            .filter(|e| looks_compressed(&e.path))
            .map(LayerEntry::size)
            .sum();
        self.compression.resolve(compressed, self.content_size())
    }
}

/// Collects files under normalised metadata: root ownership, mode 0644 (0755
/// when executable), parent directories added with mode 0755.
#[derive(Default)]
pub(crate) struct NormalizedLayerBuilder {
    entries: Vec<LayerEntry>,
    dirs: std::collections::BTreeSet<String>,
}

impl NormalizedLayerBuilder {
    /// An empty builder.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds a regular file at `path` (absolute or relative to the image root).
    pub(crate) fn file(&mut self, path: &str, size: u64, content: Content, executable: bool) {
        self.file_with_mode(path, size, content, if executable { 0o755 } else { 0o644 });
    }

    /// Adds a regular file with explicit permission bits (0600 for secrets).
    pub(crate) fn file_with_mode(&mut self, path: &str, size: u64, content: Content, mode: u32) {
        self.file_owned(path, size, content, mode, (0, 0));
    }

    /// Adds a regular file with explicit permission bits and owner (uid, gid).
    pub(crate) fn file_owned(
        &mut self,
        path: &str,
        size: u64,
        content: Content,
        mode: u32,
        owner: (u64, u64),
    ) {
        let path = path.trim_start_matches('/').to_string();
        self.add_parents(&path);
        self.entries.push(LayerEntry {
            path,
            kind: EntryKind::File { size, content },
            mode,
            uid: owner.0,
            gid: owner.1,
        });
    }

    fn add_parents(&mut self, path: &str) {
        let mut end = 0;
        while let Some(pos) = path[end..].find('/') {
            end += pos;
            self.dirs.insert(path[..end].to_string());
            end += 1;
        }
    }

    /// The finished layer spec.
    pub(crate) fn build(self, name: impl Into<String>) -> Result<LayerSpec> {
        let mut entries = self.entries;
        let files: std::collections::HashSet<String> =
            entries.iter().map(|e| e.path.clone()).collect();
        for dir in self.dirs {
            if !files.contains(&dir) {
                entries.push(LayerEntry {
                    path: dir,
                    kind: EntryKind::Directory,
                    mode: 0o755,
                    uid: 0,
                    gid: 0,
                });
            }
        }
        LayerSpec::new(name, entries)
    }
}

/// A layer written to disk as a compressed blob.
#[derive(Clone, Debug)]
pub(crate) struct BuiltLayer {
    /// The layer's name (for people).
    pub name: String,
    /// Digest of the uncompressed tar.
    pub diff_id: Digest,
    /// Digest of the compressed blob.
    pub digest: Digest,
    /// Size of the compressed blob.
    pub size: u64,
    /// Size of the uncompressed tar.
    pub uncompressed_size: u64,
    /// The compression applied.
    pub compression: Compression,
    /// Where the blob is (named by its digest's hex).
    pub path: PathBuf,
    /// How many regular files it holds (0 when unknown).
    pub file_count: usize,
    /// True when this run did not write the blob (a cache hit): its bytes
    /// are hashed wherever they go into an output.
    pub check: bool,
}

/// Receives a layer's compressed bytes as they are written, besides the blob
/// file: how an upload can stream a layer while it is built. It can never
/// fail the write — a tee that gives up just stops taking bytes — and it
/// hears the digest only once the blob file is complete.
pub(crate) trait BlobTee: Send {
    /// The next compressed bytes, in order.
    fn bytes(&mut self, bytes: &[u8]);
    /// The blob is complete and stored: its digest and size.
    fn finish(&mut self, digest: &Digest, size: u64);
}

/// A writer that hands what it writes to a tee as well.
struct Teed<'a, W> {
    inner: W,
    tee: Option<&'a mut dyn BlobTee>,
}

impl<W: Write> Write for Teed<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(tee) = self.tee.as_mut() {
            tee.bytes(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What to do when a layer does not fit.
const SPACE_HINT: &str =
    "free space on that file system, or point --cache-dir or the destination elsewhere";

/// Writes `spec` as a compressed tar blob into `dir` (file named by the
/// digest's hex) and returns its digests and sizes.
#[cfg(test)]
pub(crate) fn write_layer(spec: &LayerSpec, dir: &Path) -> Result<BuiltLayer> {
    write_layer_teed(spec, dir, None)
}

/// [`write_layer`], handing the compressed bytes to `tee` as well.
pub(crate) fn write_layer_teed(
    spec: &LayerSpec,
    dir: &Path,
    tee: Option<&mut dyn BlobTee>,
) -> Result<BuiltLayer> {
    let compression = spec.effective_compression();
    let (path, digests) = write_compressed(dir, compression, tee, |out| {
        let mut tar = tar::Builder::new(out);
        let mut contents = ContentOpener::default();
        for entry in &spec.entries {
            append_entry(&mut tar, entry, spec.mtime, &mut contents)
                .with_context(|| format!("writing /{} into layer {}", entry.path, spec.name))?;
        }
        tar.finish().context("finishing tar stream")?;
        Ok(())
    })
    .map_err(|error| {
        disk_full_or(error, || {
            // Content plus a tar header per entry: what a stored layer takes.
            let needed = spec.content_size() + 512 * (spec.entries.len() as u64 + 2);
            DiskFull::new(
                format!("writing layer {} to {}", spec.name, dir.display()),
                needed,
                SPACE_HINT,
            )
        })
    })?;
    Ok(BuiltLayer {
        name: spec.name.clone(),
        diff_id: digests.diff_id,
        digest: digests.digest,
        size: digests.size,
        uncompressed_size: digests.uncompressed_size,
        compression,
        path,
        file_count: spec.file_count(),
        check: false,
    })
}

/// Compresses an existing uncompressed tar stream (a base layer from a docker
/// archive) into a blob in `dir`.
pub(crate) fn compress_tar_stream(
    name: &str,
    mut tar_stream: impl Read,
    compression: Compression,
    dir: &Path,
) -> Result<BuiltLayer> {
    let compression = match compression {
        Compression::Auto => Compression::Gzip(crate::image::compression::DEFAULT_GZIP_LEVEL),
        other => other,
    };
    let (path, digests) = write_compressed(dir, compression, None, |out| {
        io::copy(&mut tar_stream, out).context("reading layer tar")?;
        Ok(())
    })
    .map_err(|error| {
        disk_full_or(error, || {
            DiskFull::size_unknown(
                format!("writing layer {name} to {}", dir.display()),
                SPACE_HINT,
            )
        })
    })?;
    Ok(BuiltLayer {
        name: name.to_string(),
        diff_id: digests.diff_id,
        digest: digests.digest,
        size: digests.size,
        uncompressed_size: digests.uncompressed_size,
        compression,
        path,
        file_count: 0,
        check: false,
    })
}

struct BlobDigests {
    diff_id: Digest,
    uncompressed_size: u64,
    digest: Digest,
    size: u64,
}

type UncompressedSink<'a> = HashingWriter<Compressor<HashingWriter<Teed<'a, BufWriter<File>>>>>;

/// Runs `produce` over a writer whose bytes are hashed, compressed (gzip
/// with fixed header fields, or zstd), hashed again and written to a temporary file in `dir`
/// (and to `tee`), which is then renamed to the compressed digest's hex.
fn write_compressed<'a>(
    dir: &Path,
    compression: Compression,
    tee: Option<&'a mut dyn BlobTee>,
    produce: impl FnOnce(&mut UncompressedSink<'a>) -> Result<()>,
) -> Result<(PathBuf, BlobDigests)> {
    let temp = crate::util::temp::file_in(dir, TempKind::Layer)?;
    let file = temp.reopen().context("opening temporary layer file")?;
    let compressed = HashingWriter::new(Teed {
        inner: BufWriter::with_capacity(1 << 20, file),
        tee,
    });
    let compressor = Compressor::new(compressed, compression)?;
    let mut uncompressed = HashingWriter::new(compressor);
    produce(&mut uncompressed)?;
    let (compressor, diff_id, uncompressed_size) = uncompressed.finish();
    let compressed = compressor
        .finish()
        .with_context(|| format!("finishing the {compression} stream"))?;
    let (teed, digest, size) = compressed.finish();
    let Teed {
        inner: buffered,
        tee,
    } = teed;
    // A stream has every byte now: it may close while the file is synced.
    if let Some(tee) = tee {
        tee.finish(&digest, size);
    }
    // Synced before the rename: after a crash the name holds all its bytes.
    buffered
        .into_inner()
        .map_err(|e| e.into_error())
        .and_then(|file| file.sync_all())
        .context("writing layer blob")?;
    let path = dir.join(digest.hex());
    temp.persist(&path)
        .with_context(|| format!("storing layer blob {}", path.display()))?;
    Ok((
        path,
        BlobDigests {
            diff_id,
            uncompressed_size,
            digest,
            size,
        },
    ))
}

fn append_entry<W: Write>(
    tar: &mut tar::Builder<W>,
    entry: &LayerEntry,
    mtime: u64,
    contents: &mut ContentOpener,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_mtime(mtime);
    header.set_uid(entry.uid);
    header.set_gid(entry.gid);
    header.set_mode(entry.mode);
    header.set_size(0);
    match &entry.kind {
        EntryKind::Directory => {
            header.set_entry_type(tar::EntryType::Directory);
            tar.append_data(&mut header, format!("{}/", entry.path), io::empty())?;
        }
        EntryKind::File { size, content } => {
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(*size);
            contents.with_reader(content, |reader| {
                let exact = ExactSizeReader::new(reader, *size);
                tar.append_data(&mut header, &entry.path, exact)
            })?;
        }
        EntryKind::Symlink { target } => {
            header.set_entry_type(tar::EntryType::Symlink);
            tar.append_link(&mut header, &entry.path, target)?;
        }
        EntryKind::HardLink { target } => {
            header.set_entry_type(tar::EntryType::Link);
            tar.append_link(&mut header, &entry.path, target)?;
        }
        EntryKind::CharDevice { major, minor } | EntryKind::BlockDevice { major, minor } => {
            let kind = if matches!(entry.kind, EntryKind::CharDevice { .. }) {
                tar::EntryType::Char
            } else {
                tar::EntryType::Block
            };
            header.set_entry_type(kind);
            header.set_device_major(*major)?;
            header.set_device_minor(*minor)?;
            tar.append_data(&mut header, &entry.path, io::empty())?;
        }
        EntryKind::Fifo => {
            header.set_entry_type(tar::EntryType::Fifo);
            tar.append_data(&mut header, &entry.path, io::empty())?;
        }
    }
    Ok(())
}

/// Opens file contents, keeping each zip archive open for the whole layer.
#[derive(Default)]
struct ContentOpener {
    archives: HashMap<PathBuf, zip::ZipArchive<BufReader<File>>>,
}

impl ContentOpener {
    fn with_reader(
        &mut self,
        content: &Content,
        write: impl FnOnce(&mut dyn Read) -> io::Result<()>,
    ) -> Result<()> {
        match content {
            Content::Bytes(bytes) => write(&mut &bytes[..])?,
            Content::HostFile(path) => {
                let mut file =
                    File::open(path).with_context(|| format!("opening {}", path.display()))?;
                write(&mut file).with_context(|| format!("reading {}", path.display()))?;
            }
            Content::ZipEntry { archive, index, .. } => {
                if !self.archives.contains_key(archive.as_path()) {
                    let file = File::open(archive.as_path())
                        .with_context(|| format!("opening {}", archive.display()))?;
                    let zip = zip::ZipArchive::new(BufReader::with_capacity(1 << 16, file))
                        .with_context(|| format!("reading {}", archive.display()))?;
                    self.archives.insert(archive.to_path_buf(), zip);
                }
                let zip = self
                    .archives
                    .get_mut(archive.as_path())
                    .expect("inserted above");
                let mut member = zip
                    .by_index(*index)
                    .with_context(|| format!("reading entry {index} of {}", archive.display()))?;
                let name = String::from_utf8_lossy(member.name_raw()).into_owned();
                write(&mut member)
                    .with_context(|| format!("reading {name} from {}", archive.display()))?;
            }
        }
        Ok(())
    }
}

/// Passes through exactly `expected` bytes and fails if the source is shorter
/// or longer — a file that changes while it is read must not corrupt the tar.
struct ExactSizeReader<R> {
    inner: R,
    remaining: u64,
}

impl<R: Read> ExactSizeReader<R> {
    fn new(inner: R, expected: u64) -> Self {
        Self {
            inner,
            remaining: expected,
        }
    }
}

impl<R: Read> Read for ExactSizeReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the file is longer than its recorded size (did it change while hoist read it?)",
                )),
            };
        }
        let limit = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.inner.read(&mut buf[..limit])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file is shorter than its recorded size (did it change while hoist read it?)",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(text: &str) -> Content {
        Content::Bytes(Arc::from(text.as_bytes()))
    }

    fn sample_layer() -> LayerSpec {
        let mut b = NormalizedLayerBuilder::new();
        b.file("/app/b.txt", 2, bytes("bb"), false);
        b.file("/app/a/run.sh", 3, bytes("#!x"), true);
        b.build("sample").unwrap()
    }

    #[test]
    fn entries_are_sorted_with_parents_first() {
        let spec = sample_layer();
        let paths: Vec<&str> = spec.entries().iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["app", "app/a", "app/a/run.sh", "app/b.txt"]);
        assert_eq!(spec.entries()[2].mode, 0o755);
        assert_eq!(spec.entries()[3].mode, 0o644);
    }

    #[test]
    fn written_tar_is_normalised_and_digests_match_content() {
        let dir = tempfile::tempdir().unwrap();
        let built = write_layer(&sample_layer(), dir.path()).unwrap();
        let blob = std::fs::read(&built.path).unwrap();
        assert_eq!(Digest::of(&blob), built.digest);
        assert_eq!(blob.len() as u64, built.size);
        // gzip header: no name, mtime 0, OS byte 255.
        assert_eq!(&blob[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&blob[4..8], &[0, 0, 0, 0]);
        assert_eq!(blob[9], 255);
        let mut tar_bytes = Vec::new();
        flate2::read::GzDecoder::new(&blob[..])
            .read_to_end(&mut tar_bytes)
            .unwrap();
        assert_eq!(Digest::of(&tar_bytes), built.diff_id);
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let h = entry.header();
            assert_eq!(h.mtime().unwrap(), DEFAULT_MTIME);
            assert_eq!((h.uid().unwrap(), h.gid().unwrap()), (0, 0));
            assert_eq!(h.username().unwrap(), Some(""));
            seen.push(entry.path().unwrap().to_string_lossy().into_owned());
        }
        assert_eq!(seen, ["app/", "app/a/", "app/a/run.sh", "app/b.txt"]);
    }

    #[test]
    fn same_spec_gives_same_bytes() {
        let one = tempfile::tempdir().unwrap();
        let two = tempfile::tempdir().unwrap();
        let a = write_layer(&sample_layer(), one.path()).unwrap();
        let b = write_layer(&sample_layer(), two.path()).unwrap();
        assert_eq!(a.digest, b.digest);
    }

    #[test]
    fn a_file_whose_size_changed_is_an_error() {
        let mut b = NormalizedLayerBuilder::new();
        b.file("x", 5, bytes("abc"), false);
        let dir = tempfile::tempdir().unwrap();
        let err = write_layer(&b.build("x").unwrap(), dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("shorter"), "{err:#}");
    }

    #[test]
    fn duplicate_paths_are_refused() {
        let mut b = NormalizedLayerBuilder::new();
        b.file("/app/x", 1, bytes("a"), false);
        b.file("app/x", 1, bytes("b"), false);
        assert!(b.build("dup").is_err());
    }

    #[test]
    fn long_paths_round_trip() {
        let long = format!("app/{}/file.txt", "d".repeat(150));
        let mut b = NormalizedLayerBuilder::new();
        b.file(&long, 1, bytes("z"), false);
        let dir = tempfile::tempdir().unwrap();
        let built = write_layer(&b.build("long").unwrap(), dir.path()).unwrap();
        let blob = std::fs::File::open(&built.path).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(blob));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&long), "{names:?}");
    }
}
