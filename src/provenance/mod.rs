//! The SLSA v1 provenance of an image hoist built: an in-toto Statement v1
//! whose subject is the image's digest and whose predicate says how hoist
//! made it — from which jar, base, `hoist.toml` environment and commit, with
//! which settings, by which builder (a GitHub Actions workflow, else hoist
//! itself), and when.
//!
//! Pure: [`build`] takes plain inputs, the CI variables included (as a map:
//! [`github_environment`] reads them from the process at the edge), and
//! the same inputs give the same bytes. Attaching the statement to the
//! image as an OCI referrer is the image and registry code's job; signing
//! it would be one more referrer. Files, network and clocks stay outside.

mod github;
pub mod statement;

pub use github::{github_environment, GITHUB_VARIABLES};
pub use statement::{
    BuildDefinition, BuildMetadata, Builder, ExternalParameters, InternalParameters, Provenance,
    ResourceDescriptor, RunDetails, Statement,
};

use crate::image::Digest;
use std::collections::BTreeMap;

/// hoist's own URI: the repository the releases come from (Cargo.toml's
/// binstall `pkg-url` names the same owner). The builder id outside CI.
pub const HOIST_URI: &str = "https://github.com/hoist-dev/hoist";
/// `buildDefinition.buildType`: what the external and internal parameters
/// below mean, version 1. It resolves to the page that defines them, in
/// this repository (a test checks the page exists and names every field).
pub const BUILD_TYPE: &str = "https://github.com/hoist-dev/hoist/blob/main/docs/build-type-v1.md";
/// The Statement's `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of SLSA provenance v1 ("always use this string").
pub const PREDICATE_TYPE: &str = "https://slsa.dev/provenance/v1";

/// An image the statement is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// Registry and repository, e.g. `123456789012.dkr.ecr.eu-west-1.amazonaws.com/app`.
    pub name: String,
    /// The image manifest's digest.
    pub digest: Digest,
}

/// The commit the app was built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitSource {
    /// The remote as git reports it (`https://…` or `git@host:path`);
    /// credentials in it are dropped.
    pub remote: String,
    /// The ref checked out (`refs/heads/main`), when known.
    pub reference: Option<String>,
    /// The full commit hash.
    pub commit: String,
}

/// Everything the provenance says, as plain values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvenanceInputs {
    /// The images described (usually one: the platform manifest).
    pub subjects: Vec<Subject>,
    /// The `hoist.toml` environment shipped, if any.
    pub environment: Option<String>,
    /// SHA-256 of `hoist.toml`, when one was read.
    pub config_digest: Option<Digest>,
    /// The jar, as given (path as the user or the config wrote it).
    pub jar: String,
    /// The jar's SHA-256.
    pub jar_digest: Digest,
    /// The base image, as named (`eclipse-temurin:21-jre`).
    pub from: String,
    /// The digest the base resolved to, when it has one.
    pub base_digest: Option<Digest>,
    /// The platforms built (`linux/amd64`).
    pub platforms: Vec<String>,
    /// hoist's version (`env!("CARGO_PKG_VERSION")`).
    pub hoist_version: String,
    /// The layer compression (`gzip:6`, `zstd:3`).
    pub compression: String,
    /// How the jar was laid out (`exploded`, `extracted`, `packaged`).
    pub mode: String,
    /// The start-up archive (`none`, `cds`, `aot-cache`, `auto`).
    pub startup: String,
    /// The commit, when the app's directory is a git checkout.
    pub git: Option<GitSource>,
    /// The CI variables ([`GITHUB_VARIABLES`]; empty outside CI).
    pub env: BTreeMap<String, String>,
    /// The run's id outside GitHub Actions (GitHub's run URL wins there).
    pub invocation_id: String,
    /// When the run that first built the image started (RFC 3339, UTC:
    /// `2024-05-01T12:00:00Z`).
    pub started_on: String,
    /// When it finished (RFC 3339, UTC).
    pub finished_on: String,
}

/// The statement for `inputs`.
pub fn build(inputs: &ProvenanceInputs) -> Statement {
    let sha256 =
        |digest: &Digest| BTreeMap::from([("sha256".to_string(), digest.hex().to_string())]);
    let subject = inputs
        .subjects
        .iter()
        .map(|s| ResourceDescriptor {
            uri: None,
            name: Some(s.name.clone()),
            digest: sha256(&s.digest),
        })
        .collect();
    let mut resolved_dependencies = vec![ResourceDescriptor {
        uri: None,
        name: Some(inputs.jar.clone()),
        digest: sha256(&inputs.jar_digest),
    }];
    if let Some(base_digest) = &inputs.base_digest {
        resolved_dependencies.push(ResourceDescriptor {
            uri: None,
            name: Some(inputs.from.clone()),
            digest: sha256(base_digest),
        });
    }
    if let Some(git) = &inputs.git {
        let remote = github::without_credentials(&git.remote);
        let uri = match &git.reference {
            Some(reference) => format!("git+{remote}@{reference}"),
            None => format!("git+{remote}"),
        };
        resolved_dependencies.push(ResourceDescriptor {
            uri: Some(uri),
            name: None,
            digest: BTreeMap::from([("gitCommit".to_string(), git.commit.clone())]),
        });
    }
    let builder_id = github::builder_id(&inputs.env).unwrap_or_else(|| HOIST_URI.to_string());
    let invocation_id =
        github::invocation_id(&inputs.env).unwrap_or_else(|| inputs.invocation_id.clone());
    Statement {
        statement_type: STATEMENT_TYPE.to_string(),
        subject,
        predicate_type: PREDICATE_TYPE.to_string(),
        predicate: Provenance {
            build_definition: BuildDefinition {
                build_type: BUILD_TYPE.to_string(),
                external_parameters: ExternalParameters {
                    environment: inputs.environment.clone(),
                    config_digest: inputs.config_digest.as_ref().map(sha256),
                    jar: inputs.jar.clone(),
                    from: inputs.from.clone(),
                    platforms: inputs.platforms.clone(),
                },
                internal_parameters: InternalParameters {
                    hoist_version: inputs.hoist_version.clone(),
                    compression: inputs.compression.clone(),
                    mode: inputs.mode.clone(),
                    startup: inputs.startup.clone(),
                },
                resolved_dependencies,
            },
            run_details: RunDetails {
                builder: Builder {
                    id: builder_id,
                    version: BTreeMap::from([("hoist".to_string(), inputs.hoist_version.clone())]),
                },
                metadata: BuildMetadata {
                    invocation_id,
                    started_on: inputs.started_on.clone(),
                    finished_on: inputs.finished_on.clone(),
                },
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn digest(byte: char) -> Digest {
        Digest::parse(&format!("sha256:{}", byte.to_string().repeat(64))).unwrap()
    }

    fn inputs(env: &[(&str, &str)]) -> ProvenanceInputs {
        ProvenanceInputs {
            subjects: vec![Subject {
                name: "127.0.0.1:5000/demo/app".into(),
                digest: digest('9'),
            }],
            environment: Some("dev".into()),
            config_digest: Some(digest('a')),
            jar: "build/libs/demo-1.0.0.jar".into(),
            jar_digest: digest('b'),
            from: "eclipse-temurin:21-jre".into(),
            base_digest: Some(digest('c')),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            hoist_version: "0.1.0".into(),
            compression: "gzip:6".into(),
            mode: "exploded".into(),
            startup: "none".into(),
            git: Some(GitSource {
                remote: "https://github.com/example/demo".into(),
                reference: Some("refs/heads/main".into()),
                commit: "d".repeat(40),
            }),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            invocation_id: "local-run-1".into(),
            started_on: "2024-05-01T12:00:00Z".into(),
            finished_on: "2024-05-01T12:00:09Z".into(),
        }
    }

    const GITHUB: &[(&str, &str)] = &[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        (
            "GITHUB_WORKFLOW_REF",
            "example/demo/.github/workflows/deploy-dev.yml@refs/heads/main",
        ),
        ("GITHUB_REPOSITORY", "example/demo"),
        ("GITHUB_RUN_ID", "123"),
        ("GITHUB_RUN_ATTEMPT", "2"),
    ];

    fn json_of(inputs: &ProvenanceInputs) -> Value {
        serde_json::from_slice(&build(inputs).to_json()).unwrap()
    }

    #[test]
    fn the_statement_names_the_image_and_the_predicate() {
        let doc = json_of(&inputs(&[]));
        assert_eq!(doc["_type"], "https://in-toto.io/Statement/v1");
        assert_eq!(doc["predicateType"], "https://slsa.dev/provenance/v1");
        assert_eq!(
            doc["subject"],
            json!([{"name": "127.0.0.1:5000/demo/app", "digest": {"sha256": "9".repeat(64)}}])
        );
        let keys: Vec<&String> = doc.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 4);
    }

    #[test]
    fn the_build_definition_holds_the_parameters_and_dependencies() {
        let doc = json_of(&inputs(&[]));
        let definition = &doc["predicate"]["buildDefinition"];
        assert_eq!(definition["buildType"], BUILD_TYPE);
        assert_eq!(
            definition["externalParameters"],
            json!({
                "environment": "dev",
                "configDigest": {"sha256": "a".repeat(64)},
                "jar": "build/libs/demo-1.0.0.jar",
                "from": "eclipse-temurin:21-jre",
                "platforms": ["linux/amd64", "linux/arm64"],
            })
        );
        assert_eq!(
            definition["internalParameters"],
            json!({
                "hoistVersion": "0.1.0",
                "compression": "gzip:6",
                "mode": "exploded",
                "startup": "none",
            })
        );
        assert_eq!(
            definition["resolvedDependencies"],
            json!([
                {"name": "build/libs/demo-1.0.0.jar", "digest": {"sha256": "b".repeat(64)}},
                {"name": "eclipse-temurin:21-jre", "digest": {"sha256": "c".repeat(64)}},
                {
                    "uri": "git+https://github.com/example/demo@refs/heads/main",
                    "digest": {"gitCommit": "d".repeat(40)},
                },
            ])
        );
    }

    #[test]
    fn what_is_not_known_is_left_out() {
        let mut bare = inputs(&[]);
        bare.environment = None;
        bare.config_digest = None;
        bare.base_digest = None;
        bare.git = None;
        let doc = json_of(&bare);
        let definition = &doc["predicate"]["buildDefinition"];
        let external = definition["externalParameters"].as_object().unwrap();
        assert!(!external.contains_key("environment"));
        assert!(!external.contains_key("configDigest"));
        assert_eq!(
            definition["resolvedDependencies"].as_array().unwrap().len(),
            1,
            "the jar only"
        );
    }

    #[test]
    fn in_github_actions_the_builder_is_the_workflow_and_the_run_is_the_invocation() {
        let doc = json_of(&inputs(GITHUB));
        let run = &doc["predicate"]["runDetails"];
        assert_eq!(
            run["builder"]["id"],
            "https://github.com/example/demo/.github/workflows/deploy-dev.yml@refs/heads/main"
        );
        assert_eq!(run["builder"]["version"], json!({"hoist": "0.1.0"}));
        assert_eq!(
            run["metadata"],
            json!({
                "invocationId": "https://github.com/example/demo/actions/runs/123/attempts/2",
                "startedOn": "2024-05-01T12:00:00Z",
                "finishedOn": "2024-05-01T12:00:09Z",
            })
        );
    }

    #[test]
    fn on_github_enterprise_the_server_url_is_its_own() {
        let mut env = GITHUB.to_vec();
        env.retain(|(k, _)| *k != "GITHUB_SERVER_URL");
        env.push(("GITHUB_SERVER_URL", "https://git.example.com/"));
        let doc = json_of(&inputs(&env));
        let run = &doc["predicate"]["runDetails"];
        assert_eq!(
            run["builder"]["id"],
            "https://git.example.com/example/demo/.github/workflows/deploy-dev.yml@refs/heads/main"
        );
        assert_eq!(
            run["metadata"]["invocationId"],
            "https://git.example.com/example/demo/actions/runs/123/attempts/2"
        );
    }

    #[test]
    fn outside_github_actions_the_builder_is_hoist_and_the_invocation_the_callers() {
        for env in [
            &[][..],
            // The variables without GITHUB_ACTIONS=true are not a GitHub run.
            &GITHUB[1..],
            &[("GITHUB_ACTIONS", "false"), GITHUB[2], GITHUB[4]][..],
        ] {
            let doc = json_of(&inputs(env));
            let run = &doc["predicate"]["runDetails"];
            assert_eq!(run["builder"]["id"], "https://github.com/hoist-dev/hoist");
            assert_eq!(run["builder"]["version"], json!({"hoist": "0.1.0"}));
            assert_eq!(run["metadata"]["invocationId"], "local-run-1");
            assert_eq!(run["metadata"]["startedOn"], "2024-05-01T12:00:00Z");
            assert_eq!(run["metadata"]["finishedOn"], "2024-05-01T12:00:09Z");
        }
    }

    #[test]
    fn a_github_run_missing_its_variables_falls_back_piece_by_piece() {
        let doc = json_of(&inputs(&[("GITHUB_ACTIONS", "true")]));
        let run = &doc["predicate"]["runDetails"];
        assert_eq!(run["builder"]["id"], HOIST_URI);
        assert_eq!(run["metadata"]["invocationId"], "local-run-1");
        // Without an attempt number, the run itself.
        let doc = json_of(&inputs(&[GITHUB[0], GITHUB[3], GITHUB[4]]));
        assert_eq!(
            doc["predicate"]["runDetails"]["metadata"]["invocationId"],
            "https://github.com/example/demo/actions/runs/123"
        );
    }

    #[test]
    fn the_same_inputs_give_the_same_bytes() {
        for env in [&[][..], GITHUB] {
            let a = build(&inputs(env)).to_json();
            let b = build(&inputs(env)).to_json();
            assert_eq!(a, b);
            assert!(a.ends_with(b"}\n"));
        }
        // The order the CI variables were read in does not matter.
        let mut reversed = GITHUB.to_vec();
        reversed.reverse();
        assert_eq!(
            build(&inputs(&reversed)).to_json(),
            build(&inputs(GITHUB)).to_json()
        );
    }

    #[test]
    fn the_git_remote_loses_its_credentials() {
        let mut with_token = inputs(&[]);
        with_token.git.as_mut().unwrap().remote =
            "https://x-access-token:ghs_secret@github.com/example/demo.git".into();
        with_token.git.as_mut().unwrap().reference = None;
        let bytes = build(&with_token).to_json();
        assert!(!String::from_utf8_lossy(&bytes).contains("ghs_secret"));
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            doc["predicate"]["buildDefinition"]["resolvedDependencies"][2]["uri"],
            "git+https://github.com/example/demo.git"
        );
    }

    #[test]
    fn hoists_uri_is_the_release_repository() {
        let cargo_toml = include_str!("../../Cargo.toml");
        let pkg_url = cargo_toml
            .lines()
            .find_map(|l| l.strip_prefix("pkg-url = \""))
            .expect("Cargo.toml has a binstall pkg-url");
        assert!(
            pkg_url.starts_with(&format!("{HOIST_URI}/releases/")),
            "{pkg_url} is not under {HOIST_URI}: change HOIST_URI and BUILD_TYPE with the owner"
        );
        assert!(BUILD_TYPE.starts_with(HOIST_URI));
    }

    #[test]
    fn the_build_type_is_a_page_here_naming_every_parameter() {
        let path = BUILD_TYPE
            .strip_prefix(&format!("{HOIST_URI}/blob/main/"))
            .expect("BUILD_TYPE points into this repository");
        let page =
            std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
                .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(page.contains(BUILD_TYPE), "{path} names its own URI");
        let doc = json_of(&inputs(&[]));
        let definition = &doc["predicate"]["buildDefinition"];
        for group in ["externalParameters", "internalParameters"] {
            for key in definition[group].as_object().unwrap().keys() {
                assert!(
                    page.contains(&format!("`{key}`")),
                    "{path} does not define {group}.{key}"
                );
            }
        }
    }
}
