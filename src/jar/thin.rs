//! The thin `app.jar` of Spring Boot's extracted layout: the application's
//! own classes and resources at the jar's root, and a manifest whose
//! `Class-Path` names each dependency under `lib/` and whose `Main-Class` is
//! the fat jar's `Start-Class` — the layout `java -Djarmode=tools -jar app.jar
//! extract` makes, written here byte for byte the same on every run.
//!
//! Every entry is stored (the layer is compressed anyway) with the zip
//! format's earliest time, so the jar's bytes depend only on the fat jar's
//! content. Directory entries are written for every parent: Spring's
//! classpath scanning asks the class loader for packages as resources, which
//! a jar without directory entries does not answer.

use crate::error::usage_hint;
use crate::jar::archive::JarArchive;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};

/// Where the application's classes sit in a Boot jar.
const CLASSES: &str = "BOOT-INF/classes/";
/// Where its dependency jars sit.
pub(crate) const LIB: &str = "BOOT-INF/lib/";

/// Main attributes that describe the fat jar's launcher, not the thin jar.
const LAUNCHER_ATTRIBUTES: &[&str] = &[
    "Main-Class",
    "Start-Class",
    "Class-Path",
    "Spring-Boot-Classes",
    "Spring-Boot-Lib",
    "Spring-Boot-Classpath-Index",
    "Spring-Boot-Layers-Index",
];

/// The dependency jars of a Boot jar in class path order: `classpath.idx`
/// order when the jar has one, then any others by name. Each is the entry
/// name (`BOOT-INF/lib/x.jar`).
pub(crate) fn dependency_jars(jar: &JarArchive) -> Result<Vec<String>> {
    let present: BTreeSet<&str> = jar
        .entries
        .iter()
        .filter(|e| !e.is_dir && e.name.starts_with(LIB) && e.name.ends_with(".jar"))
        .map(|e| e.name.as_str())
        .collect();
    let mut ordered = Vec::with_capacity(present.len());
    if let Some(index) = jar.read_entry("BOOT-INF/classpath.idx")? {
        for line in index.lines() {
            let name = line.trim().trim_start_matches("- ").trim_matches('"');
            if present.contains(name) && !ordered.iter().any(|n| n == name) {
                ordered.push(name.to_string());
            }
        }
    }
    for name in present {
        if !ordered.iter().any(|n| n == name) {
            ordered.push(name.to_string());
        }
    }
    Ok(ordered)
}

/// Writes the thin jar for `jar`, whose dependencies are `lib_names` (file
/// names under `lib/`, in class path order), starting `start_class`.
pub(crate) fn thin_jar(
    jar: &JarArchive,
    lib_names: &[String],
    start_class: &str,
) -> Result<Vec<u8>> {
    let mut files: BTreeMap<String, usize> = BTreeMap::new();
    for entry in jar.entries.iter().filter(|e| !e.is_dir) {
        if let Some(inner) = entry.name.strip_prefix(CLASSES) {
            files.insert(inner.to_string(), entry.index);
        }
    }
    for entry in jar.entries.iter().filter(|e| !e.is_dir) {
        let name = &entry.name;
        if name.starts_with("META-INF/") && name != "META-INF/MANIFEST.MF" {
            // The application's own META-INF (under classes) wins.
            files.entry(name.clone()).or_insert(entry.index);
        }
    }
    files.remove("META-INF/MANIFEST.MF");
    let mut directories: BTreeSet<String> = BTreeSet::new();
    directories.insert("META-INF/".into());
    for name in files.keys() {
        let mut parts: Vec<&str> = name.split('/').collect();
        parts.pop();
        for end in 1..=parts.len() {
            directories.insert(format!("{}/", parts[..end].join("/")));
        }
    }

    let source = std::fs::File::open(jar.path.as_path())
        .with_context(|| format!("opening {}", jar.path.display()))?;
    let mut source = zip::ZipArchive::new(std::io::BufReader::new(source))
        .with_context(|| format!("reading {}", jar.path.display()))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let directory_options = options.unix_permissions(0o755);
    let failed = |e: zip::result::ZipError| anyhow::anyhow!("writing the thin app.jar: {e}");
    out.start_file("META-INF/MANIFEST.MF", options)
        .map_err(failed)?;
    out.write_all(manifest(jar, lib_names, start_class).as_bytes())?;
    for directory in &directories {
        out.add_directory(directory.as_str(), directory_options)
            .map_err(failed)?;
    }
    let mut buffer = Vec::new();
    for (name, index) in &files {
        buffer.clear();
        source
            .by_index(*index)
            .with_context(|| format!("reading entry {index} of {}", jar.path.display()))?
            .read_to_end(&mut buffer)
            .with_context(|| format!("reading {name} of {}", jar.path.display()))?;
        out.start_file(name.as_str(), options).map_err(failed)?;
        out.write_all(&buffer)?;
    }
    Ok(out.finish().map_err(failed)?.into_inner())
}

/// The thin jar's manifest: the fat jar's main attributes in their order,
/// without its launcher's, then `Main-Class` and `Class-Path`.
fn manifest(jar: &JarArchive, lib_names: &[String], start_class: &str) -> String {
    let mut text = String::new();
    let mut has_version = false;
    for (name, value) in jar.manifest.attributes() {
        if LAUNCHER_ATTRIBUTES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
        {
            continue;
        }
        has_version |= name.eq_ignore_ascii_case("Manifest-Version");
        append_attribute(&mut text, name, value);
    }
    if !has_version {
        text.insert_str(0, "Manifest-Version: 1.0\r\n");
    }
    append_attribute(&mut text, "Main-Class", start_class);
    if !lib_names.is_empty() {
        let class_path: Vec<String> = lib_names
            .iter()
            .map(|n| format!("lib/{}", n.replace(' ', "%20")))
            .collect();
        append_attribute(&mut text, "Class-Path", &class_path.join(" "));
    }
    text.push_str("\r\n");
    text
}

/// One attribute as the jar specification writes it: lines of at most 72
/// bytes, continued on lines that start with a space.
fn append_attribute(text: &mut String, name: &str, value: &str) {
    let line = format!("{name}: {value}");
    let mut width = 0;
    let mut limit = 72;
    for c in line.chars() {
        if width + c.len_utf8() > limit {
            text.push_str("\r\n ");
            width = 0;
            limit = 71;
        }
        text.push(c);
        width += c.len_utf8();
    }
    text.push_str("\r\n");
}

/// The `Start-Class` a Boot jar names, or a hint when it has none.
pub(crate) fn start_class(jar: &JarArchive, main_override: Option<&str>) -> Result<String> {
    match main_override.or_else(|| jar.manifest.get("Start-Class")) {
        Some(class) => Ok(class.to_string()),
        None => Err(usage_hint(
            format!(
                "jar {}: no Start-Class in META-INF/MANIFEST.MF",
                jar.path.display()
            ),
            "--mode extracted needs a jar built by Spring Boot's plugin, or pass --main-class",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_attributes_wrap_at_72_bytes() {
        let mut text = String::new();
        let value = "lib/a.jar ".repeat(20);
        append_attribute(&mut text, "Class-Path", value.trim_end());
        for line in text.split("\r\n") {
            assert!(line.len() <= 72, "{line:?}");
        }
        let joined: String = text
            .split("\r\n")
            .map(|l| l.strip_prefix(' ').unwrap_or(l))
            .collect();
        assert_eq!(joined, format!("Class-Path: {}", value.trim_end()));
    }
}
