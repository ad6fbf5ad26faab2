//! Robustness: a push through a fault-injecting proxy (errors, throttling,
//! dropped connections) still completes with every digest right; a registry
//! that lies about a digest or sends corrupt bytes is caught.

use crate::support::cli::hoist;
use crate::support::fault_proxy::{Action, Fault, FaultProxy};
use crate::support::fixtures::{big_boot_variant, synthetic_boot, uber};
use crate::support::oci::copied_by_skopeo;
use crate::support::registry::{Auth, TestRegistry};

#[test]
fn push_survives_errors_throttling_and_dropped_connections() {
    let registry = TestRegistry::start(Auth::None);
    let proxy = FaultProxy::start(
        &registry.host,
        vec![
            // One fault per request: each matches its own method (pushes run
            // in parallel, so a global request count would be a race).
            Fault::on(
                "HEAD",
                "/blobs/",
                3,
                Action::Respond {
                    status: 500,
                    retry_after: None,
                },
            ),
            Fault::on(
                "POST",
                "/blobs/uploads/",
                2,
                Action::Respond {
                    status: 429,
                    retry_after: Some(1),
                },
            ),
            Fault::on(
                "PATCH",
                "/blobs/uploads/",
                1,
                Action::DropAfterRequestBytes(100_000),
            ),
            Fault::on(
                "PATCH",
                "/blobs/uploads/",
                3,
                Action::Respond {
                    status: 502,
                    retry_after: None,
                },
            ),
            Fault::on(
                "PUT",
                "/manifests/",
                1,
                Action::Respond {
                    status: 503,
                    retry_after: Some(1),
                },
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let jar = big_boot_variant(dir.path(), 12_000_000, 0);
    let target = format!("{}/faulty/app:1", proxy.host);
    let digest = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &target])
        .success();
    assert_eq!(proxy.injected(), 5, "{:#?}", proxy.log());
    // Read back from the registry itself, not through the proxy.
    let back = copied_by_skopeo(
        &format!("docker://{}/faulty/app:1", registry.host),
        dir.path(),
    );
    assert_eq!(back.digest, digest.trim());
}

#[test]
fn a_registry_that_lies_about_the_manifest_digest_is_an_error() {
    let registry = TestRegistry::start(Auth::None);
    let fake = format!("sha256:{}", "0".repeat(64));
    let proxy = FaultProxy::start(
        &registry.host,
        vec![Fault::on(
            "PUT",
            "/manifests/",
            1,
            Action::RewriteResponseHeader {
                name: "Docker-Content-Digest".into(),
                value: fake.clone(),
            },
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let stderr = hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &format!("{}/liar/app:1", proxy.host)])
        .failure(1);
    // Blob lines come first (progress); the error is one line, the last.
    let last = stderr.trim_end().lines().last().unwrap();
    assert!(last.starts_with("hoist: error: "), "{stderr}");
    assert_eq!(stderr.matches("hoist: error").count(), 1, "{stderr}");
    assert!(
        stderr.contains(&fake) && stderr.contains("hoist computed"),
        "{stderr}"
    );
}

#[test]
fn corrupt_base_bytes_are_caught_before_anything_is_pushed() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let base_jar = synthetic_boot(&dir.path().join("base"));
    hoist()
        .args(["build", "--from", "scratch", "--jar"])
        .args([&base_jar])
        .args(["--to", &registry.image("base/jdk:17")])
        .success();
    let proxy = FaultProxy::start(
        &registry.host,
        vec![Fault::on(
            "GET",
            "/blobs/sha256:",
            2,
            Action::CorruptResponseBody,
        )],
    );
    let jar = uber(&dir.path().join("app"));
    let out = dir.path().join("out");
    let stderr = hoist()
        .args([
            "build",
            "--from",
            &format!("{}/base/jdk:17", proxy.host),
            "--jar",
        ])
        .args([&jar])
        .args(["--to", &format!("oci:{}:app", out.display())])
        .env("HOIST_CACHE_DIR", dir.path().join("fresh-cache"))
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("the bytes have digest"), "{stderr}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn an_endless_manifest_is_refused_not_buffered() {
    let registry = TestRegistry::start(Auth::None);
    let huge = format!(
        "{{\"schemaVersion\":2,\"pad\":\"{}\"}}",
        "x".repeat(5 << 20)
    );
    let proxy = FaultProxy::start(
        &registry.host,
        vec![Fault::on(
            "GET",
            "/manifests/",
            1,
            Action::RespondJson {
                status: 200,
                body: huge,
            },
        )],
    );
    let dir = tempfile::tempdir().unwrap();
    let jar = uber(dir.path());
    let stderr = hoist()
        .args([
            "build",
            "--from",
            &format!("{}/base/jdk:17", proxy.host),
            "--jar",
        ])
        .args([&jar])
        .args(["--to", &format!("oci:{}", dir.path().join("out").display())])
        .failure(1);
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("larger than 4194304 bytes"), "{stderr}");
    assert_eq!(proxy.injected(), 1);
}

#[test]
fn a_layer_stream_that_fails_is_sent_again_from_its_file() {
    // The first part of the first stream is refused (400 is not retried):
    // that stream stops; the push after the build sends the layer whole.
    let refused = Action::Respond {
        status: 400,
        retry_after: None,
    };
    let (registry, stderr, report) = stream_through(refused, 5, "streamfail/app", &[]);
    assert!(
        stderr.contains("the push sends that layer from its file"),
        "{stderr}"
    );
    let layers = report["layers"].as_array().unwrap().len() as u64;
    assert_eq!(report["push"]["streamed"], layers - 1, "{report}");
    // The refused stream's session was cancelled, not left to expire.
    assert_eq!(
        cancelled_sessions(&registry, "streamfail/app"),
        1,
        "{}",
        registry.log()
    );
}

/// A push of a 12 MB app (`variant`) to `repo` with `extra` flags, through a
/// proxy that does `action` to the first streamed PATCH (and only to it); the
/// image is read back from the registry itself, not through the proxy. The
/// registry, hoist's stderr and report.
fn stream_through(
    action: Action,
    variant: u32,
    repo: &str,
    extra: &[&str],
) -> (TestRegistry, String, serde_json::Value) {
    let registry = TestRegistry::start(Auth::None);
    let proxy = FaultProxy::start(
        &registry.host,
        vec![Fault::on("PATCH", "/blobs/uploads/", 1, action)],
    );
    let dir = tempfile::tempdir().unwrap();
    let jar = big_boot_variant(dir.path(), 12_000_000, variant);
    let (shown, output) = hoist()
        .env("HOIST_CACHE_DIR", dir.path().join("cache"))
        .args(["build", "--from", "scratch", "--jar"])
        .args([&jar])
        .args(["--to", &format!("{}/{repo}:1", proxy.host), "--json"])
        .args(extra)
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{shown}: {stderr}");
    assert_eq!(proxy.injected(), 1, "{:#?}", proxy.log());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let back = copied_by_skopeo(&format!("docker://{}/{repo}:1", registry.host), dir.path());
    assert_eq!(back.digest, report["digest"].as_str().unwrap());
    (registry, stderr, report)
}

/// [`stream_through`] a proxy that reads the first streamed PATCH at
/// `bytes_per_second`, with `--read-timeout 1`.
fn paced_stream(
    bytes_per_second: u64,
    variant: u32,
    repo: &str,
) -> (TestRegistry, String, serde_json::Value) {
    let extra = ["--compression", "stored", "--read-timeout", "1"];
    stream_through(
        Action::SlowRequestBody(bytes_per_second),
        variant,
        repo,
        &extra,
    )
}

#[test]
fn a_stream_slower_than_the_read_timeout_but_moving_is_not_cut_off() {
    // 4 MB/s: 12 MB take 3 s, three times --read-timeout, but bytes keep
    // moving the whole time.
    let (_registry, stderr, report) = paced_stream(4_000_000, 8, "slow/app");
    assert!(!stderr.contains("warning"), "{stderr}");
    let layers = report["layers"].as_array().unwrap().len() as u64;
    assert_eq!(report["push"]["streamed"], layers, "{report}");
}

#[test]
fn a_stream_the_registry_stops_taking_gives_up_after_the_read_timeout() {
    // 1 kB/s: once the socket buffers are full the stream stands still; after
    // --read-timeout (1 s) hoist gives it up and sends the file instead.
    let (registry, stderr, report) = paced_stream(1_000, 9, "stalled/app");
    assert!(
        stderr.contains("took nothing for 1 s")
            && stderr.contains("sends that layer from its file"),
        "{stderr}"
    );
    let layers = report["layers"].as_array().unwrap().len() as u64;
    assert_eq!(report["push"]["streamed"], layers - 1, "{report}");
    assert_eq!(
        cancelled_sessions(&registry, "stalled/app"),
        1,
        "{}",
        registry.log()
    );
}

/// Upload sessions of `repo` that the registry cancelled (`DELETE` answered 204).
fn cancelled_sessions(registry: &TestRegistry, repo: &str) -> usize {
    let path = format!("/v2/{repo}/blobs/uploads/");
    registry
        .log()
        .lines()
        .filter(|l| l.contains("\"DELETE ") && l.contains(&path) && l.contains("\" 204 "))
        .count()
}
