//! `hoist sbom JAR`: the CycloneDX 1.6 SBOM of the real Spring Boot fixture,
//! checked with tools no one here wrote — CycloneDX's own schema
//! (`tests/support/validate_cyclonedx.py`, the schema files of PyPI's
//! cyclonedx-python-lib) and Maven's `dependency:list` of the same project.

use crate::support::artifacts::CRANE;
use crate::support::cli::hoist;
use crate::support::fixtures;
use crate::support::spring::App;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const PIP: &str = "scripts/install-test-deps.sh (pip: jsonschema referencing rfc3339-validator; --no-deps cyclonedx-python-lib==11.12.0)";

fn validator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/validate_cyclonedx.py")
}

/// Runs the schema check on `document`; asserts it prints `valid`.
#[track_caller]
pub(crate) fn assert_valid(document: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sbom.json");
    std::fs::write(&file, document).unwrap();
    let output = Command::new("python3")
        .arg(validator())
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); install {PIP}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.trim() == "valid",
        "CycloneDX 1.6 schema check failed ({:?}):\n{stdout}{}\n(install: {PIP})",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn sha1_hex(bytes: &[u8]) -> String {
    hex::encode(Sha1::digest(bytes))
}

/// The components' `hoist:path` → component.
fn by_path(bom: &Value) -> BTreeMap<String, Value> {
    bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let path = c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "hoist:path")
                .unwrap_or_else(|| panic!("no hoist:path: {c}"))["value"]
                .as_str()
                .unwrap()
                .to_string();
            (path, c.clone())
        })
        .collect()
}

fn property<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
    component["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)?["value"]
        .as_str()
}

fn hash(component: &Value, alg: &str) -> String {
    component["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["alg"] == alg)
        .unwrap_or_else(|| panic!("no {alg}: {component}"))["content"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The local Maven repository the fixture was built with.
fn maven_repository() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".m2/repository")
}

/// `group:artifact:version` of every runtime dependency Maven resolves for
/// `project` (`mvn dependency:list -DincludeScope=runtime`), offline first,
/// then online (the plugin may need one download from Maven Central).
fn maven_runtime_dependencies(project: &Path) -> BTreeSet<String> {
    let out = tempfile::tempdir().unwrap();
    let list = out.path().join("dependencies.txt");
    let run = |offline: bool| {
        let mut command = Command::new("mvn");
        command.args(["-B", "-q"]);
        if offline {
            command.arg("-o");
        }
        command
            .arg("dependency:list")
            .arg("-DincludeScope=runtime")
            .arg(format!("-DoutputFile={}", list.display()))
            .args([
                "-DoutputAbsoluteArtifactFilename=false",
                "-Dstyle.color=never",
            ])
            .current_dir(project)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run mvn ({e}); install Maven"))
    };
    let offline = run(true);
    if !offline.status.success() {
        eprintln!("mvn dependency:list offline failed; trying online (Maven Central)");
        let online = run(false);
        assert!(
            online.status.success(),
            "mvn dependency:list failed in {}:\n{}{}",
            project.display(),
            String::from_utf8_lossy(&online.stdout),
            String::from_utf8_lossy(&online.stderr)
        );
    }
    let text = std::fs::read_to_string(&list).unwrap();
    let mut coordinates = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        // group:artifact:type[:classifier]:version:scope, then maybe " -- module …"
        let Some(first) = line.split_whitespace().next() else {
            continue;
        };
        let parts: Vec<&str> = first.split(':').collect();
        let version = match parts.len() {
            5 => parts[3],
            6 => parts[4],
            _ => continue,
        };
        assert_eq!(parts[2], "jar", "{line}");
        coordinates.insert(format!("{}:{}:{version}", parts[0], parts[1]));
    }
    assert!(!coordinates.is_empty(), "nothing parsed from:\n{text}");
    coordinates
}

/// Whether the repository's jar for `g:a:v` is a Spring Boot starter (no
/// code; the Boot plugin leaves starters out of `BOOT-INF/lib`).
fn is_starter(coordinates: &str) -> bool {
    let parts: Vec<&str> = coordinates.split(':').collect();
    let jar = maven_repository()
        .join(parts[0].replace('.', "/"))
        .join(parts[1])
        .join(parts[2])
        .join(format!("{}-{}.jar", parts[1], parts[2]));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&jar).unwrap()).unwrap();
    let mut manifest = String::new();
    zip.by_name("META-INF/MANIFEST.MF")
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    manifest
        .lines()
        .any(|l| l.trim() == "Spring-Boot-Jar-Type: dependencies-starter")
}

#[test]
fn the_spring_fixture_sbom_is_valid_exact_and_what_maven_resolved() {
    let jar = App::Boot35.jar();
    let run = || {
        hoist()
            .args(["sbom", "--json"])
            .arg_path(&jar)
            .success()
            .into_bytes()
    };
    let document = run();
    assert_eq!(document, run(), "two runs, the same bytes");
    assert_valid(&document);
    let bom: Value = serde_json::from_slice(&document).unwrap();
    assert_eq!(bom["specVersion"], "1.6");
    assert_eq!(bom["metadata"]["timestamp"], "1970-01-01T00:00:00Z");
    let jar_bytes = std::fs::read(&jar).unwrap();
    let app = &bom["metadata"]["component"];
    assert_eq!(app["purl"], "pkg:maven/dev.hoist.fixture/boot35@1.0.0");
    assert_eq!(hash(app, "SHA-256"), sha256_hex(&jar_bytes));

    // Exactly the jar's BOOT-INF/lib jars, with their real hashes.
    let components = by_path(&bom);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&jar_bytes)).unwrap();
    let libs: BTreeSet<String> = zip
        .file_names()
        .map(|n| n.unwrap().to_string())
        .filter(|n| n.starts_with("BOOT-INF/lib/") && n.ends_with(".jar"))
        .collect();
    assert_eq!(
        components.keys().cloned().collect::<BTreeSet<_>>(),
        libs,
        "the components are the BOOT-INF/lib jars"
    );
    for (path, component) in &components {
        let mut bytes = Vec::new();
        zip.by_name(path).unwrap().read_to_end(&mut bytes).unwrap();
        assert_eq!(hash(component, "SHA-256"), sha256_hex(&bytes), "{path}");
        assert_eq!(hash(component, "SHA-1"), sha1_hex(&bytes), "{path}");
    }

    // Every jar identified, with the coordinates Maven resolved.
    let mut in_sbom = BTreeSet::new();
    for (path, component) in &components {
        let purl = component["purl"]
            .as_str()
            .unwrap_or_else(|| panic!("{path} has no purl: {component}"));
        let (group, name, version) = (
            component["group"].as_str().unwrap(),
            component["name"].as_str().unwrap(),
            component["version"].as_str().unwrap(),
        );
        assert_eq!(purl, format!("pkg:maven/{group}/{name}@{version}"));
        assert_eq!(
            path.rsplit('/').next().unwrap(),
            format!("{name}-{version}.jar")
        );
        assert_ne!(property(component, "hoist:coordinates"), Some("unknown"));
        in_sbom.insert(format!("{group}:{name}:{version}"));
    }
    let project = jar.parent().unwrap().parent().unwrap();
    let maven = maven_runtime_dependencies(project);
    let jarmode = "org.springframework.boot:spring-boot-jarmode-tools:3.5.16".to_string();
    let starters: BTreeSet<String> = maven.iter().filter(|c| is_starter(c)).cloned().collect();
    let mut expected: BTreeSet<String> = maven.difference(&starters).cloned().collect();
    expected.insert(jarmode.clone());
    assert_eq!(
        in_sbom, expected,
        "the SBOM lists Maven's runtime dependencies (less the starters, which hold no code) and spring-boot-jarmode-tools"
    );
    assert!(
        starters.iter().all(|s| s.contains(":spring-boot-starter")),
        "{starters:?}"
    );
    // The jars without pom.properties were matched by SHA-1, jarmode-tools
    // inside spring-boot-loader-tools.
    let jarmode_component = &components["BOOT-INF/lib/spring-boot-jarmode-tools-3.5.16.jar"];
    assert_eq!(
        property(jarmode_component, "hoist:coordinates"),
        Some("local-repository")
    );
    let method = &jarmode_component["evidence"]["identity"][0]["methods"][0];
    assert_eq!(method["technique"], "hash-comparison");
    assert!(method["value"].as_str().unwrap().ends_with(
        "spring-boot-loader-tools-3.5.16.jar!/META-INF/jarmode/spring-boot-jarmode-tools.jar"
    ));
    let jackson = &components["BOOT-INF/lib/jackson-core-2.21.4.jar"];
    assert_eq!(
        property(jackson, "hoist:coordinates"),
        Some("pom.properties")
    );

    // The table names the same jars.
    let table = hoist().arg_sbom(&jar);
    assert_eq!(table.lines().count(), 1 + libs.len(), "{table}");
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("pkg:maven/org.springframework/spring-core@6.2.19"));
}

#[test]
fn class_path_jars_unknown_unless_the_repository_has_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let jar = fixtures::plain_with_lib(&dir.path().join("install"));
    let lib = jar.parent().unwrap();
    let empty_repository = dir.path().join("empty-m2");
    std::fs::create_dir_all(&empty_repository).unwrap();
    let document = hoist()
        .args(["sbom", "--json", "--maven-repo"])
        .arg_path(&empty_repository)
        .arg_path(&jar)
        .success();
    assert_valid(document.as_bytes());
    let bom: Value = serde_json::from_str(&document).unwrap();
    let components = by_path(&bom);
    assert_eq!(
        components.keys().map(String::as_str).collect::<Vec<_>>(),
        [fixtures::GREETING_JAR, fixtures::SNAP_JAR]
    );
    for (path, component) in &components {
        assert_eq!(property(component, "hoist:coordinates"), Some("unknown"));
        assert!(
            component.get("purl").is_none(),
            "never guessed: {component}"
        );
        assert!(component.get("version").is_none(), "{component}");
        assert_eq!(component["name"], path.as_str());
        let bytes = std::fs::read(lib.join(path)).unwrap();
        assert_eq!(hash(component, "SHA-256"), sha256_hex(&bytes));
        assert_eq!(hash(component, "SHA-1"), sha1_hex(&bytes));
    }
    // No pom.properties: name and version from the manifest, no purl.
    assert_eq!(bom["metadata"]["component"]["name"], "demo");
    assert_eq!(bom["metadata"]["component"]["version"], "0.0.1");

    // The same bytes in a repository: identified, by SHA-1.
    let repository = dir.path().join("m2");
    let home = repository.join("com/example/greeting/1.0");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::copy(
        lib.join(fixtures::GREETING_JAR),
        home.join(fixtures::GREETING_JAR),
    )
    .unwrap();
    let table = hoist()
        .args(["sbom"])
        .env("MAVEN_REPO", &repository)
        .arg_path(&jar)
        .success();
    assert!(
        table.contains("pkg:maven/com.example/greeting@1.0"),
        "{table}"
    );
    assert!(table.contains("(unknown coordinates)"), "{table}");
}

#[test]
fn the_timestamp_is_source_date_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let jar = fixtures::synthetic_boot(dir.path());
    let document = hoist()
        .args(["sbom", "--json"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .arg_path(&jar)
        .success();
    let bom: Value = serde_json::from_str(&document).unwrap();
    assert_eq!(bom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
    let serial = bom["serialNumber"].as_str().unwrap();
    assert!(serial.starts_with("urn:uuid:"), "{serial}");
    assert_eq!(&serial[9 + 14..9 + 15], "5", "a version 5 UUID: {serial}");
    assert_valid(document.as_bytes());
}

#[test]
fn hoists_spdx_ids_are_in_the_schema() {
    let output = Command::new("python3")
        .arg(validator())
        .arg("--spdx-ids")
        .output()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); install {PIP}"));
    assert!(output.status.success(), "install {PIP}");
    let ids: BTreeSet<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    for id in hoist::sbom::license::SPDX_IDS {
        assert!(
            ids.contains(*id),
            "{id} is not an SPDX id of the CycloneDX schema"
        );
    }
}

#[test]
fn a_missing_jar_is_one_line_and_exit_2() {
    let stderr = hoist().args(["sbom", "/nonexistent/app.jar"]).failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("hoist: error: "), "{stderr}");
    assert!(
        stderr.contains("/nonexistent/app.jar") && stderr.contains("no such file"),
        "{stderr}"
    );
    assert!(stderr.contains("hint"), "{stderr}");
}

#[test]
fn a_docker_archive_or_a_bare_layout_directory_is_one_line_and_exit_2() {
    let stderr = hoist()
        .args(["sbom", "docker-archive:app.tar:app:1"])
        .failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("docker archive is not supported"),
        "{stderr}"
    );
    let layout = tempfile::tempdir().unwrap();
    std::fs::write(layout.path().join("oci-layout"), "{}").unwrap();
    let stderr = hoist().args(["sbom"]).arg_path(layout.path()).failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("name it oci:"), "{stderr}");
}

/// Small helpers on the `hoist` builder for this file.
trait SbomRun {
    fn arg_path(self, path: &Path) -> Self;
    fn arg_sbom(self, jar: &Path) -> String;
}

impl SbomRun for crate::support::cli::Hoist {
    fn arg_path(self, path: &Path) -> Self {
        self.args([path])
    }

    #[track_caller]
    fn arg_sbom(self, jar: &Path) -> String {
        self.args(["sbom"]).arg_path(jar).success()
    }
}

/// `hoist sbom IMAGE --json` prints the very document crane reads from the
/// image's SBOM referrer (docker-registry: the fallback tag), and the table
/// lists every jar of the app.
#[test]
fn the_sbom_of_a_pushed_image_is_the_attached_document() {
    use crate::support::cli::run_tool;
    use crate::support::registry::{Auth, TestRegistry};
    let registry = TestRegistry::start(Auth::None);
    let target = registry.image("app:1");
    let report = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([App::Boot35.jar()])
        .args(["--to", &target])
        .report();
    let digest = report["digest"].as_str().unwrap().to_string();
    let repo = target.rsplit_once(':').unwrap().0;
    let tag = format!("{repo}:sha256-{}", digest.trim_start_matches("sha256:"));
    let index: Value =
        serde_json::from_str(&run_tool("crane", &["manifest", "--insecure", &tag], CRANE)).unwrap();
    let referrer = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["artifactType"] == "application/vnd.cyclonedx+json")
        .unwrap_or_else(|| panic!("no SBOM referrer: {index}"));
    let manifest: Value = serde_json::from_str(&run_tool(
        "crane",
        &[
            "manifest",
            "--insecure",
            &format!("{repo}@{}", referrer["digest"].as_str().unwrap()),
        ],
        CRANE,
    ))
    .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let document = Command::new("crane")
        .args(["blob", "--insecure", &format!("{repo}@{layer}")])
        .output()
        .expect("running crane blob")
        .stdout;
    for image in [target.clone(), format!("{repo}@{digest}")] {
        let printed = hoist().args(["sbom", &image, "--json"]).success();
        assert_eq!(printed.as_bytes(), document.as_slice(), "{image}");
    }
    assert_valid(&document);
    let table = hoist().args(["sbom", &target]).success();
    let libs = crate::support::spring::jar_files(&App::Boot35.jar())
        .into_iter()
        .filter(|(name, _)| name.starts_with("BOOT-INF/lib/") && name.ends_with(".jar"))
        .count();
    assert!(
        table.lines().filter(|l| l.contains("pkg:maven/")).count() >= libs - 1,
        "{table}"
    );
}

/// An image pushed without attestations has no SBOM to print: one line, a
/// hint, exit 2.
#[test]
fn an_image_without_an_sbom_is_one_line_and_exit_2() {
    use crate::support::registry::{Auth, TestRegistry};
    let registry = TestRegistry::start(Auth::None);
    let target = registry.image("plain:1");
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([App::Boot35.jar()])
        .args(["--to", &target, "--attestations", "none"])
        .report();
    let stderr = hoist().args(["sbom", &target, "--json"]).failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no SBOM attached"), "{stderr}");
    assert!(
        stderr.contains("hint") && stderr.contains("hoist sbom"),
        "{stderr}"
    );
}

/// An OCI layout without an SBOM referrer in its index.json: one line, exit 2.
#[test]
fn a_layout_without_an_sbom_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let layout = format!("oci:{}:1", dir.path().join("image").display());
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([App::Boot35.jar()])
        .args(["--to", &layout, "--attestations", "none"])
        .report();
    let stderr = hoist().args(["sbom", &layout]).failure(2);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no SBOM in the layout"), "{stderr}");
    assert!(stderr.contains("hint"), "{stderr}");
}
