//! Unpacking an image's layers into a directory: the root filesystem a
//! container would see, made without a container runtime.
//!
//! Layers are applied bottom first. Whiteouts follow the OCI image spec
//! ("Representing Changes: Whiteouts"): `.wh.NAME` removes `NAME` from the
//! layers below, and `.wh..wh..opq` empties its directory of what the layers
//! below put there. Each layer is read twice: once for its whiteouts, once
//! for its files, so the order of entries inside a layer does not matter.
//!
//! Entries never land outside the directory (the tar reader refuses `..` and
//! paths through links that leave it); device nodes and FIFOs are skipped
//! (nothing a JVM reads), and ownership is not kept (the caller may not be
//! root). Modes and modification times are kept. A symbolic link to an
//! absolute path is made to point at that path under the directory, so a
//! program run from the tree opens the image's files, never the host's
//! (Debian's JDK links `conf/` to `/etc/java-17-openjdk`, say).

use anyhow::{Context, Result};
use std::io::BufReader;
use std::path::{Component, Path, PathBuf};

/// The prefix of a whiteout file's name.
const WHITEOUT: &str = ".wh.";
/// The name of an opaque-directory marker.
const OPAQUE: &str = ".wh..wh..opq";

/// Applies the layer blobs at `blobs` (gzip, zstd or plain tars, bottom
/// first) to the empty directory `root`.
pub(crate) fn unpack_layers(blobs: &[PathBuf], root: &Path) -> Result<()> {
    for blob in blobs {
        apply_whiteouts(blob, root)?;
        extract(blob, root)?;
    }
    Ok(())
}

fn archive(blob: &Path) -> Result<tar::Archive<Box<dyn std::io::Read>>> {
    let file =
        std::fs::File::open(blob).with_context(|| format!("opening layer {}", blob.display()))?;
    let reader = crate::image::compressor::decompressing_reader(BufReader::new(file))
        .with_context(|| format!("reading layer {}", blob.display()))?;
    Ok(tar::Archive::new(reader))
}

/// First pass: remove what this layer's whiteouts hide in the layers below.
fn apply_whiteouts(blob: &Path, root: &Path) -> Result<()> {
    let mut layer = archive(blob)?;
    let entries = layer
        .entries()
        .with_context(|| format!("reading layer {}", blob.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("reading layer {}", blob.display()))?;
        let path = entry.path()?.into_owned();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(hidden) = name.strip_prefix(WHITEOUT) else {
            continue;
        };
        let Some(dir) = inside(root, path.parent().unwrap_or(Path::new(""))) else {
            continue;
        };
        if name == OPAQUE {
            if let Ok(children) = std::fs::read_dir(&dir) {
                for child in children.flatten() {
                    remove(&child.path())?;
                }
            }
        } else if !hidden.is_empty() && !hidden.contains('/') {
            remove(&dir.join(hidden))?;
        }
    }
    Ok(())
}

/// Second pass: write this layer's files, links and directories.
fn extract(blob: &Path, root: &Path) -> Result<()> {
    let mut layer = archive(blob)?;
    layer.set_preserve_permissions(true);
    layer.set_preserve_mtime(true);
    layer.set_unpack_xattrs(false);
    layer.set_overwrite(true);
    let entries = layer
        .entries()
        .with_context(|| format!("reading layer {}", blob.display()))?;
    for entry in entries {
        let mut entry = entry.with_context(|| format!("reading layer {}", blob.display()))?;
        let path = entry.path()?.into_owned();
        let whiteout = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(WHITEOUT));
        let special = matches!(
            entry.header().entry_type(),
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo
        );
        if whiteout || special {
            continue;
        }
        // A file replacing a directory (or the reverse) of a lower layer.
        if let Some(target) = inside(root, &path) {
            let is_dir = entry.header().entry_type().is_dir();
            if let Ok(meta) = std::fs::symlink_metadata(&target) {
                if meta.is_dir() != is_dir || meta.file_type().is_symlink() {
                    remove(&target)?;
                }
            }
        }
        if entry.header().entry_type() == tar::EntryType::Symlink {
            if let (Some(link), Some(at)) = (entry.link_name()?, inside(root, &path)) {
                if link.is_absolute() {
                    let target = inside(root, &link).unwrap_or_else(|| root.to_path_buf());
                    if let Some(parent) = at.parent() {
                        std::fs::create_dir_all(parent)
                            .with_context(|| format!("creating {}", parent.display()))?;
                    }
                    remove(&at)?;
                    std::os::unix::fs::symlink(&target, &at)
                        .with_context(|| format!("linking {}", at.display()))?;
                    continue;
                }
            }
        }
        entry
            .unpack_in(root)
            .with_context(|| format!("unpacking {} of layer {}", path.display(), blob.display()))?;
    }
    Ok(())
}

/// `path` (from a tar entry) under `root`, or `None` when it would leave it.
fn inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    for part in path.components() {
        match part {
            Component::Normal(name) => out.push(name),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn remove(path: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    let removed = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    removed.with_context(|| format!("removing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(dir: &Path, name: &str, entries: &[(&str, Option<&str>)]) -> PathBuf {
        let path = dir.join(name);
        let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
        for (name, content) in entries {
            let mut header = tar::Header::new_gnu();
            match content {
                Some(text) => {
                    header.set_entry_type(tar::EntryType::Regular);
                    header.set_size(text.len() as u64);
                    header.set_mode(0o644);
                    builder
                        .append_data(&mut header, name, text.as_bytes())
                        .unwrap();
                }
                None => {
                    header.set_entry_type(tar::EntryType::Directory);
                    header.set_size(0);
                    header.set_mode(0o755);
                    builder.append_data(&mut header, name, &[][..]).unwrap();
                }
            }
        }
        builder.finish().unwrap();
        path
    }

    #[test]
    fn whiteouts_hide_lower_files_and_opaque_directories_empty() {
        let work = tempfile::tempdir().unwrap();
        let lower = layer(
            work.path(),
            "lower.tar",
            &[
                ("etc", None),
                ("etc/keep", Some("k")),
                ("etc/gone", Some("g")),
                ("opt", None),
                ("opt/old", Some("o")),
            ],
        );
        let upper = layer(
            work.path(),
            "upper.tar",
            &[
                ("opt/new", Some("n")),
                ("opt/.wh..wh..opq", Some("")),
                ("etc/.wh.gone", Some("")),
            ],
        );
        let root = work.path().join("root");
        std::fs::create_dir(&root).unwrap();
        unpack_layers(&[lower, upper], &root).unwrap();
        assert!(root.join("etc/keep").is_file());
        assert!(!root.join("etc/gone").exists());
        assert!(!root.join("etc/.wh.gone").exists());
        assert!(!root.join("opt/old").exists());
        assert_eq!(std::fs::read_to_string(root.join("opt/new")).unwrap(), "n");
    }

    #[test]
    fn absolute_links_point_into_the_root() {
        let work = tempfile::tempdir().unwrap();
        let path = work.path().join("links.tar");
        let mut builder = tar::Builder::new(std::fs::File::create(&path).unwrap());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder
            .append_link(&mut header, "etc/conf", "/opt/conf")
            .unwrap();
        builder.finish().unwrap();
        let root = work.path().join("root");
        std::fs::create_dir(&root).unwrap();
        unpack_layers(&[path], &root).unwrap();
        assert_eq!(
            std::fs::read_link(root.join("etc/conf")).unwrap(),
            root.join("opt/conf")
        );
    }

    #[test]
    fn paths_that_leave_the_root_are_not_followed() {
        assert_eq!(inside(Path::new("/r"), Path::new("../x")), None);
        assert_eq!(
            inside(Path::new("/r"), Path::new("./a/b")),
            Some(PathBuf::from("/r/a/b"))
        );
    }
}
