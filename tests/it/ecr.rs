//! Amazon ECR as it really answers, through the ECR stand-in
//! (`tests/support/registry_standin.py`, in front of a real docker-registry,
//! its tokens and repositories from the AWS emulator): every layer size,
//! every push path (streamed while built, chunked from the cache, copied,
//! mounted), bases pulled through its S3 redirect, token renewal, throttling,
//! immutable tags, a missing repository; and the Docker Hub and ECR Public
//! models of the registries bases come from. Independent clients (skopeo,
//! crane) read back what hoist pushed.

use crate::support::artifacts::CRANE;
use crate::support::cli::{hoist, run_tool, Hoist};
use crate::support::ecs_emulator::EcsEmulator;
use crate::support::fixtures::{big_boot, synthetic_boot, uber};
use crate::support::registry::{Auth, TestRegistry};
use crate::support::registry_standin::{ecr_password, RegistryStandIn, ECR_HOST};
use serde_json::{json, Value};
use std::path::Path;

const SKOPEO: &str = "apt-get install skopeo";
const MIB: usize = 1 << 20;

/// The emulator, the ECR stand-in, and an empty docker config (so that no
/// `docker login` of the machine's is read).
struct Ecr {
    aws: EcsEmulator,
    standin: RegistryStandIn,
    dir: tempfile::TempDir,
}

impl Ecr {
    fn start() -> Self {
        let aws = EcsEmulator::start();
        let standin = RegistryStandIn::ecr(&aws);
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("docker")).unwrap();
        Self { aws, standin, dir }
    }

    /// Creates ECR repositories in the emulator (`mutability`: MUTABLE or
    /// IMMUTABLE).
    fn create(&self, repos: &[&str], mutability: &str) {
        let calls: Vec<String> = repos
            .iter()
            .map(|r| format!("client.create_repository(repositoryName='{r}', imageTagMutability='{mutability}')"))
            .collect();
        self.aws.boto3("ecr", &calls.join("\n"));
    }

    /// `hoist ARGS` reaching ECR through the stand-in, the AWS API the emulator.
    fn hoist(&self, args: &[&str]) -> Hoist {
        self.aws
            .aws(hoist().args(args))
            .args(self.standin.ecr_flags())
            .env("DOCKER_CONFIG", self.dir.path().join("docker"))
    }

    /// `hoist build --from FROM --jar JAR --to ECR_HOST/IMAGE --json` and its report.
    fn build(&self, from: &str, jar: &Path, image: &str, extra: &[&str]) -> Value {
        let to = format!("{ECR_HOST}/{image}");
        self.hoist(&["build", "--json", "--from", from, "--to", &to])
            .args(["--jar".as_ref(), jar.as_os_str()])
            .args(extra)
            .report()
    }

    /// skopeo's view of `image` in ECR (through the stand-in, with a token).
    fn skopeo_inspect(&self, image: &str) -> Value {
        let creds = format!("AWS:{}", ecr_password(&self.aws));
        serde_json::from_str(&run_tool(
            "skopeo",
            &[
                "inspect",
                "--tls-verify=false",
                "--creds",
                &creds,
                &format!("docker://{}/{image}", self.standin.host),
            ],
            SKOPEO,
        ))
        .unwrap()
    }

    /// skopeo copies `image` out of ECR into a layout, checking every blob
    /// against its digest; the manifest digest it got.
    fn skopeo_pull(&self, image: &str) -> String {
        let creds = format!("AWS:{}", ecr_password(&self.aws));
        let layout = self
            .dir
            .path()
            .join(format!("pulled-{}", image.replace([':', '/'], "-")));
        run_tool(
            "skopeo",
            &[
                "copy",
                "--quiet",
                "--src-tls-verify=false",
                "--src-creds",
                &creds,
                &format!("docker://{}/{image}", self.standin.host),
                &format!("oci:{}:back", layout.display()),
            ],
            SKOPEO,
        );
        let index: Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        index["manifests"][0]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

/// The layer digests of a build report.
fn layer_digests(report: &Value) -> Vec<String> {
    report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_140_mb_layer_and_a_9_mib_incompressible_one_push_cold_and_from_the_cache() {
    let ecr = Ecr::start();
    ecr.create(
        &["big-cold", "big-warm", "nine-cold", "nine-warm"],
        "MUTABLE",
    );
    let plain = TestRegistry::start(Auth::None);
    let jars = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    for (name, dep_bytes) in [("big", 140_000_000), ("nine", 9 * MIB as u64)] {
        let jar = big_boot(&jars.path().join(name), dep_bytes);
        let cache_flag = ["--cache-dir", cache.path().to_str().unwrap()];
        // Cold: the layers stream to ECR while they are written (one PATCH
        // each, answered 201).
        let cold = ecr.build("scratch", &jar, &format!("{name}-cold:1"), &cache_flag);
        assert!(cold["push"]["streamed"].as_u64().unwrap() >= 1, "{cold}");
        let largest = cold["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["size"].as_u64().unwrap())
            .max()
            .unwrap();
        assert!(largest > dep_bytes * 9 / 10, "{cold}");
        // Warm: every layer comes from the cache and goes up in 8 MiB parts.
        let warm = ecr.build("scratch", &jar, &format!("{name}-warm:1"), &cache_flag);
        assert_eq!(warm["push"]["streamed"], 0, "{warm}");
        assert_eq!(warm["digest"], cold["digest"]);
        // The same image in plain docker-registry has the same digest.
        let elsewhere = hoist()
            .args(["build", "--json", "--from", "scratch", "--jar"])
            .args([&jar])
            .args(["--to", &plain.image(&format!("{name}:1"))])
            .report();
        assert_eq!(elsewhere["digest"], cold["digest"]);
        // skopeo reads both back from ECR, blob by blob.
        for repo in ["cold", "warm"] {
            let image = format!("{name}-{repo}:1");
            let inspect = ecr.skopeo_inspect(&image);
            assert_eq!(inspect["Digest"], cold["digest"]);
            let layers: Vec<String> = inspect["Layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .collect();
            assert_eq!(layers, layer_digests(&cold));
        }
        assert_eq!(
            ecr.skopeo_pull(&format!("{name}-warm:1")),
            cold["digest"].as_str().unwrap()
        );
    }
    // ECR's answers: every PATCH got 201 (none 202), and the parts were
    // accepted in order (no 416, no 400 at the close).
    let log = ecr.standin.log();
    let patches: Vec<&Value> = log.iter().filter(|e| e["method"] == "PATCH").collect();
    assert!(patches.len() >= 2 + 17, "{}", ecr.standin.log_text());
    assert!(
        patches.iter().all(|e| e["status"] == 201),
        "{}",
        ecr.standin.log_text()
    );
    assert!(
        !log.iter().any(|e| e["status"] == 416 || e["status"] == 400),
        "{}",
        ecr.standin.log_text()
    );
    // The first pushes asked for the tag list (text/plain on ECR).
    assert!(ecr.standin.count("GET", "/tags/list", Some(200)) >= 1);
}

/// An OCI layout at `dir` with one image, tag `1`, whose layers are
/// pseudo-random bytes of exactly these sizes (a registry stores any bytes
/// as a blob).
fn layout_with_blobs(dir: &Path, sizes: &[usize]) {
    use sha2::{Digest as _, Sha256};
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| -> (String, usize) {
        let hex = hex::encode(Sha256::digest(bytes));
        std::fs::write(blobs.join(&hex), bytes).unwrap();
        (format!("sha256:{hex}"), bytes.len())
    };
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut layers = Vec::new();
    for &size in sizes {
        let mut bytes = Vec::with_capacity(size);
        while bytes.len() < size {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.extend_from_slice(&state.to_le_bytes());
        }
        bytes.truncate(size);
        let (digest, size) = put(&bytes);
        layers.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size}));
    }
    let diff_ids: Vec<&Value> = layers.iter().map(|l| &l["digest"]).collect();
    let config = json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}});
    let (config_digest, config_size) = put(config.to_string().as_bytes());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": layers,
    });
    let (manifest_digest, manifest_size) = put(manifest.to_string().as_bytes());
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest_size, "annotations": {"org.opencontainers.image.ref.name": "1"}}]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

#[test]
fn layers_of_one_part_one_part_plus_a_byte_and_three_parts_copy_into_ecr() {
    let ecr = Ecr::start();
    ecr.create(&["parts"], "MUTABLE");
    let dir = tempfile::tempdir().unwrap();
    let part = 8 * MIB;
    // Exactly one part goes whole in the closing PUT; one byte more is two
    // PATCHes; 2 parts + 1 MiB is three, the third sent after ECR's Range
    // has stopped advancing: taken from the Range, its offset would be wrong
    // and the stand-in would answer 416.
    layout_with_blobs(dir.path(), &[part, part + 1, 2 * part + MIB]);
    let source = format!("oci:{}:1", dir.path().display());
    let report = ecr
        .hoist(&["copy", "--json", &source, &format!("{ECR_HOST}/parts:1")])
        .report();
    let digest = report["digest"].as_str().unwrap().to_string();
    let inspect = ecr.skopeo_inspect("parts:1");
    assert_eq!(inspect["Digest"], digest.as_str());
    let patches = ecr.standin.count("PATCH", "/parts/blobs/uploads/", None);
    assert_eq!(patches, 2 + 3, "{}", ecr.standin.log_text());
    assert_eq!(
        ecr.standin
            .count("PATCH", "/parts/blobs/uploads/", Some(201)),
        patches
    );
    // crane, another client, agrees on the digest, and reads every blob
    // back (through the S3 redirect) with the bytes it was sent as.
    let login = docker_config_with(&ecr, &ecr_password(&ecr.aws));
    let crane = |args: &[&str]| -> Vec<u8> {
        let output = std::process::Command::new("crane")
            .args(args)
            .arg("--insecure")
            .env("DOCKER_CONFIG", &login)
            .output()
            .unwrap_or_else(|e| panic!("cannot run crane ({e}); install it: {CRANE}"));
        assert!(output.status.success(), "crane {args:?}: {output:?}");
        output.stdout
    };
    let image = format!("{}/parts:1", ecr.standin.host);
    assert_eq!(
        String::from_utf8_lossy(&crane(&["digest", &image])).trim(),
        digest
    );
    for layer in inspect["Layers"].as_array().unwrap() {
        let layer = layer.as_str().unwrap();
        let bytes = crane(&["blob", &format!("{}/parts@{layer}", ecr.standin.host)]);
        use sha2::{Digest as _, Sha256};
        assert_eq!(
            format!("sha256:{}", hex::encode(Sha256::digest(&bytes))),
            layer
        );
    }
}

/// A docker config directory that logs in to the stand-in (as `AWS` with
/// `password`).
fn docker_config_with(ecr: &Ecr, password: &str) -> std::path::PathBuf {
    use base64::Engine;
    let dir = ecr.dir.path().join("docker-login");
    std::fs::create_dir_all(&dir).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    let config =
        json!({"auths": {ECR_HOST: {"auth": auth}, (ecr.standin.host.as_str()): {"auth": auth}}});
    std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
    dir
}

#[test]
fn a_base_in_ecr_is_pulled_through_the_s3_redirect_without_credentials() {
    let ecr = Ecr::start();
    ecr.create(&["base", "app"], "MUTABLE");
    let dir = tempfile::tempdir().unwrap();
    // The base: a 9 MiB image of hoist's own, pushed to ECR.
    let base_jar = big_boot(&dir.path().join("base"), 9 * MIB as u64);
    let base = ecr.build("scratch", &base_jar, "base:1", &["--no-cache"]);
    let app_jar = synthetic_boot(&dir.path().join("app"));
    let from = format!("{ECR_HOST}/base:1");
    let app = ecr.build(&from, &app_jar, "app:1", &["--no-cache"]);
    assert_eq!(app["baseDigest"], base["digest"], "{app}");
    let log = ecr.standin.log();
    // Blob GETs on ECR are answered 307 to S3; S3 was asked without an
    // Authorization header (it answers 400 to one that has it).
    let redirected = log
        .iter()
        .filter(|e| e["listener"] == "registry" && e["method"] == "GET" && e["status"] == 307)
        .count();
    assert!(redirected >= 1, "{}", ecr.standin.log_text());
    let storage: Vec<&Value> = log.iter().filter(|e| e["listener"] == "storage").collect();
    assert_eq!(storage.len(), redirected, "{}", ecr.standin.log_text());
    assert!(
        storage
            .iter()
            .all(|e| e["status"] == 200 && e["authorization"] == false),
        "{}",
        ecr.standin.log_text()
    );
    // The app's layers went to its own repository: on ECR a mount is a plain
    // upload session unless the account enabled BLOB_MOUNTING.
    assert_eq!(ecr.skopeo_pull("app:1"), app["digest"].as_str().unwrap());
}

#[test]
fn mounts_fall_back_to_uploads_unless_ecr_links_the_blob() {
    let ecr = Ecr::start();
    ecr.create(&["src", "plain", "refused", "linked"], "MUTABLE");
    let dir = tempfile::tempdir().unwrap();
    let jar = big_boot(&dir.path().join("app"), 9 * MIB as u64);
    let built = ecr.build("scratch", &jar, "src:1", &["--no-cache"]);
    let digest = built["digest"].as_str().unwrap();
    let copy = |to: &str| {
        ecr.hoist(&[
            "copy",
            "--json",
            &format!("{ECR_HOST}/src:1"),
            &format!("{ECR_HOST}/{to}:1"),
        ])
        .report()
    };
    // BLOB_MOUNTING off (ECR's default): 202 and a plain session, used.
    let plain = copy("plain");
    assert_eq!(plain["digest"], digest);
    assert!(
        ecr.standin
            .count("POST", "/plain/blobs/uploads/?mount=", Some(202))
            >= 1
    );
    // Refused outright: uploaded all the same.
    ecr.standin.set(json!({"mount_refusal": 405}));
    let refused = copy("refused");
    assert_eq!(refused["digest"], digest);
    assert!(
        ecr.standin
            .count("POST", "/refused/blobs/uploads/?mount=", Some(405))
            >= 1
    );
    // BLOB_MOUNTING on, and src's manifest references the blobs: linked.
    ecr.standin
        .set(json!({"mount_refusal": null, "blob_mounting": true}));
    let linked = copy("linked");
    assert_eq!(linked["digest"], digest);
    assert!(linked["push"]["mounted"].as_u64().unwrap() >= 1, "{linked}");
    for repo in ["plain", "refused", "linked"] {
        assert_eq!(ecr.skopeo_pull(&format!("{repo}:1")), digest);
    }
}

#[test]
fn an_expired_token_is_renewed_once_and_the_push_goes_on() {
    let ecr = Ecr::start();
    ecr.create(&["renewed"], "MUTABLE");
    let dir = tempfile::tempdir().unwrap();
    let jar = big_boot(&dir.path().join("app"), 9 * MIB as u64);
    // The 12 hours of the run's token pass after its third request.
    ecr.standin.set(json!({"expire_tokens_after": 3}));
    let (shown, output) = ecr
        .hoist(&["build", "--json", "--no-cache", "--from", "scratch"])
        .args(["--to".to_string(), format!("{ECR_HOST}/renewed:1")])
        .args(["--jar".as_ref(), jar.as_os_str()])
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{shown}: {stderr}\n{}",
        ecr.standin.log_text()
    );
    let notes: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("authorization token expired"))
        .collect();
    assert_eq!(notes.len(), 1, "{stderr}");
    assert!(notes[0].starts_with("note:") && notes[0].contains("GetAuthorizationToken"));
    let denied = ecr
        .standin
        .log()
        .iter()
        .filter(|e| e["status"] == 403)
        .count();
    assert!(denied >= 1, "{}", ecr.standin.log_text());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        ecr.skopeo_pull("renewed:1"),
        report["digest"].as_str().unwrap()
    );
}

#[test]
fn a_stale_docker_login_is_not_used_when_get_authorization_token_answers() {
    use base64::Engine;
    let ecr = Ecr::start();
    ecr.create(&["plog-back"], "MUTABLE");
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    // `docker login` from yesterday: an ECR token past its 12 hours.
    let yesterday = base64::engine::general_purpose::STANDARD.encode(
        json!({"payload": "x", "datakey": "y", "version": "2", "type": "DATA_KEY", "expiration": 1_700_000_000, "accountId": "123456789012"}).to_string(),
    );
    let stale = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{yesterday}"));
    std::fs::write(
        ecr.dir.path().join("docker/config.json"),
        json!({"auths": {ECR_HOST: {"auth": stale}}}).to_string(),
    )
    .unwrap();
    let report = ecr.build("scratch", &jar, "plog-back:1", &[]);
    assert!(report["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(
        ecr.standin
            .log()
            .iter()
            .filter(|e| e["status"] == 403)
            .count(),
        0
    );
}

#[test]
fn a_missing_repository_fails_in_one_line_naming_it_and_create_repository_makes_it() {
    let ecr = Ecr::start();
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let to = format!("{ECR_HOST}/nowhere:1");
    let stderr = ecr
        .hoist(&["build", "--from", "scratch", "--to", &to])
        .args(["--jar".as_ref(), jar.as_os_str()])
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("NAME_UNKNOWN")
            && stderr.contains("nowhere")
            && stderr.contains("--create-repository"),
        "{stderr}"
    );
    let report = ecr.build("scratch", &jar, "nowhere:1", &["--create-repository"]);
    assert_eq!(
        ecr.skopeo_pull("nowhere:1"),
        report["digest"].as_str().unwrap()
    );
}

#[test]
fn immutable_tags_are_named_in_one_line_whichever_wording_ecr_uses() {
    let ecr = Ecr::start();
    ecr.create(&["imm-app"], "IMMUTABLE");
    let dir = tempfile::tempdir().unwrap();
    let first = uber(&dir.path().join("one"));
    let second = synthetic_boot(&dir.path().join("two"));
    // DescribeRepositories says IMMUTABLE: `dev` is looked up, never PUT again.
    let one = ecr.build("scratch", &first, "imm-app:one", &["--tag", "dev"]);
    assert_eq!(one["tags"], json!(["one", "dev"]));
    let two = ecr.build("scratch", &second, "imm-app:two", &["--tag", "dev"]);
    assert_eq!(two["tags"], json!(["two"]));
    assert_eq!(two["skippedTags"], json!(["dev"]));
    assert_eq!(ecr.standin.count("PUT", "/manifests/dev", None), 1);
    // Without ECR's API (the docker login is all hoist has), the registry's
    // TAG_INVALID is the signal, in the old wording and in the new.
    let denied = crate::support::denying::denying_endpoint(
        "ecr",
        crate::support::denying::Protocol::Json,
        50,
    );
    let login = docker_config_with(&ecr, &ecr_password(&ecr.aws));
    // Another image than `one`, which `dev` names.
    let third = synthetic_boot(&dir.path().join("three"));
    for (wording, tag) in [("repository", "three"), ("tag", "four")] {
        ecr.standin.set(json!({"immutable_wording": wording}));
        // The same image under its own tag again: ECR refuses even that
        // (TAG_INVALID for the same digest), and hoist sees it is in place.
        let same = ecr
            .hoist(&[
                "build",
                "--json",
                "--from",
                "scratch",
                "--to",
                &format!("{ECR_HOST}/imm-app:one"),
            ])
            .args(["--jar".as_ref(), first.as_os_str()])
            .env("AWS_ENDPOINT_URL_ECR", &denied)
            .env("DOCKER_CONFIG", &login)
            .report();
        assert_eq!(same["digest"], one["digest"]);
        assert_eq!(same["tags"], json!(["one"]));
        let stderr = ecr
            .hoist(&[
                "build",
                "-q",
                "--from",
                "scratch",
                "--immutable-tags",
                "fail",
                "--tag",
                "dev",
            ])
            .args(["--to", &format!("{ECR_HOST}/imm-app:{tag}")])
            .args(["--jar".as_ref(), third.as_os_str()])
            .env("AWS_ENDPOINT_URL_ECR", &denied)
            .env("DOCKER_CONFIG", &login)
            .failure(1);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("imm-app:dev is immutable") && stderr.contains("TAG_INVALID"),
            "{wording}: {stderr}"
        );
    }
}

/// `hoist build --json --no-cache --from FROM --jar JAR --to TO` with the
/// docker config `docker_config` (none of the machine's), and its report.
fn build_elsewhere(from: &str, jar: &Path, to: &str, docker_config: &Path) -> Value {
    hoist()
        .args(["build", "--json", "--no-cache", "--from", from, "--to", to])
        .args(["--jar".as_ref(), jar.as_os_str()])
        .env("DOCKER_CONFIG", docker_config)
        .report()
}

#[test]
fn docker_hub_bases_come_through_its_token_service_and_cdn_and_its_pull_limit_has_a_hint() {
    let hub = RegistryStandIn::docker_hub();
    let dir = tempfile::tempdir().unwrap();
    // The base is put straight into the registry behind the stand-in.
    let base = build_elsewhere(
        "scratch",
        &big_boot(&dir.path().join("base"), 2 * MIB as u64),
        &hub.backend.image("library/base:1"),
        dir.path(),
    );
    let app_jar = synthetic_boot(&dir.path().join("app"));
    let from = format!("{}/library/base:1", hub.host);
    let out = TestRegistry::start(Auth::None);
    let app = build_elsewhere(&from, &app_jar, &out.image("app:1"), dir.path());
    assert_eq!(app["baseDigest"], base["digest"]);
    assert!(
        hub.count("GET", "/blobs/", Some(307)) >= 1,
        "{}",
        hub.log_text()
    );
    assert!(
        hub.log()
            .iter()
            .any(|e| e["listener"] == "storage" && e["status"] == 200),
        "{}",
        hub.log_text()
    );
    // Over the pull limit: one line, and the way out.
    hub.set(json!({"pull_rate_limit": 0}));
    let stderr = hoist()
        .args(["build", "--no-cache", "--from", &from, "--jar"])
        .args([&app_jar])
        .args(["--to", &out.image("app:2")])
        .env("DOCKER_CONFIG", dir.path())
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("TOOMANYREQUESTS")
            && stderr.contains("hoist copy")
            && stderr.contains("pull-through cache"),
        "{stderr}"
    );
}

#[test]
fn ecr_public_bases_come_with_an_anonymous_token() {
    let public = RegistryStandIn::ecr_public();
    let dir = tempfile::tempdir().unwrap();
    let base = build_elsewhere(
        "scratch",
        &uber(&dir.path().join("base")),
        &public.backend.image("docker/library/base:1"),
        dir.path(),
    );
    let out = TestRegistry::start(Auth::None);
    let app = build_elsewhere(
        &format!("{}/docker/library/base:1", public.host),
        &synthetic_boot(&dir.path().join("app")),
        &out.image("app:1"),
        dir.path(),
    );
    assert_eq!(app["baseDigest"], base["digest"]);
    assert!(
        public.count("GET", "/token/", Some(200)) >= 1,
        "{}",
        public.log_text()
    );
}

#[test]
fn bad_aws_credentials_fail_in_one_line_without_leaking_them() {
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let port = crate::support::registry::free_port();
    let stderr = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &format!("{ECR_HOST}/plog-back:1")])
        .env("DOCKER_CONFIG", dir.path())
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEY")
        .env("AWS_SECRET_ACCESS_KEY", "very-secret-value")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("GetAuthorizationToken"), "{stderr}");
    assert!(!stderr.contains("very-secret-value"), "{stderr}");
}

#[test]
fn ship_a_two_service_release_throttled_and_promote_into_an_immutable_repository() {
    let ecr = Ecr::start();
    let seeded = ecr.aws.seed();
    ecr.aws.create_service(
        &seeded,
        "plog-worker",
        "{'deploymentCircuitBreaker': {'enable': True, 'rollback': True}, 'maximumPercent': 200, 'minimumHealthyPercent': 100}",
    );
    ecr.create(&["plog-back"], "MUTABLE");
    ecr.create(&["plog-back-prod"], "IMMUTABLE");
    let project = ecr.dir.path().join("project");
    crate::support::fixtures::boot3_layered(&project.join("build/libs"));
    let toml = format!(
        r#"[image]
from = "scratch"
to = "{ECR_HOST}/plog-back"

[env.dev]
cluster = "plog-cluster"
tags = ["dev-{{git_sha}}", "dev", "latest"]
environment = {{ SPRING_PROFILES_ACTIVE = "dev" }}

[[env.dev.targets]]
service = "plog-api"
container = "plog-back"

[[env.dev.targets]]
service = "plog-worker"
container = "plog-back"

[env.prod]
cluster = "plog-prod"
service = "plog-api-prod"
container = "plog-back"
to = "{ECR_HOST}/plog-back-prod"
tags = ["prod-{{git_sha}}", "prod"]
environment = {{ SPRING_PROFILES_ACTIVE = "prod" }}
{registry}"#,
        registry = ecr.standin.ecr_toml()
    );
    std::fs::write(project.join("hoist.toml"), toml).unwrap();
    for args in [
        &["init", "-q"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "commit",
            "-qm",
            "app",
        ],
    ] {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(&project)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let run = |args: &[&str]| {
        ecr.aws
            .aws(hoist().args(args).current_dir(&project))
            .env("DOCKER_CONFIG", ecr.dir.path().join("docker"))
    };
    // ECR allows 10 PutImage calls a second; one a second here, so that the
    // three tags of dev are throttled for sure.
    ecr.standin.set(json!({"put_image_per_second": 1}));
    let (shown, output) = run(&["ship", "dev", "--poll-interval", "20ms", "--json"]).output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{shown}: {stderr}\n{}",
        ecr.standin.log_text()
    );
    // (Not a bare "429": timestamps and task ids hold those digits.)
    assert!(
        !stderr.contains("Too Many Requests")
            && !stderr.contains("TOOMANYREQUESTS")
            && !stderr.contains("Rate exceeded"),
        "{stderr}"
    );
    let throttled = ecr.standin.count("PUT", "/manifests/", Some(429));
    assert!(throttled >= 1, "{}", ecr.standin.log_text());
    let shipped: Value = serde_json::from_slice(&output.stdout).unwrap();
    let digest = shipped["build"]["digest"].as_str().unwrap().to_string();
    for service in ["plog-api", "plog-worker"] {
        let td = ecr.aws.service_task_definition("plog-cluster", service);
        assert!(
            ecr.aws
                .boto3("ecs", &format!("print(client.describe_task_definition(taskDefinition='{td}')['taskDefinition']['containerDefinitions'][0]['image'])"))
                .trim()
                .ends_with(&digest),
            "{service}"
        );
    }
    // A signature on what dev runs (through the referrers API): promote
    // carries it to prod's repository, digest kept.
    let password = ecr_password(&ecr.aws);
    let subject = run_tool(
        "crane",
        &[
            "manifest",
            "--insecure",
            &ecr.standin.backend.image(&format!("plog-back@{digest}")),
        ],
        CRANE,
    );
    let signature = crate::support::artifacts::artifact(
        "application/vnd.example.signature",
        b"signed",
        subject.as_bytes(),
        crate::support::artifacts::OCI_MANIFEST,
        false,
    );
    assert_eq!(signature.subject.as_str(), digest);
    let options = hoist::registry::ClientOptions {
        insecure_registries: vec![ECR_HOST.into()],
        resolve: vec![(ECR_HOST.into(), ecr.standin.host.parse().unwrap())],
        ..Default::default()
    };
    let referrers = |repo: &'static str| {
        let (options, password, subject) =
            (options.clone(), password.clone(), signature.subject.clone());
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(async move {
                let client = hoist::registry::referrers::ReferrersClient::connect(
                    ECR_HOST,
                    &options,
                    Some(("AWS", &password)),
                )
                .await
                .unwrap();
                let mut listed: Vec<(String, String)> = client
                    .list(repo, &subject, None)
                    .await
                    .unwrap()
                    .iter()
                    .map(|d| {
                        let kind = d.extra["artifactType"].as_str().unwrap_or("").to_string();
                        (kind, d.digest.to_string())
                    })
                    .collect();
                listed.sort();
                listed
            })
    };
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let client = hoist::registry::referrers::ReferrersClient::connect(
            ECR_HOST,
            &options,
            Some(("AWS", &password)),
        )
        .await
        .unwrap();
        client.push("plog-back", &signature).await.unwrap();
    });
    // In dev: hoist's SBOM and provenance (ship attached them) and the
    // signature, exactly.
    let in_dev = referrers("plog-back");
    assert_eq!(
        in_dev
            .iter()
            .map(|(kind, _)| kind.as_str())
            .collect::<Vec<_>>(),
        [
            "application/vnd.cyclonedx+json",
            "application/vnd.example.signature",
            "application/vnd.in-toto+json"
        ],
        "{in_dev:?}"
    );
    // Promote into the immutable repository, twice: the second finds its
    // tags naming the same image (ECR refuses the PUT even so), and the
    // signature there.
    ecr.standin.set(json!({"put_image_per_second": 10}));
    for round in 0..2 {
        let report = run(&[
            "promote",
            "dev",
            "prod",
            "--yes",
            "--poll-interval",
            "20ms",
            "--json",
        ])
        .report();
        assert_eq!(
            report["image"],
            format!("{ECR_HOST}/plog-back-prod@{digest}").as_str(),
            "{report}"
        );
        assert_eq!(report["deploy"]["outcome"], "stable", "{report}");
        assert_eq!(report["referrers"]["refused"], 0, "{report}");
        let carried = if round == 0 { "copied" } else { "present" };
        assert_eq!(report["referrers"][carried], 3, "{report}");
    }
    assert_eq!(ecr.skopeo_pull("plog-back-prod:prod"), digest);
    // prod's repository lists the same three referrers, digests kept.
    assert_eq!(referrers("plog-back-prod"), in_dev);
}
