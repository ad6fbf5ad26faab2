//! The in-toto Statement v1 and SLSA provenance v1 documents as serde
//! structs: fields in the order they are written, maps sorted, so the same
//! values always give the same bytes.

use serde::Serialize;
use std::collections::BTreeMap;

/// An in-toto Statement v1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// Always `https://in-toto.io/Statement/v1`.
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The images it is about.
    pub subject: Vec<ResourceDescriptor>,
    /// Always `https://slsa.dev/provenance/v1`.
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The provenance.
    pub predicate: Provenance,
}

impl Statement {
    /// The JSON bytes: pretty-printed, one trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a Statement always serialises");
        bytes.push(b'\n');
        bytes
    }
}

/// An in-toto ResourceDescriptor: a thing by name or URI, and its digests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResourceDescriptor {
    /// Where it is (`git+https://…@refs/heads/main`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// What it is called (a registry repository, a jar path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Algorithm → lowercase hex (`sha256`, `gitCommit`).
    pub digest: BTreeMap<String, String>,
}

/// The SLSA provenance v1 predicate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// What was built, from what.
    pub build_definition: BuildDefinition,
    /// Who built it, and when.
    pub run_details: RunDetails,
}

/// The inputs of the build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildDefinition {
    /// hoist's build type URI.
    pub build_type: String,
    /// What the user chose.
    pub external_parameters: ExternalParameters,
    /// What hoist chose or was configured with.
    pub internal_parameters: InternalParameters,
    /// The artifacts the build read: the jar, the base, the commit.
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// The parameters a user set (hoist's build type, v1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExternalParameters {
    /// The `hoist.toml` environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// `hoist.toml`'s digest (`{"sha256": hex}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<BTreeMap<String, String>>,
    /// The jar, as given.
    pub jar: String,
    /// The base, as named.
    pub from: String,
    /// The platforms built.
    pub platforms: Vec<String>,
}

/// The parameters of hoist itself (hoist's build type, v1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InternalParameters {
    /// hoist's version.
    pub hoist_version: String,
    /// The layer compression.
    pub compression: String,
    /// The jar's layout mode.
    pub mode: String,
    /// The start-up archive.
    pub startup: String,
}

/// The run that built the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunDetails {
    /// Who ran the build.
    pub builder: Builder,
    /// The run's id and times.
    pub metadata: BuildMetadata,
}

/// The build platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Builder {
    /// The GitHub workflow ref, else hoist's URI.
    pub id: String,
    /// Component → version (`{"hoist": "0.1.0"}`): SLSA makes this a map.
    pub version: BTreeMap<String, String>,
}

/// The run's id and times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildMetadata {
    /// The GitHub run attempt's URL, else the caller's id.
    pub invocation_id: String,
    /// RFC 3339.
    pub started_on: String,
    /// RFC 3339.
    pub finished_on: String,
}
