//! A layer from a directory tree on disk — a root filesystem, say — keeping
//! ownership, modes, symlinks, hard links and device nodes, with mtimes fixed.
//! This is how a JDK base image is made from a Debian root filesystem.

use crate::image::layer::{Content, EntryKind, LayerEntry, LayerSpec};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// Builds a layer of everything under `root`, placed at `dest` in the image
/// (`/` for a root filesystem). Sockets are skipped; the parents of `dest`
/// are added as root-owned 0755 directories.
pub(crate) fn layer_from_directory(name: &str, root: &Path, dest: &str) -> Result<LayerSpec> {
    let dest = dest.trim_matches('/');
    let root_meta =
        std::fs::metadata(root).with_context(|| format!("reading {}", root.display()))?;
    if !root_meta.is_dir() {
        anyhow::bail!(crate::error::usage(format!(
            "--layer-dir {}: not a directory",
            root.display()
        )));
    }
    let mut entries = Vec::new();
    let mut inodes: Vec<Option<(u64, u64)>> = Vec::new();
    let mut prefix = String::new();
    for part in dest.split('/').filter(|p| !p.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        entries.push(LayerEntry {
            path: prefix.clone(),
            kind: EntryKind::Directory,
            mode: 0o755,
            uid: 0,
            gid: 0,
        });
        inodes.push(None);
    }
    for item in walkdir::WalkDir::new(root).follow_links(false).min_depth(1) {
        let item = item.with_context(|| format!("walking {}", root.display()))?;
        let relative = item
            .path()
            .strip_prefix(root)
            .expect("walkdir yields children");
        let relative = relative
            .to_str()
            .with_context(|| format!("{}: file name is not UTF-8", item.path().display()))?;
        let path = if dest.is_empty() {
            relative.to_string()
        } else {
            format!("{dest}/{relative}")
        };
        let meta = item
            .path()
            .symlink_metadata()
            .with_context(|| format!("reading {}", item.path().display()))?;
        let file_type = meta.file_type();
        let (major, minor) = split_device(meta.rdev());
        let kind = if file_type.is_dir() {
            EntryKind::Directory
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(item.path())
                .with_context(|| format!("reading link {}", item.path().display()))?;
            EntryKind::Symlink {
                target: target.to_string_lossy().into_owned(),
            }
        } else if file_type.is_file() {
            EntryKind::File {
                size: meta.len(),
                content: Content::HostFile(item.path().to_path_buf()),
            }
        } else if file_type.is_char_device() {
            EntryKind::CharDevice { major, minor }
        } else if file_type.is_block_device() {
            EntryKind::BlockDevice { major, minor }
        } else if file_type.is_fifo() {
            EntryKind::Fifo
        } else {
            continue; // sockets have no place in an image
        };
        let linkable = file_type.is_file() && meta.nlink() > 1;
        inodes.push(linkable.then(|| (meta.dev(), meta.ino())));
        entries.push(LayerEntry {
            path,
            kind,
            mode: meta.mode() & 0o7777,
            uid: u64::from(meta.uid()),
            gid: u64::from(meta.gid()),
        });
    }
    // Hard links: the first path of an inode in sorted order carries the
    // data; later ones link to it. Sort together so "first" is stable.
    let mut paired: Vec<(LayerEntry, Option<(u64, u64)>)> =
        entries.into_iter().zip(inodes).collect();
    paired.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let mut first_path: HashMap<(u64, u64), String> = HashMap::new();
    let entries = paired
        .into_iter()
        .map(|(mut entry, inode)| {
            if let Some(inode) = inode {
                match first_path.get(&inode) {
                    Some(target) => {
                        entry.kind = EntryKind::HardLink {
                            target: target.clone(),
                        }
                    }
                    None => {
                        first_path.insert(inode, entry.path.clone());
                    }
                }
            }
            entry
        })
        .collect();
    LayerSpec::new(name, entries)
}

/// Splits a Linux `dev_t` into major and minor numbers.
fn split_device(rdev: u64) -> (u32, u32) {
    let major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff);
    let minor = (rdev & 0xff) | ((rdev >> 12) & !0xff);
    (major as u32, minor as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn keeps_modes_links_and_hard_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        std::fs::write(root.join("usr/bin/tool"), b"x").unwrap();
        std::fs::set_permissions(
            root.join("usr/bin/tool"),
            std::fs::Permissions::from_mode(0o4750),
        )
        .unwrap();
        std::fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/alias")).unwrap();
        std::os::unix::fs::symlink("usr/bin", root.join("bin")).unwrap();
        let spec = layer_from_directory("rootfs", root, "/").unwrap();
        let by_path: HashMap<&str, &LayerEntry> = spec
            .entries()
            .iter()
            .map(|e| (e.path.as_str(), e))
            .collect();
        assert!(
            matches!(&by_path["bin"].kind, EntryKind::Symlink { target } if target == "usr/bin")
        );
        // "alias" sorts before "tool": it carries the data, "tool" links to it.
        assert!(matches!(
            by_path["usr/bin/alias"].kind,
            EntryKind::File { .. }
        ));
        assert!(
            matches!(&by_path["usr/bin/tool"].kind, EntryKind::HardLink { target } if target == "usr/bin/alias")
        );
        assert_eq!(by_path["usr/bin/alias"].mode, 0o4750);
    }

    #[test]
    fn destination_parents_are_added() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"1").unwrap();
        let spec = layer_from_directory("x", dir.path(), "/opt/tool").unwrap();
        let paths: Vec<&str> = spec.entries().iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["opt", "opt/tool", "opt/tool/f"]);
    }

    #[test]
    fn device_numbers_split_like_glibc() {
        // /dev/null is 1:3.
        assert_eq!(split_device(0x103), (1, 3));
    }
}
