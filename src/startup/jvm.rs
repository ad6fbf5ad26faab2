//! The JVM of an unpacked base image: where its `java` is, what its
//! `release` file says, and the dynamic loader and library directories that
//! run it from outside the image.

use crate::error::usage_hint;
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// The default `PATH` of an image that sets none (what runc uses).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Symbolic links followed at most while resolving one path.
const MAX_LINKS: usize = 40;

/// A JVM found in a root filesystem.
#[derive(Clone, Debug)]
pub(crate) struct BaseJvm {
    /// `bin/java`, its image path (`/opt/java/openjdk/bin/java`).
    pub java: String,
    /// The JDK's home in the image.
    pub home: String,
    /// The `release` file's facts (`JAVA_VERSION`, `IMPLEMENTOR`, …).
    pub release: BTreeMap<String, String>,
    /// The feature release: 17, 21, 25.
    pub feature: u32,
}

impl BaseJvm {
    /// `JAVA_VERSION` as written.
    pub(crate) fn version(&self) -> &str {
        self.release
            .get("JAVA_VERSION")
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// Finds the JVM of the image unpacked at `root` whose environment is
/// `env`: `$JAVA_HOME/bin/java`, else the first `java` on its `PATH`.
pub(crate) fn find_jvm(root: &Path, env: &[(String, String)], base_name: &str) -> Result<BaseJvm> {
    let lookup = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    let mut candidates = Vec::new();
    if let Some(home) = lookup("JAVA_HOME") {
        candidates.push(format!("{}/bin/java", home.trim_end_matches('/')));
    }
    let path = lookup("PATH").map_or(DEFAULT_PATH, String::as_str);
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        candidates.push(format!("{}/java", dir.trim_end_matches('/')));
    }
    let java = candidates
        .iter()
        .find_map(|candidate| {
            let real = resolve(root, candidate)?;
            let host = host_path(root, &real);
            host.is_file().then_some(real)
        })
        .ok_or_else(|| {
            usage_hint(
                format!("base {base_name}: no java on the image's PATH or JAVA_HOME"),
                "a start-up archive needs a JDK base (e.g. eclipse-temurin:21-jre); or drop --startup",
            )
        })?;
    let home = java
        .strip_suffix("/bin/java")
        .ok_or_else(|| {
            usage_hint(
                format!("base {base_name}: java at {java} is not in a JDK's bin/"),
                "use a base whose java sits in JAVA_HOME/bin, as JDK images have it",
            )
        })?
        .to_string();
    let release_file = host_path(root, &format!("{home}/release"));
    let text = std::fs::read_to_string(&release_file).map_err(|_| {
        usage_hint(
            format!("base {base_name}: the JDK at {home} has no release file"),
            "hoist reads JAVA_VERSION from JAVA_HOME/release; use a JDK build that ships it",
        )
    })?;
    let release = parse_release(&text);
    let feature = release
        .get("JAVA_VERSION")
        .and_then(|v| feature_release(v))
        .ok_or_else(|| {
            usage_hint(
                format!("base {base_name}: {home}/release names no JAVA_VERSION"),
                "use a JDK build whose release file says its version",
            )
        })?;
    Ok(BaseJvm {
        java,
        home,
        release,
        feature,
    })
}

/// `KEY="value"` lines of a JDK `release` file.
pub(crate) fn parse_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// The feature release of a `JAVA_VERSION`: `17.0.15` → 17, `1.8.0_412` → 8.
pub(crate) fn feature_release(version: &str) -> Option<u32> {
    let mut parts = version.split(['.', '_', '-', '+']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// Where the image path `path` is on the host.
pub(crate) fn host_path(root: &Path, path: &str) -> PathBuf {
    root.join(path.trim_start_matches('/'))
}

/// Resolves every symbolic link of the image path `path` inside `root`
/// (an absolute link means the image's `/`, never the host's). `None` when
/// a link loops or a component is missing.
pub(crate) fn resolve(root: &Path, path: &str) -> Option<String> {
    let mut pending: Vec<String> = Path::new(path)
        .components()
        .rev()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut resolved: Vec<String> = Vec::new();
    let mut links = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let here = format!(
            "/{}",
            [resolved.as_slice(), std::slice::from_ref(&part)]
                .concat()
                .join("/")
        );
        let host = host_path(root, &here);
        let meta = std::fs::symlink_metadata(&host).ok()?;
        if !meta.file_type().is_symlink() {
            resolved.push(part);
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return None;
        }
        let read = std::fs::read_link(&host).ok()?;
        // Unpacking points absolute links into the root: back to image paths.
        let target = match read.strip_prefix(root) {
            Ok(inner) => Path::new("/").join(inner),
            Err(_) => read,
        };
        if target.is_absolute() {
            resolved.clear();
        }
        for c in target.components().rev() {
            match c {
                Component::Normal(n) => pending.push(n.to_string_lossy().into_owned()),
                Component::ParentDir => pending.push("..".into()),
                _ => {}
            }
        }
    }
    Some(format!("/{}", resolved.join("/")))
}

/// The program interpreter (`PT_INTERP`) an ELF executable names:
/// `/lib64/ld-linux-x86-64.so.2`. `None` for a static or non-ELF file.
pub(crate) fn elf_interpreter(file: &Path) -> Result<Option<String>> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let is64 = bytes[4] == 2;
    let little = bytes[5] == 1;
    let u16_at = |at: usize| -> Option<u64> {
        let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
        Some(if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        } as u64)
    };
    let u32_at = |at: usize| -> Option<u64> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        } as u64)
    };
    let u64_at = |at: usize| -> Option<u64> {
        let b: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
        Some(if little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    };
    let word = |at: usize| if is64 { u64_at(at) } else { u32_at(at) };
    let parse = || -> Option<Option<String>> {
        let (phoff, phentsize, phnum) = if is64 {
            (u64_at(0x20)?, u16_at(0x36)?, u16_at(0x38)?)
        } else {
            (u32_at(0x1c)?, u16_at(0x2a)?, u16_at(0x2c)?)
        };
        for i in 0..phnum.min(256) {
            let at = (phoff + i * phentsize) as usize;
            if u32_at(at)? != 3 {
                continue; // not PT_INTERP
            }
            let (offset, size) = if is64 {
                (word(at + 8)?, word(at + 32)?)
            } else {
                (word(at + 4)?, word(at + 16)?)
            };
            let raw = bytes.get(offset as usize..(offset + size) as usize)?;
            let text = String::from_utf8_lossy(raw.split(|b| *b == 0).next()?).into_owned();
            return Some(Some(text));
        }
        Some(None)
    };
    Ok(parse().flatten())
}

/// The directories the image's dynamic loader would search: those
/// `/etc/ld.so.conf` names (with its `include`s), then the multiarch and
/// default ones, each only if it exists in `root`.
pub(crate) fn library_dirs(root: &Path, interpreter: &str) -> Vec<String> {
    let mut dirs = Vec::new();
    read_ld_so_conf(root, "/etc/ld.so.conf", &mut dirs, 0);
    let triplet = if interpreter.contains("aarch64") {
        "aarch64-linux-gnu"
    } else if interpreter.contains("armhf") {
        "arm-linux-gnueabihf"
    } else {
        "x86_64-linux-gnu"
    };
    for dir in [
        format!("/lib/{triplet}"),
        format!("/usr/lib/{triplet}"),
        "/lib64".into(),
        "/usr/lib64".into(),
        "/lib".into(),
        "/usr/lib".into(),
    ] {
        dirs.push(dir);
    }
    let mut seen = std::collections::HashSet::new();
    dirs.into_iter()
        .filter(|d| seen.insert(d.clone()))
        .filter_map(|d| resolve(root, &d))
        .filter(|d| host_path(root, d).is_dir())
        .collect()
}

fn read_ld_so_conf(root: &Path, file: &str, dirs: &mut Vec<String>, depth: usize) {
    if depth > 4 {
        return;
    }
    let Some(real) = resolve(root, file) else {
        return;
    };
    let Ok(text) = std::fs::read_to_string(host_path(root, &real)) else {
        return;
    };
    for line in text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
    {
        if let Some(pattern) = line.strip_prefix("include ") {
            let pattern = pattern.trim();
            let absolute = if pattern.starts_with('/') {
                pattern.to_string()
            } else {
                format!("/etc/{pattern}")
            };
            let host_pattern = host_path(root, &absolute);
            let mut found: Vec<PathBuf> = glob::glob(&host_pattern.to_string_lossy())
                .map(|paths| paths.flatten().collect())
                .unwrap_or_default();
            found.sort();
            for path in found {
                if let Ok(inner) = path.strip_prefix(root) {
                    let inner = format!("/{}", inner.display());
                    read_ld_so_conf(root, &inner, dirs, depth + 1);
                }
            }
        } else if line.starts_with('/') {
            dirs.push(line.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feature_releases() {
        assert_eq!(feature_release("17.0.15"), Some(17));
        assert_eq!(feature_release("25"), Some(25));
        assert_eq!(feature_release("1.8.0_412"), Some(8));
        assert_eq!(feature_release("21-ea"), Some(21));
        assert_eq!(feature_release("x"), None);
    }

    #[test]
    fn links_resolve_inside_the_root() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("usr/lib/jvm/jdk/bin")).unwrap();
        std::fs::write(r.join("usr/lib/jvm/jdk/bin/java"), "").unwrap();
        std::fs::create_dir_all(r.join("etc/alternatives")).unwrap();
        std::fs::create_dir_all(r.join("usr/bin")).unwrap();
        std::os::unix::fs::symlink("/usr/lib/jvm/jdk/bin/java", r.join("etc/alternatives/java"))
            .unwrap();
        std::os::unix::fs::symlink("../../etc/alternatives/java", r.join("usr/bin/java")).unwrap();
        assert_eq!(
            resolve(r, "/usr/bin/java").as_deref(),
            Some("/usr/lib/jvm/jdk/bin/java")
        );
        std::os::unix::fs::symlink("loop", r.join("loop")).unwrap();
        assert_eq!(resolve(r, "/loop"), None);
    }

    #[test]
    fn the_host_java_names_its_loader() {
        let java = std::env::current_exe().unwrap();
        let interp = elf_interpreter(&java).unwrap();
        assert!(interp.is_some_and(|i| i.contains("ld-")));
    }

    #[test]
    fn release_files() {
        let facts = parse_release("IMPLEMENTOR=\"Eclipse Adoptium\"\nJAVA_VERSION=\"25.0.3\"\n");
        assert_eq!(facts["IMPLEMENTOR"], "Eclipse Adoptium");
        assert_eq!(facts["JAVA_VERSION"], "25.0.3");
    }
}
