//! Opening a jar: its central directory, validated entry names, its manifest.

use crate::error::{usage, usage_hint};
use crate::jar::manifest::JarManifest;
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One entry of a jar's central directory.
#[derive(Clone, Debug)]
pub(crate) struct JarEntry {
    /// Index in the central directory.
    pub index: usize,
    /// Entry name, `/`-separated, without a trailing slash.
    pub name: String,
    /// True for directory entries.
    pub is_dir: bool,
    /// Uncompressed size.
    pub size: u64,
    /// True when the entry's Unix mode has an execute bit.
    pub executable: bool,
    /// CRC-32 of the content, from the central directory.
    pub crc32: u32,
}

/// A jar opened for planning: its path, entries and manifest.
#[derive(Debug)]
pub(crate) struct JarArchive {
    /// The jar's path, made absolute.
    pub path: Arc<PathBuf>,
    /// All entries, in central-directory order.
    pub entries: Vec<JarEntry>,
    /// The main section of `META-INF/MANIFEST.MF` (empty when absent).
    pub manifest: JarManifest,
    /// The jar file's size.
    pub file_size: u64,
}

impl JarArchive {
    /// Opens `path`, reads its central directory and manifest, and checks
    /// every entry name: absolute paths, `..`, backslashes and duplicates are
    /// refused before anything is written.
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                usage_hint(
                    format!("jar {}: no such file", path.display()),
                    "build it first (e.g. ./gradlew bootJar or ./mvnw package) or fix --jar",
                )
            } else {
                anyhow::Error::new(e).context(format!("opening jar {}", path.display()))
            }
        })?;
        let file_size = file.metadata().map(|m| m.len()).unwrap_or(0);
        if file_size == 0 || !file.metadata().map(|m| m.is_file()).unwrap_or(false) {
            return Err(usage(format!(
                "jar {}: not a jar (empty or not a regular file)",
                path.display()
            )));
        }
        let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
            usage_hint(
                format!("jar {}: not a jar ({e})", path.display()),
                "point --jar at the archive Gradle built, e.g. build/libs/app.jar",
            )
        })?;
        if zip.has_duplicate_names() {
            let name = first_duplicate_name(path).unwrap_or_else(|| "(unknown)".into());
            return Err(duplicate_error(path, &name));
        }
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let mut entries = Vec::with_capacity(zip.len());
        let mut seen = HashSet::with_capacity(zip.len());
        for index in 0..zip.len() {
            let data = zip
                .by_index_data(index)
                .with_context(|| format!("reading entry {index} of {}", path.display()))?;
            let raw = String::from_utf8_lossy(data.name_raw()).into_owned();
            let name = check_entry_name(&raw).map_err(|why| {
                usage_hint(
                    format!("jar {}: entry {raw:?} {why}", path.display()),
                    "refusing to unpack it (zip-slip); rebuild the jar",
                )
            })?;
            if !seen.insert(name.clone()) {
                return Err(duplicate_error(path, &name));
            }
            entries.push(JarEntry {
                index,
                is_dir: data.is_dir(),
                size: data.size(),
                executable: data.unix_mode().is_some_and(|m| m & 0o111 != 0),
                crc32: data.crc32(),
                name,
            });
        }
        let manifest = match zip.by_name("META-INF/MANIFEST.MF") {
            Ok(mut member) => {
                let mut text = String::new();
                member.read_to_string(&mut text).with_context(|| {
                    format!("reading META-INF/MANIFEST.MF of {}", path.display())
                })?;
                JarManifest::parse(&text)
            }
            Err(_) => JarManifest::default(),
        };
        Ok(Self {
            path: Arc::new(absolute),
            entries,
            manifest,
            file_size,
        })
    }

    /// Reads the whole content of entry `name`, if there is one.
    pub(crate) fn read_entry(&self, name: &str) -> Result<Option<String>> {
        if !self.entries.iter().any(|e| e.name == name) {
            return Ok(None);
        }
        let file = File::open(self.path.as_path())?;
        let mut zip = zip::ZipArchive::new(BufReader::new(file))?;
        let mut text = String::new();
        zip.by_name(name)?
            .read_to_string(&mut text)
            .with_context(|| format!("reading {name} of {}", self.path.display()))?;
        Ok(Some(text))
    }

    /// True when the jar has an entry under `prefix`.
    pub(crate) fn has_prefix(&self, prefix: &str) -> bool {
        self.entries.iter().any(|e| e.name.starts_with(prefix))
    }
}

fn duplicate_error(path: &Path, name: &str) -> anyhow::Error {
    usage_hint(
        format!("jar {}: duplicate entry {name:?}", path.display()),
        "a jar must name each file once; check the build's duplicatesStrategy",
    )
}

/// Walks the local headers to name the first entry that appears twice (the
/// central directory index has already merged them).
fn first_duplicate_name(path: &Path) -> Option<String> {
    let mut reader = BufReader::new(File::open(path).ok()?);
    let mut seen = HashSet::new();
    // Bounded by the file: each step consumes one local entry.
    while let Ok(Some(member)) = zip::read::read_zipfile_from_stream(&mut reader) {
        let name = String::from_utf8_lossy(member.name_raw()).into_owned();
        if !seen.insert(name.clone()) {
            return Some(name);
        }
    }
    None
}

/// Checks one entry name; returns it without a trailing slash.
fn check_entry_name(raw: &str) -> Result<String, &'static str> {
    if raw.starts_with('/') || raw.get(1..2) == Some(":") {
        return Err("has an absolute path");
    }
    if raw.contains('\\') {
        return Err("contains a backslash");
    }
    if raw.contains('\0') {
        return Err("contains a NUL byte");
    }
    let name = raw.trim_end_matches('/');
    if name.is_empty() {
        return Err("has an empty name");
    }
    if name.split('/').any(|part| part == "..") {
        return Err("escapes the jar with '..'");
    }
    if name.split('/').any(|part| part.is_empty() || part == ".") {
        return Err("has an empty or '.' path component");
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::check_entry_name;

    #[test]
    fn entry_names() {
        assert_eq!(check_entry_name("BOOT-INF/lib/").unwrap(), "BOOT-INF/lib");
        assert!(check_entry_name("../evil").is_err());
        assert!(check_entry_name("a/../../evil").is_err());
        assert!(check_entry_name("/etc/passwd").is_err());
        assert!(check_entry_name("C:/x").is_err());
        assert!(check_entry_name("a\\..\\b").is_err());
        assert!(check_entry_name("a//b").is_err());
        assert!(check_entry_name("a..b/c").is_ok());
    }
}
