//! The CycloneDX 1.6 JSON document, built from plain inputs without I/O:
//! serde structs whose field order is the output's, components sorted by
//! `bom-ref`, so the same inputs always give the same bytes.
//!
//! Holds what an image's SBOM needs: the app (`metadata.component`), one
//! `library` per classpath jar, and, when the caller knows them, the base
//! image (`container`, by digest) and the JDK found in it (`platform`, from
//! its `release` file).

use crate::sbom::identity::Identity;
use crate::sbom::license::License;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One classpath jar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LibraryJar {
    /// Its path in the app (`BOOT-INF/lib/x.jar`, or relative to the jar
    /// for a `Class-Path` jar).
    pub path: String,
    /// Its file name.
    pub file_name: String,
    /// SHA-256 of its bytes (hex).
    pub sha256: String,
    /// SHA-1 of its bytes (hex).
    pub sha1: String,
    /// Who it is.
    pub identity: Identity,
    /// The licences its manifest declares.
    pub licenses: Vec<License>,
}

/// The application: the jar hoist was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppComponent {
    /// `groupId` (from its own pom.properties), when known.
    pub group: Option<String>,
    /// `artifactId`, else `Implementation-Title`, else the file name.
    pub name: String,
    /// Its version, when known.
    pub version: Option<String>,
    /// `pkg:maven/…` when the coordinates are known.
    pub purl: Option<String>,
    /// SHA-256 of the jar (hex).
    pub sha256: String,
}

/// The base image, by digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseImage {
    /// Registry and repository, e.g. `docker.io/library/eclipse-temurin`.
    pub repository: String,
    /// Its manifest digest, `sha256:<hex>`.
    pub digest: String,
    /// The platform's architecture (`amd64`), when one was picked.
    pub architecture: Option<String>,
}

/// The JDK found in the base image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jdk {
    /// Its home, e.g. `/opt/java/openjdk`.
    pub java_home: String,
    /// The `release` file's fields, quotes removed.
    pub release: BTreeMap<String, String>,
}

impl Jdk {
    /// Parses a `release` file (`KEY="value"` lines).
    pub fn from_release(java_home: &str, text: &str) -> Self {
        let release = text
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .filter(|(k, _)| !k.is_empty() && !k.starts_with('#'))
            .collect();
        Self {
            java_home: java_home.to_string(),
            release,
        }
    }
}

/// What an SBOM is made of.
#[derive(Clone, Debug)]
pub struct SbomInputs {
    /// What the serial number derives from: `sha256:<hex>` of the jar, or
    /// the image's digest.
    pub subject: String,
    /// `metadata.timestamp`, RFC 3339 (the image's `created`).
    pub timestamp: String,
    /// hoist's version, for `metadata.tools`.
    pub tool_version: String,
    /// The application.
    pub app: AppComponent,
    /// The classpath jars, in any order.
    pub libraries: Vec<LibraryJar>,
    /// The base image, when there is one.
    pub base_image: Option<BaseImage>,
    /// The JDK in the base image, when one was found.
    pub jdk: Option<Jdk>,
}

/// A CycloneDX document (`bomFormat` CycloneDX, `specVersion` 1.6).
#[derive(Clone, Debug, Serialize)]
pub struct Bom {
    /// Always `CycloneDX`.
    #[serde(rename = "bomFormat")]
    pub bom_format: &'static str,
    /// Always `1.6`.
    #[serde(rename = "specVersion")]
    pub spec_version: &'static str,
    /// `urn:uuid:` + the v5 UUID of the subject.
    #[serde(rename = "serialNumber")]
    pub serial_number: String,
    /// Always 1.
    pub version: u32,
    /// When, with what, of what.
    pub metadata: Metadata,
    /// Everything in the app, sorted by `bom-ref`.
    pub components: Vec<Component>,
    /// The app → its jars (and base image); the base image → the JDK.
    pub dependencies: Vec<Dependency>,
}

/// `metadata`.
#[derive(Clone, Debug, Serialize)]
pub struct Metadata {
    /// RFC 3339.
    pub timestamp: String,
    /// The tools (hoist).
    pub tools: Tools,
    /// The application.
    pub component: Component,
}

/// `metadata.tools` in its 1.5+ object form.
#[derive(Clone, Debug, Serialize)]
pub struct Tools {
    /// hoist.
    pub components: Vec<Component>,
}

/// A component.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Component {
    /// `application`, `library`, `container` or `platform`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Unique in the document.
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    /// Maven `groupId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The name (for an unknown jar, its file name).
    pub name: String,
    /// The version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// What it is, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `required` for classpath jars.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<&'static str>,
    /// SHA-256, then SHA-1.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    /// Declared licences.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<LicenseChoice>,
    /// The package URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// How the identity was established.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// `hoist:*` facts, sorted by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
}

impl Component {
    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }
}

/// A hash.
#[derive(Clone, Debug, Serialize)]
pub struct Hash {
    /// `SHA-256` or `SHA-1`.
    pub alg: &'static str,
    /// Hex.
    pub content: String,
}

/// `{"license": {...}}`.
#[derive(Clone, Debug, Serialize)]
pub struct LicenseChoice {
    /// The licence.
    pub license: LicenseObject,
}

/// A licence: an SPDX `id` or a `name`, and maybe a `url`.
#[derive(Clone, Debug, Serialize)]
pub struct LicenseObject {
    /// SPDX identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Name as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `evidence`.
#[derive(Clone, Debug, Serialize)]
pub struct Evidence {
    /// How the purl was established.
    pub identity: Vec<IdentityEvidence>,
}

/// One `evidence.identity` item.
#[derive(Clone, Debug, Serialize)]
pub struct IdentityEvidence {
    /// Always `purl`.
    pub field: &'static str,
    /// Always 1: exact.
    pub confidence: u32,
    /// The purl.
    #[serde(rename = "concludedValue")]
    pub concluded_value: String,
    /// The one method.
    pub methods: Vec<EvidenceMethod>,
}

/// One method of identity evidence.
#[derive(Clone, Debug, Serialize)]
pub struct EvidenceMethod {
    /// `manifest-analysis` (pom.properties) or `hash-comparison`.
    pub technique: &'static str,
    /// Always 1.
    pub confidence: u32,
    /// What was read or compared.
    pub value: String,
}

/// A `name`/`value` property.
#[derive(Clone, Debug, Serialize)]
pub struct Property {
    /// `hoist:…`.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A `dependencies` entry.
#[derive(Clone, Debug, Serialize)]
pub struct Dependency {
    /// The component.
    #[serde(rename = "ref")]
    pub reference: String,
    /// What it depends on, sorted.
    #[serde(rename = "dependsOn")]
    pub depends_on: Vec<String>,
}

/// The property that says how a jar's coordinates were found:
/// `pom.properties`, `local-repository` or `unknown`.
pub const COORDINATES_PROPERTY: &str = "hoist:coordinates";
/// The property holding a jar's path in the app.
pub const PATH_PROPERTY: &str = "hoist:path";

const APP_REF: &str = "app";
const BASE_REF: &str = "base";
const JDK_REF: &str = "jdk";

fn property(name: &str, value: impl Into<String>) -> Property {
    Property {
        name: name.into(),
        value: value.into(),
    }
}

fn hashes(sha256: &str, sha1: Option<&str>) -> Vec<Hash> {
    let mut hashes = vec![Hash {
        alg: "SHA-256",
        content: sha256.to_string(),
    }];
    if let Some(sha1) = sha1 {
        hashes.push(Hash {
            alg: "SHA-1",
            content: sha1.to_string(),
        });
    }
    hashes
}

fn license_choice(license: &License) -> LicenseChoice {
    let license = match license {
        License::Spdx { id, url } => LicenseObject {
            id: Some(id.clone()),
            name: None,
            url: url.clone(),
        },
        License::Named { name, url } => LicenseObject {
            id: None,
            name: Some(name.clone()),
            url: url.clone(),
        },
    };
    LicenseChoice { license }
}

/// The library component of a classpath jar (its `bom-ref` set later).
fn library(jar: &LibraryJar) -> Component {
    let mut licenses = jar.licenses.clone();
    licenses.sort();
    licenses.dedup();
    let (coordinates, how, evidence) = match &jar.identity {
        Identity::PomProperties { coordinates, entry } => (
            Some(coordinates),
            "pom.properties",
            Some(("manifest-analysis", entry.clone())),
        ),
        Identity::Repository { coordinates, file } => (
            Some(coordinates),
            "local-repository",
            Some(("hash-comparison", format!("SHA-1 equals {file}"))),
        ),
        Identity::Unknown => (None, "unknown", None),
    };
    let purl = coordinates.map(|c| c.purl());
    Component {
        kind: "library",
        bom_ref: None,
        group: coordinates.map(|c| c.group.clone()),
        name: coordinates
            .map(|c| c.artifact.clone())
            .unwrap_or_else(|| jar.file_name.clone()),
        version: coordinates.map(|c| c.version.clone()),
        description: None,
        scope: Some("required"),
        hashes: hashes(&jar.sha256, Some(&jar.sha1)),
        licenses: licenses.iter().map(license_choice).collect(),
        evidence: evidence
            .zip(purl.clone())
            .map(|((technique, value), purl)| Evidence {
                identity: vec![IdentityEvidence {
                    field: "purl",
                    confidence: 1,
                    concluded_value: purl,
                    methods: vec![EvidenceMethod {
                        technique,
                        confidence: 1,
                        value,
                    }],
                }],
            }),
        purl,
        properties: vec![
            property(COORDINATES_PROPERTY, how),
            property(PATH_PROPERTY, jar.path.clone()),
        ],
    }
}

/// `pkg:oci/<name>@<digest>?arch=…&repository_url=…` (purl-spec's oci type:
/// the last path segment, lower-cased, as the name; qualifiers sorted).
fn oci_purl(base: &BaseImage) -> String {
    let name = base
        .repository
        .rsplit('/')
        .next()
        .unwrap_or(&base.repository)
        .to_ascii_lowercase();
    let mut purl = format!("pkg:oci/{name}@{}", base.digest);
    let mut qualifiers = Vec::new();
    if let Some(arch) = &base.architecture {
        qualifiers.push(format!("arch={arch}"));
    }
    qualifiers.push(format!("repository_url={}", base.repository));
    purl.push('?');
    purl.push_str(&qualifiers.join("&"));
    purl
}

fn base_component(base: &BaseImage) -> Component {
    Component {
        kind: "container",
        bom_ref: Some(BASE_REF.into()),
        name: base
            .repository
            .rsplit('/')
            .next()
            .unwrap_or(&base.repository)
            .to_string(),
        version: Some(base.digest.clone()),
        description: Some("the base image".into()),
        purl: Some(oci_purl(base)),
        properties: vec![property("hoist:repository", base.repository.clone())],
        ..Component::default()
    }
}

fn jdk_component(jdk: &Jdk) -> Component {
    let get = |key: &str| jdk.release.get(key).cloned();
    let mut properties = vec![property("hoist:java-home", jdk.java_home.clone())];
    for (key, value) in &jdk.release {
        properties.push(property(&format!("hoist:release:{key}"), value.clone()));
    }
    properties.sort_by(|a, b| a.name.cmp(&b.name));
    Component {
        kind: "platform",
        bom_ref: Some(JDK_REF.into()),
        name: get("IMPLEMENTOR").unwrap_or_else(|| "Java runtime".into()),
        version: get("JAVA_RUNTIME_VERSION").or_else(|| get("JAVA_VERSION")),
        description: Some("the Java runtime in the base image (its release file)".into()),
        properties,
        ..Component::default()
    }
}

/// Builds the document.
pub fn build(inputs: &SbomInputs) -> Bom {
    let app = &inputs.app;
    let app_component = Component {
        kind: "application",
        bom_ref: Some(APP_REF.into()),
        group: app.group.clone(),
        name: app.name.clone(),
        version: app.version.clone(),
        hashes: hashes(&app.sha256, None),
        purl: app.purl.clone(),
        ..Component::default()
    };
    let mut libraries: Vec<(String, Component)> = inputs
        .libraries
        .iter()
        .map(|jar| (jar.path.clone(), library(jar)))
        .collect();
    // bom-ref: the purl; `file:<path>` without one; the purl and `#<path>`
    // when two jars have the same coordinates.
    libraries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut used = BTreeSet::new();
    let mut components = Vec::with_capacity(libraries.len() + 2);
    for (path, mut component) in libraries {
        let wanted = match &component.purl {
            Some(purl) if !used.contains(purl) => purl.clone(),
            Some(purl) => format!("{purl}#{path}"),
            None => format!("file:{path}"),
        };
        used.insert(wanted.clone());
        component.bom_ref = Some(wanted);
        components.push(component);
    }
    let mut app_depends: Vec<String> = components
        .iter()
        .filter_map(|c| c.bom_ref.clone())
        .collect();
    let mut dependencies = Vec::new();
    if let Some(base) = &inputs.base_image {
        components.push(base_component(base));
        app_depends.push(BASE_REF.into());
        if inputs.jdk.is_some() {
            dependencies.push(Dependency {
                reference: BASE_REF.into(),
                depends_on: vec![JDK_REF.into()],
            });
        }
    }
    if let Some(jdk) = &inputs.jdk {
        components.push(jdk_component(jdk));
    }
    components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));
    app_depends.sort();
    dependencies.push(Dependency {
        reference: APP_REF.into(),
        depends_on: app_depends,
    });
    dependencies.sort_by(|a, b| a.reference.cmp(&b.reference));
    Bom {
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: crate::sbom::uuid::serial_number(&inputs.subject),
        version: 1,
        metadata: Metadata {
            timestamp: inputs.timestamp.clone(),
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: "hoist".into(),
                    version: Some(inputs.tool_version.clone()),
                    ..Component::default()
                }],
            },
            component: app_component,
        },
        components,
        dependencies,
    }
}

impl Bom {
    /// The JSON bytes: pretty-printed, one trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a Bom always serialises");
        bytes.push(b'\n');
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::identity::Coordinates;

    fn coordinates(g: &str, a: &str, v: &str) -> Coordinates {
        Coordinates {
            group: g.into(),
            artifact: a.into(),
            version: v.into(),
        }
    }

    fn jar(path: &str, identity: Identity) -> LibraryJar {
        LibraryJar {
            path: path.into(),
            file_name: path.rsplit('/').next().unwrap().into(),
            sha256: "b".repeat(64),
            sha1: "c".repeat(40),
            identity,
            licenses: vec![License::Spdx {
                id: "Apache-2.0".into(),
                url: None,
            }],
        }
    }

    fn inputs() -> SbomInputs {
        SbomInputs {
            subject: "sha256:9394e9171bce5a5d4edef10261fbf9250753360b3e5b33ffd2c8c32a32ae5725"
                .into(),
            timestamp: "1970-01-01T00:00:00Z".into(),
            tool_version: "0.1.0".into(),
            app: AppComponent {
                group: Some("dev.hoist.fixture".into()),
                name: "boot35".into(),
                version: Some("1.0.0".into()),
                purl: Some("pkg:maven/dev.hoist.fixture/boot35@1.0.0".into()),
                sha256: "a".repeat(64),
            },
            libraries: vec![
                jar("BOOT-INF/lib/mystery.jar", Identity::Unknown),
                jar(
                    "BOOT-INF/lib/spring-core-6.2.19.jar",
                    Identity::Repository {
                        coordinates: coordinates("org.springframework", "spring-core", "6.2.19"),
                        file: "/m2/org/springframework/spring-core/6.2.19/spring-core-6.2.19.jar"
                            .into(),
                    },
                ),
                jar(
                    "BOOT-INF/lib/jackson-core-2.21.4.jar",
                    Identity::PomProperties {
                        coordinates: coordinates(
                            "com.fasterxml.jackson.core",
                            "jackson-core",
                            "2.21.4",
                        ),
                        entry:
                            "META-INF/maven/com.fasterxml.jackson.core/jackson-core/pom.properties"
                                .into(),
                    },
                ),
            ],
            base_image: None,
            jdk: None,
        }
    }

    #[test]
    fn same_inputs_same_bytes_whatever_the_order() {
        let first = build(&inputs()).to_json();
        let mut shuffled = inputs();
        shuffled.libraries.reverse();
        assert_eq!(first, build(&shuffled).to_json());
        assert_eq!(first, build(&inputs()).to_json());
        let text = String::from_utf8(first).unwrap();
        assert!(text.starts_with("{\n  \"bomFormat\": \"CycloneDX\",\n  \"specVersion\": \"1.6\",\n  \"serialNumber\": \"urn:uuid:79623de4-dfb1-543b-9a1c-07f4c3100616\""), "{text}");
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn components_sorted_by_ref_with_evidence() {
        let bom = build(&inputs());
        let refs: Vec<&str> = bom
            .components
            .iter()
            .map(|c| c.bom_ref.as_deref().unwrap())
            .collect();
        assert_eq!(
            refs,
            [
                "file:BOOT-INF/lib/mystery.jar",
                "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.21.4",
                "pkg:maven/org.springframework/spring-core@6.2.19",
            ]
        );
        let unknown = &bom.components[0];
        assert_eq!(unknown.name, "mystery.jar");
        assert_eq!(unknown.purl, None);
        assert_eq!(unknown.group, None);
        assert_eq!(unknown.property(COORDINATES_PROPERTY), Some("unknown"));
        assert_eq!(unknown.hashes.len(), 2);
        assert!(unknown.evidence.is_none());
        let spring = serde_json::to_value(&bom.components[2]).unwrap();
        assert_eq!(
            spring["evidence"]["identity"][0]["methods"][0]["technique"],
            "hash-comparison"
        );
        assert_eq!(
            spring["properties"][0],
            serde_json::json!({"name": "hoist:coordinates", "value": "local-repository"})
        );
        let jackson = serde_json::to_value(&bom.components[1]).unwrap();
        assert_eq!(
            jackson["evidence"]["identity"][0]["methods"][0]["technique"],
            "manifest-analysis"
        );
        assert_eq!(jackson["licenses"][0]["license"]["id"], "Apache-2.0");
        assert_eq!(bom.dependencies.len(), 1);
        assert_eq!(bom.dependencies[0].reference, "app");
        assert_eq!(bom.dependencies[0].depends_on, refs);
        assert_eq!(bom.metadata.component.bom_ref.as_deref(), Some("app"));
    }

    #[test]
    fn two_jars_with_the_same_coordinates_keep_unique_refs() {
        let mut twice = inputs();
        let mut copy = twice.libraries[1].clone();
        copy.path = "BOOT-INF/lib/spring-core-copy.jar".into();
        twice.libraries.push(copy);
        let bom = build(&twice);
        let refs: BTreeSet<&str> = bom
            .components
            .iter()
            .map(|c| c.bom_ref.as_deref().unwrap())
            .collect();
        assert_eq!(refs.len(), 4);
        assert!(refs.contains(
            "pkg:maven/org.springframework/spring-core@6.2.19#BOOT-INF/lib/spring-core-copy.jar"
        ));
    }

    #[test]
    fn base_image_and_jdk() {
        let mut with_base = inputs();
        with_base.base_image = Some(BaseImage {
            repository: "docker.io/library/eclipse-temurin".into(),
            digest: format!("sha256:{}", "f".repeat(64)),
            architecture: Some("amd64".into()),
        });
        with_base.jdk = Some(Jdk::from_release(
            "/opt/java/openjdk",
            "IMPLEMENTOR=\"Eclipse Adoptium\"\nIMPLEMENTOR_VERSION=\"Temurin-25.0.3+9\"\nJAVA_RUNTIME_VERSION=\"25.0.3+9-LTS\"\nJAVA_VERSION=\"25.0.3\"\n",
        ));
        let bom = build(&with_base);
        let base = bom
            .components
            .iter()
            .find(|c| c.bom_ref.as_deref() == Some("base"))
            .unwrap();
        assert_eq!(base.kind, "container");
        assert_eq!(base.name, "eclipse-temurin");
        assert_eq!(
            base.purl.as_deref(),
            Some(format!("pkg:oci/eclipse-temurin@sha256:{}?arch=amd64&repository_url=docker.io/library/eclipse-temurin", "f".repeat(64)).as_str())
        );
        let jdk = bom
            .components
            .iter()
            .find(|c| c.bom_ref.as_deref() == Some("jdk"))
            .unwrap();
        assert_eq!(jdk.kind, "platform");
        assert_eq!(jdk.name, "Eclipse Adoptium");
        assert_eq!(jdk.version.as_deref(), Some("25.0.3+9-LTS"));
        assert_eq!(
            jdk.property("hoist:release:IMPLEMENTOR_VERSION"),
            Some("Temurin-25.0.3+9")
        );
        let deps: Vec<(&str, &[String])> = bom
            .dependencies
            .iter()
            .map(|d| (d.reference.as_str(), d.depends_on.as_slice()))
            .collect();
        assert_eq!(deps[0].0, "app");
        assert!(deps[0].1.contains(&"base".to_string()));
        assert_eq!(deps[1], ("base", &["jdk".to_string()][..]));
        // Deterministic too.
        assert_eq!(build(&with_base).to_json(), bom.to_json());
    }
}
