//! Who a dependency jar is, never guessed: Maven coordinates from the
//! jar's own `META-INF/maven/<group>/<artifact>/pom.properties`; else an
//! exact SHA-1 match with a file of the local Maven repository; else
//! unknown. A file name only says where in the repository to look for
//! identical bytes; it identifies nothing by itself.

use anyhow::{Context, Result};
use sha1::{Digest, Sha1};
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Maven coordinates.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Coordinates {
    /// `groupId`.
    pub group: String,
    /// `artifactId`.
    pub artifact: String,
    /// `version`.
    pub version: String,
}

impl Coordinates {
    /// The package URL, `pkg:maven/<group>/<artifact>@<version>`.
    pub fn purl(&self) -> String {
        format!(
            "pkg:maven/{}/{}@{}",
            purl_escape(&self.group),
            purl_escape(&self.artifact),
            purl_escape(&self.version)
        )
    }
}

/// Percent-encodes what a purl segment may not hold as is.
fn purl_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b".-_~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// How a jar was identified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// From a `pom.properties` inside the jar.
    PomProperties {
        /// The coordinates it names.
        coordinates: Coordinates,
        /// Its entry name in the jar.
        entry: String,
    },
    /// The jar's SHA-1 equals that of a file in the local Maven repository.
    Repository {
        /// The coordinates of that file.
        coordinates: Coordinates,
        /// The file (for a jar inside another jar: `outer.jar!/entry`).
        file: String,
    },
    /// Neither: only the file name and hashes are known.
    Unknown,
}

impl Identity {
    /// The coordinates, when known.
    pub fn coordinates(&self) -> Option<&Coordinates> {
        match self {
            Identity::PomProperties { coordinates, .. }
            | Identity::Repository { coordinates, .. } => Some(coordinates),
            Identity::Unknown => None,
        }
    }
}

/// Parses a `pom.properties` (Java properties: `key=value` or `key: value`,
/// `#`/`!` comments); all three of groupId, artifactId and version needed.
pub fn parse_pom_properties(text: &str) -> Option<Coordinates> {
    let mut values: BTreeMap<&str, &str> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        if let Some((key, value)) = line.split_once(['=', ':']) {
            values.insert(key.trim(), value.trim());
        }
    }
    let get = |key: &str| {
        values
            .get(key)
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string())
    };
    Some(Coordinates {
        group: get("groupId")?,
        artifact: get("artifactId")?,
        version: get("version")?,
    })
}

/// The coordinates of a jar named `file_name` from its `pom.properties`
/// files (entry name, text): the only one, or else the one whose
/// `<artifact>-<version>.jar` is the file name (a shaded jar carries the
/// pom.properties of what it swallowed). `None` when that picks none.
pub fn from_pom_properties(
    file_name: &str,
    properties: &[(String, String)],
) -> Option<(Coordinates, String)> {
    let parsed: Vec<(Coordinates, &String)> = properties
        .iter()
        .filter_map(|(entry, text)| parse_pom_properties(text).map(|c| (c, entry)))
        .collect();
    let chosen = if parsed.len() == 1 {
        parsed.into_iter().next()
    } else {
        let mut named: Vec<_> = parsed
            .into_iter()
            .filter(|(c, _)| format!("{}-{}.jar", c.artifact, c.version) == file_name)
            .collect();
        (named.len() == 1).then(|| named.remove(0))
    };
    chosen.map(|(c, entry)| (c, entry.clone()))
}

/// Is `entry` a `META-INF/maven/<group>/<artifact>/pom.properties`?
pub fn is_pom_properties(entry: &str) -> bool {
    let parts: Vec<&str> = entry.split('/').collect();
    parts.len() == 5
        && parts[0] == "META-INF"
        && parts[1] == "maven"
        && parts[4] == "pom.properties"
}

/// Where a jar's manifest suggests looking in the repository, as
/// (artifact, version) pairs — only suggestions: a match still needs the
/// same SHA-1. From `Implementation-Title` `group#artifact;version` (as
/// Micrometer writes it), `Implementation-Title`/`-Version` and
/// `Automatic-Module-Name` (dots as dashes) with `Implementation-Version`,
/// and the last dotted part of `Bundle-SymbolicName` with `Bundle-Version`.
pub fn manifest_hints(attribute: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    let mut hints = Vec::new();
    let title = attribute("Implementation-Title");
    let version = attribute("Implementation-Version");
    if let Some((_, rest)) = title.as_deref().and_then(|t| t.split_once('#')) {
        if let Some((artifact, v)) = rest.split_once(';') {
            hints.push((artifact.to_string(), v.to_string()));
        }
    }
    if let Some(version) = &version {
        for name in [
            title.clone(),
            attribute("Automatic-Module-Name").map(|m| m.replace('.', "-")),
        ]
        .into_iter()
        .flatten()
        {
            hints.push((name, version.clone()));
        }
    }
    if let (Some(symbolic), Some(version)) = (
        attribute("Bundle-SymbolicName"),
        attribute("Bundle-Version"),
    ) {
        let name = symbolic.split(';').next().unwrap_or_default().trim();
        let last = name.rsplit('.').next().unwrap_or(name);
        hints.push((last.to_string(), version));
    }
    hints.retain(|(a, v)| {
        !a.is_empty()
            && !v.is_empty()
            && !a.contains(['/', ' ', '\\', '#', ';', ':'])
            && !v.contains(['/', ' ', '\\'])
    });
    hints.dedup();
    hints
}

/// A local Maven repository (`~/.m2/repository`), searched for files with
/// exactly a jar's bytes. Its directory names are read once, on the first
/// search.
#[derive(Debug)]
pub struct MavenRepository {
    root: PathBuf,
    /// Directory name → the directories of that name.
    directories: OnceCell<BTreeMap<String, Vec<PathBuf>>>,
}

/// Spring Boot's plugin adds this jar to `BOOT-INF/lib`; it is not resolved
/// by Maven but copied out of `spring-boot-loader-tools`.
const JARMODE_TOOLS: &str = "spring-boot-jarmode-tools";
const JARMODE_ENTRY: &str = "META-INF/jarmode/spring-boot-jarmode-tools.jar";

impl MavenRepository {
    /// The repository at `root` (it need not exist: then nothing matches;
    /// an empty path is no repository at all).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            directories: OnceCell::new(),
        }
    }

    /// Its root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The coordinates of the repository file whose SHA-1 is `sha1` (hex),
    /// looked for as `<group path>/<a>/<v>/<a>-<v>.jar` for every split of
    /// `file_name` into `<a>-<v>.jar` and every `(a, v)` of `hints` (from the
    /// jar's manifest: see [`manifest_hints`]); then, for
    /// `spring-boot-jarmode-tools-<v>.jar`, as the copy inside
    /// `spring-boot-loader-tools-<v>.jar`. `None` when no file, or more than
    /// one set of coordinates, matches.
    pub fn find(
        &self,
        file_name: &str,
        hints: &[(String, String)],
        sha1: &str,
    ) -> Result<Option<Identity>> {
        if self.root.as_os_str().is_empty() {
            return Ok(None);
        }
        let stem = file_name.strip_suffix(".jar").unwrap_or("");
        let mut candidates: BTreeSet<(String, String)> = stem
            .match_indices('-')
            .map(|(split, _)| (stem[..split].to_string(), stem[split + 1..].to_string()))
            .collect();
        candidates.extend(hints.iter().cloned());
        let mut found: BTreeMap<Coordinates, PathBuf> = BTreeMap::new();
        for (artifact, version) in &candidates {
            if artifact.is_empty() || version.is_empty() || version.contains('/') {
                continue;
            }
            for dir in self.directories_named(artifact) {
                let file = dir.join(version).join(format!("{artifact}-{version}.jar"));
                let Some(group) = self.group_of(dir) else {
                    continue;
                };
                if file.is_file() && sha1_of_file(&file)? == sha1 {
                    let coordinates = Coordinates {
                        group,
                        artifact: artifact.clone(),
                        version: version.clone(),
                    };
                    found.entry(coordinates).or_insert(file);
                }
            }
        }
        if found.is_empty() {
            if let Some(version) = stem.strip_prefix(&format!("{JARMODE_TOOLS}-")) {
                return self.find_jarmode_tools(version, sha1);
            }
        }
        Ok(match found.len() {
            1 => found
                .pop_first()
                .map(|(coordinates, file)| Identity::Repository {
                    coordinates,
                    file: file.display().to_string(),
                }),
            _ => None,
        })
    }

    /// `spring-boot-jarmode-tools-<version>.jar` byte for byte the copy in
    /// `org/springframework/boot/spring-boot-loader-tools/<version>/`.
    fn find_jarmode_tools(&self, version: &str, sha1: &str) -> Result<Option<Identity>> {
        let loader = self
            .root
            .join("org/springframework/boot/spring-boot-loader-tools")
            .join(version)
            .join(format!("spring-boot-loader-tools-{version}.jar"));
        if !loader.is_file() {
            return Ok(None);
        }
        let file = std::fs::File::open(&loader)
            .with_context(|| format!("opening {}", loader.display()))?;
        let Ok(mut zip) = zip::ZipArchive::new(std::io::BufReader::new(file)) else {
            return Ok(None);
        };
        let Ok(mut entry) = zip.by_name(JARMODE_ENTRY) else {
            return Ok(None);
        };
        let mut hasher = Sha1::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let n = entry
                .read(&mut buffer)
                .with_context(|| format!("reading {JARMODE_ENTRY} of {}", loader.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
        }
        if hex::encode(hasher.finalize()) != sha1 {
            return Ok(None);
        }
        Ok(Some(Identity::Repository {
            coordinates: Coordinates {
                group: "org.springframework.boot".into(),
                artifact: JARMODE_TOOLS.into(),
                version: version.into(),
            },
            file: format!("{}!/{JARMODE_ENTRY}", loader.display()),
        }))
    }

    /// The directories called `name`, at least one level below the root.
    fn directories_named(&self, name: &str) -> &[PathBuf] {
        let directories = self.directories.get_or_init(|| {
            let mut map: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
            let walk = walkdir::WalkDir::new(&self.root)
                .follow_links(false)
                .min_depth(2)
                .max_depth(16)
                .sort_by_file_name();
            for entry in walk.into_iter().filter_map(|e| e.ok()) {
                if entry.file_type().is_dir() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    map.entry(name).or_default().push(entry.into_path());
                }
            }
            map
        });
        directories.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The group of an artifact directory: its parent's path below the root,
    /// dotted.
    fn group_of(&self, artifact_dir: &Path) -> Option<String> {
        let relative = artifact_dir.parent()?.strip_prefix(&self.root).ok()?;
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        (!parts.is_empty()).then(|| parts.join("."))
    }
}

/// SHA-1 (hex) of a file's bytes.
fn sha1_of_file(path: &Path) -> Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut hasher = Sha1::new();
    std::io::copy(&mut file, &mut hasher).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coordinates(g: &str, a: &str, v: &str) -> Coordinates {
        Coordinates {
            group: g.into(),
            artifact: a.into(),
            version: v.into(),
        }
    }

    fn sha1_hex(bytes: &[u8]) -> String {
        hex::encode(Sha1::digest(bytes))
    }

    impl MavenRepository {
        fn find_by_name(&self, file_name: &str, sha1: &str) -> Result<Option<Identity>> {
            self.find(file_name, &[], sha1)
        }
    }

    #[test]
    fn manifest_hints_are_only_where_to_look() {
        let hints = |pairs: &[(&str, &str)]| {
            let map: BTreeMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            manifest_hints(|name| map.get(name).cloned())
        };
        let pair = |a: &str, v: &str| (a.to_string(), v.to_string());
        assert_eq!(
            hints(&[
                (
                    "Implementation-Title",
                    "io.micrometer#micrometer-core;1.15.12"
                ),
                ("Automatic-Module-Name", "micrometer.core"),
            ]),
            [pair("micrometer-core", "1.15.12")]
        );
        assert_eq!(
            hints(&[
                ("Implementation-Title", "spring-core"),
                ("Implementation-Version", "6.2.19"),
                ("Automatic-Module-Name", "spring.core"),
            ]),
            [pair("spring-core", "6.2.19")]
        );
        assert_eq!(
            hints(&[
                ("Implementation-Title", "Spring Boot"),
                ("Implementation-Version", "3.5.16"),
                (
                    "Bundle-SymbolicName",
                    "org.apache.tomcat-embed-core;singleton:=true"
                ),
                ("Bundle-Version", "10.1.55"),
            ]),
            [pair("tomcat-embed-core", "10.1.55")]
        );
        assert!(hints(&[]).is_empty());
    }

    #[test]
    fn a_renamed_jar_is_found_through_its_manifest_only_with_the_same_bytes() {
        let repo = tempfile::tempdir().unwrap();
        let file = repo
            .path()
            .join("org/springframework/spring-core/6.2.19/spring-core-6.2.19.jar");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, b"core").unwrap();
        let repository = MavenRepository::new(repo.path());
        let hints = [("spring-core".to_string(), "6.2.19".to_string())];
        assert_eq!(
            repository
                .find("core.jar", &hints, &sha1_hex(b"core"))
                .unwrap()
                .and_then(|i| i.coordinates().cloned()),
            Some(coordinates("org.springframework", "spring-core", "6.2.19"))
        );
        assert_eq!(
            repository
                .find("core.jar", &hints, &sha1_hex(b"other"))
                .unwrap(),
            None
        );
        assert_eq!(
            repository
                .find("core.jar", &[], &sha1_hex(b"core"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn purls() {
        assert_eq!(
            coordinates("org.springframework.boot", "spring-boot", "3.5.16").purl(),
            "pkg:maven/org.springframework.boot/spring-boot@3.5.16"
        );
        assert_eq!(
            coordinates("g", "a", "1.0+build 7").purl(),
            "pkg:maven/g/a@1.0%2Bbuild%207"
        );
    }

    #[test]
    fn pom_properties_rules() {
        let jackson = "#Generated by Maven\nartifactId=jackson-core\ngroupId=com.fasterxml.jackson.core\nversion=2.21.4\n";
        let shaded = "groupId=org.other\nartifactId=inner\nversion=1.0\n";
        let entry = |g: &str, a: &str| format!("META-INF/maven/{g}/{a}/pom.properties");
        // None.
        assert_eq!(from_pom_properties("x-1.jar", &[]), None);
        // Exactly one: taken.
        let one = [(
            entry("com.fasterxml.jackson.core", "jackson-core"),
            jackson.to_string(),
        )];
        assert_eq!(
            from_pom_properties("renamed.jar", &one),
            Some((
                coordinates("com.fasterxml.jackson.core", "jackson-core", "2.21.4"),
                one[0].0.clone()
            ))
        );
        // Several: only the one the file name names.
        let several = [
            one[0].clone(),
            (entry("org.other", "inner"), shaded.to_string()),
        ];
        assert_eq!(
            from_pom_properties("inner-1.0.jar", &several).map(|(c, _)| c),
            Some(coordinates("org.other", "inner", "1.0"))
        );
        assert_eq!(from_pom_properties("renamed.jar", &several), None);
        // Incomplete.
        assert_eq!(parse_pom_properties("groupId=g\nartifactId=a\n"), None);
        assert_eq!(
            parse_pom_properties("groupId: g\nartifactId : a\nversion=1\n"),
            Some(coordinates("g", "a", "1"))
        );
        assert!(is_pom_properties("META-INF/maven/g/a/pom.properties"));
        assert!(!is_pom_properties("META-INF/maven/g/pom.properties"));
        assert!(!is_pom_properties(
            "BOOT-INF/classes/META-INF/maven/g/a/pom.properties"
        ));
    }

    #[test]
    fn repository_matches_only_identical_bytes() {
        let repo = tempfile::tempdir().unwrap();
        let put = |path: &str, bytes: &[u8]| {
            let file = repo.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, bytes).unwrap();
        };
        put(
            "org/springframework/spring-core/6.2.19/spring-core-6.2.19.jar",
            b"core",
        );
        put(
            "io/micrometer/micrometer-core/1.15.12/micrometer-core-1.15.12.jar",
            b"micrometer",
        );
        // The same name under another group, other bytes.
        put(
            "org/other/spring-core/6.2.19/spring-core-6.2.19.jar",
            b"not core",
        );
        let repository = MavenRepository::new(repo.path());

        // Hit.
        let hit = repository
            .find_by_name("spring-core-6.2.19.jar", &sha1_hex(b"core"))
            .unwrap()
            .unwrap();
        assert_eq!(
            hit.coordinates(),
            Some(&coordinates("org.springframework", "spring-core", "6.2.19"))
        );
        let Identity::Repository { file, .. } = &hit else {
            panic!("{hit:?}")
        };
        assert!(file.ends_with("org/springframework/spring-core/6.2.19/spring-core-6.2.19.jar"));
        assert_eq!(
            repository
                .find_by_name("micrometer-core-1.15.12.jar", &sha1_hex(b"micrometer"))
                .unwrap()
                .and_then(|i| i.coordinates().cloned()),
            Some(coordinates("io.micrometer", "micrometer-core", "1.15.12"))
        );
        // Same name, other bytes: no match.
        assert_eq!(
            repository
                .find_by_name("spring-core-6.2.19.jar", &sha1_hex(b"patched"))
                .unwrap(),
            None
        );
        // A name the repository does not hold; not a jar name.
        assert_eq!(
            repository
                .find_by_name("mystery.jar", &sha1_hex(b"core"))
                .unwrap(),
            None
        );
        assert_eq!(
            repository
                .find_by_name("spring-core", &sha1_hex(b"core"))
                .unwrap(),
            None
        );
        // No repository at all.
        assert_eq!(
            MavenRepository::new("")
                .find_by_name("spring-core-6.2.19.jar", &sha1_hex(b"core"))
                .unwrap(),
            None
        );
        let missing = MavenRepository::new(repo.path().join("absent"));
        assert_eq!(
            missing
                .find_by_name("spring-core-6.2.19.jar", &sha1_hex(b"core"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn identical_bytes_under_two_coordinates_are_not_chosen_between() {
        let repo = tempfile::tempdir().unwrap();
        for path in ["a/lib/1.0/lib-1.0.jar", "b/lib/1.0/lib-1.0.jar"] {
            let file = repo.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, b"same").unwrap();
        }
        let repository = MavenRepository::new(repo.path());
        assert_eq!(
            repository
                .find_by_name("lib-1.0.jar", &sha1_hex(b"same"))
                .unwrap(),
            None
        );
    }

    #[test]
    fn jarmode_tools_inside_loader_tools() {
        use std::io::Write;
        let repo = tempfile::tempdir().unwrap();
        let dir = repo
            .path()
            .join("org/springframework/boot/spring-boot-loader-tools/3.5.16");
        std::fs::create_dir_all(&dir).unwrap();
        let mut zip = zip::ZipWriter::new(
            std::fs::File::create(dir.join("spring-boot-loader-tools-3.5.16.jar")).unwrap(),
        );
        zip.start_file(JARMODE_ENTRY, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(b"jarmode bytes").unwrap();
        zip.finish().unwrap();
        let repository = MavenRepository::new(repo.path());
        let found = repository
            .find_by_name(
                "spring-boot-jarmode-tools-3.5.16.jar",
                &sha1_hex(b"jarmode bytes"),
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            found.coordinates(),
            Some(&coordinates(
                "org.springframework.boot",
                "spring-boot-jarmode-tools",
                "3.5.16"
            ))
        );
        assert_eq!(
            repository
                .find_by_name("spring-boot-jarmode-tools-3.5.16.jar", &sha1_hex(b"other"))
                .unwrap(),
            None
        );
        assert_eq!(
            repository
                .find_by_name(
                    "spring-boot-jarmode-tools-3.5.15.jar",
                    &sha1_hex(b"jarmode bytes")
                )
                .unwrap(),
            None
        );
    }
}
