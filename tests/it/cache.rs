//! The reliability of local state, as a user's CI meets it: a cached blob
//! corrupted on disk is caught and rebuilt (outputs read back by skopeo), a
//! corrupt base layout is a clear error, SIGINT/SIGTERM leave no temporary
//! files and the previous output whole, a full disk is one line and nothing
//! partial, stale temporary files are swept, and `hoist cache prune` keeps
//! its limits beside running builds.

use crate::support::cli::{hoist, run_tool, Hoist};
use crate::support::fixtures::big_boot_variant;
use crate::support::oci::{sha256, LayoutImage};
use crate::support::registry::{Auth, TestRegistry};
use serde_json::Value;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

const SKOPEO: &str = "apt-get install skopeo";

/// Name prefixes of every temporary file or directory hoist makes.
const TEMP_PREFIXES: [&str; 4] = [".layer-", ".hoist-", ".blob-", ".download-"];

/// `hoist build --from FROM --jar JAR --to TO` with its own layer cache.
fn build(cache: &Path, jar: &Path, from: &str, to: &str) -> Hoist {
    hoist()
        .args(["build", "--from", from, "--jar"])
        .args([jar])
        .args(["--to", to])
        .env("HOIST_CACHE_DIR", cache)
}

fn oci(dir: &Path, tag: &str) -> String {
    format!("oci:{}:{tag}", dir.display())
}

/// Runs, asserts success, returns (stdout, stderr).
#[track_caller]
fn run_ok(command: Hoist) -> (String, String) {
    let (shown, output) = command.output();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{shown} failed:\n{stderr}");
    (String::from_utf8(output.stdout).unwrap(), stderr)
}

/// The lines of `stderr` that are hoist's warnings.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("hoist: warning:"))
        .collect()
}

/// The biggest blob of a cache (the dependency layer of the jars here).
fn biggest_blob(cache: &Path) -> PathBuf {
    std::fs::read_dir(cache.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("the cache holds blobs")
}

/// Flips one byte in the middle of `path`, in place: same size, other bytes.
fn corrupt(path: &Path) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut file = File::options().read(true).write(true).open(path).unwrap();
    let middle = file.metadata().unwrap().len() / 2;
    let mut byte = [0u8];
    file.seek(SeekFrom::Start(middle)).unwrap();
    file.read_exact(&mut byte).unwrap();
    file.seek(SeekFrom::Start(middle)).unwrap();
    file.write_all(&[byte[0] ^ 0x5a]).unwrap();
}

/// True when the file at `path` hashes to the digest it is named by.
fn matches_its_name(path: &Path) -> bool {
    let hex = path.file_name().unwrap().to_string_lossy().into_owned();
    sha256(&std::fs::read(path).unwrap()) == format!("sha256:{hex}")
}

/// Every temporary file or directory hoist makes, anywhere under `dir`.
fn temp_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy();
            TEMP_PREFIXES.iter().any(|p| name.starts_with(p))
        })
        .map(|e| e.into_path())
        .collect()
}

/// Every layer record of `cache` (if it was made at all) names a blob that
/// is there and matches its digest.
#[track_caller]
fn assert_cache_consistent(cache: &Path) {
    let Ok(records) = std::fs::read_dir(cache.join("layers")) else {
        return; // interrupted before the cache was made: nothing to disagree
    };
    for entry in records {
        let record: Value = serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap())
            .expect("a cache record is JSON");
        let digest = record["digest"].as_str().unwrap();
        let blob = cache.join("blobs/sha256").join(&digest[7..]);
        assert!(
            blob.is_file() && matches_its_name(&blob),
            "the cache record for {digest} names a blob that is missing or does not match"
        );
    }
}

/// skopeo copies the image (checking every blob against its digest).
#[track_caller]
fn skopeo_copies(source: &str, scratch: &Path) {
    let target = tempfile::tempdir_in(scratch).unwrap();
    run_tool(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            source,
            &format!("dir:{}", target.path().join("image").display()),
        ],
        SKOPEO,
    );
}

fn digest_of(stdout: &str) -> String {
    stdout.trim().to_string()
}

#[test]
fn a_corrupt_cached_blob_is_rebuilt_with_one_warning_and_the_output_is_correct() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let jar = big_boot_variant(&dir.path().join("jar"), 3_000_000, 0);
    let first_out = dir.path().join("first");
    let (stdout, _) = run_ok(build(&cache, &jar, "scratch", &oci(&first_out, "app")));
    let digest = digest_of(&stdout);
    let blob = biggest_blob(&cache);
    corrupt(&blob);
    assert!(!matches_its_name(&blob));

    // The earlier output has its own copy: nothing done to the cache reaches it.
    skopeo_copies(&oci(&first_out, "app"), dir.path());

    // A new layout: the bad blob is caught, rebuilt, and the layout is right.
    let out = dir.path().join("out");
    let (stdout, stderr) = run_ok(build(&cache, &jar, "scratch", &oci(&out, "app")));
    assert_eq!(digest_of(&stdout), digest);
    let warned = warnings(&stderr);
    assert_eq!(warned.len(), 1, "{stderr}");
    assert!(
        warned[0].contains(&blob.file_name().unwrap().to_string_lossy().to_string()),
        "{stderr}"
    );
    assert!(matches_its_name(&blob), "the cache is repaired");
    skopeo_copies(&oci(&out, "app"), dir.path());
    assert_cache_consistent(&cache);

    // The same for a docker archive, which hashes cached layers as it reads them.
    corrupt(&blob);
    let archive = dir.path().join("app.tar");
    let to = format!("docker-archive:{}:demo/app:1", archive.display());
    let (_, stderr) = run_ok(build(&cache, &jar, "scratch", &to));
    assert_eq!(warnings(&stderr).len(), 1, "{stderr}");
    assert!(matches_its_name(&blob), "the cache is repaired");
    let inspect: Value = serde_json::from_str(&run_tool(
        "skopeo",
        &["inspect", &format!("docker-archive:{}", archive.display())],
        SKOPEO,
    ))
    .unwrap();
    assert_eq!(inspect["Layers"].as_array().unwrap().len(), 4);

    // Clean now: no warning, everything from the cache.
    let (_, stderr) = run_ok(build(
        &cache,
        &jar,
        "scratch",
        &oci(&dir.path().join("again"), "app"),
    ));
    assert!(warnings(&stderr).is_empty(), "{stderr}");
}

#[test]
fn a_push_of_a_corrupt_cached_blob_rebuilds_it_instead_of_failing() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let jar = big_boot_variant(&dir.path().join("jar"), 3_000_000, 0);
    let (stdout, _) = run_ok(build(
        &cache,
        &jar,
        "scratch",
        &oci(&dir.path().join("o"), "app"),
    ));
    let digest = digest_of(&stdout);
    let blob = biggest_blob(&cache);
    corrupt(&blob);
    let image = registry.image("demo/app:1");
    let (stdout, stderr) = run_ok(build(&cache, &jar, "scratch", &image));
    assert_eq!(digest_of(&stdout), digest);
    assert_eq!(warnings(&stderr).len(), 1, "{stderr}");
    assert!(matches_its_name(&blob), "the cache is repaired");
    skopeo_copies(&format!("docker://{image}"), dir.path());
}

#[test]
fn a_corrupt_blob_of_an_oci_base_is_a_clear_error_and_nothing_is_written() {
    let registry = TestRegistry::start(Auth::None);
    let dir = tempfile::tempdir().unwrap();
    let jar = big_boot_variant(&dir.path().join("jar"), 2_000_000, 0);
    // The base's layers differ from the app's (other dependencies).
    let base_jar = big_boot_variant(&dir.path().join("base-jar"), 2_500_000, 7);
    let base = dir.path().join("base");
    run_ok(build(
        &dir.path().join("base-cache"),
        &base_jar,
        "scratch",
        &oci(&base, "1"),
    ));
    let base_blob = LayoutImage::open(&base, "1").layer_digests()[0].clone();
    let base_blob_path = base.join("blobs/sha256").join(&base_blob[7..]);
    corrupt(&base_blob_path);

    let existing = dir.path().join("existing");
    run_ok(build(
        &dir.path().join("c0"),
        &jar,
        "scratch",
        &oci(&existing, "old"),
    ));
    let index_before = std::fs::read(existing.join("index.json")).unwrap();
    let blobs_before = std::fs::read_dir(existing.join("blobs/sha256"))
        .unwrap()
        .count();

    let from = oci(&base, "1");
    let archive = dir.path().join("app.tar");
    let targets = [
        oci(&dir.path().join("new"), "app"),
        oci(&existing, "app"),
        format!("docker-archive:{}", archive.display()),
        registry.image("demo/app:1"),
    ];
    for (i, to) in targets.iter().enumerate() {
        let stderr = build(&dir.path().join(format!("c{}", i + 1)), &jar, &from, to).failure(1);
        // A push reports its blobs as it goes (CI progress); the error is one line.
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("hoist:")).collect();
        assert_eq!(errors.len(), 1, "one line for {to}: {stderr}");
        assert_eq!(stderr.lines().last(), Some(errors[0]));
        assert!(
            errors[0].starts_with("hoist: error: base oci:")
                && errors[0].contains(&base_blob)
                && errors[0].contains("does not match its digest"),
            "{to}: {stderr}"
        );
    }
    assert!(!dir.path().join("new").exists());
    assert!(!archive.exists());
    assert_eq!(
        std::fs::read(existing.join("index.json")).unwrap(),
        index_before
    );
    assert_eq!(
        std::fs::read_dir(existing.join("blobs/sha256"))
            .unwrap()
            .count(),
        blobs_before,
        "no blob added to the existing layout"
    );
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
}

/// When to interrupt a build: once a temporary name appears in a directory.
struct Point {
    /// What the build is doing then.
    doing: &'static str,
    /// Where to look (relative to the test's directory).
    dir: &'static str,
    /// The name prefix to wait for.
    prefix: &'static str,
}

/// Waits (bounded) until `child` has made a temporary name `prefix*` in
/// `dir`; panics if it exits first.
#[track_caller]
fn wait_for_temp(child: &mut Child, dir: &Path, prefix: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let seen = std::fs::read_dir(dir).is_ok_and(|mut entries| {
            entries.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with(prefix)))
        });
        if seen {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "hoist exited ({status}) before {prefix}* appeared in {}",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("no {prefix}* in {} within 60 s", dir.display());
}

fn spawn(command: Hoist) -> Child {
    let (shown, mut command) = command.into_command();
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {shown}: {e}"))
}

fn send(child: &Child, signal: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_child(child);
    rustix::process::kill_process(pid, signal).unwrap();
}

#[test]
fn sigint_and_sigterm_leave_no_temporary_files_and_the_previous_output_whole() {
    use rustix::process::Signal;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // v0 makes the previous output; v1 (more dependencies, another class) is
    // the build that gets interrupted.
    let v0 = big_boot_variant(&root.join("v0"), 40_000_000, 0);
    let v1 = big_boot_variant(&root.join("v1"), 80_000_000, 1);
    let out = root.join("out");
    let archive = root.join("app.tar");
    let archive_to = format!("docker-archive:{}:demo/app:1", archive.display());
    let previous =
        digest_of(&run_ok(build(&root.join("c-v0"), &v0, "scratch", &oci(&out, "app"))).0);
    run_ok(build(&root.join("c-v0"), &v0, "scratch", &archive_to));
    let previous_archive = sha256(&std::fs::read(&archive).unwrap());
    // What an uninterrupted build of v1 gives.
    let reference = root.join("reference");
    let expected = digest_of(
        &run_ok(build(
            &root.join("c-ref"),
            &v1,
            "scratch",
            &oci(&reference, "app"),
        ))
        .0,
    );
    let reference_archive = root.join("reference.tar");
    run_ok(build(
        &root.join("c-ref"),
        &v1,
        "scratch",
        &format!("docker-archive:{}:demo/app:1", reference_archive.display()),
    ));
    let expected_archive = sha256(&std::fs::read(&reference_archive).unwrap());

    let cases = [
        (
            Point {
                doing: "starting (work directory)",
                dir: "",
                prefix: ".hoist-build-",
            },
            Signal::TERM,
            false,
        ),
        (
            Point {
                doing: "writing layers",
                dir: "CACHE/blobs/sha256",
                prefix: ".layer-",
            },
            Signal::INT,
            false,
        ),
        (
            Point {
                doing: "writing layers",
                dir: "CACHE/blobs/sha256",
                prefix: ".layer-",
            },
            Signal::TERM,
            false,
        ),
        (
            Point {
                doing: "copying cached blobs into the layout",
                dir: "out/blobs/sha256",
                prefix: ".blob-",
            },
            Signal::INT,
            true,
        ),
        (
            Point {
                doing: "writing the archive",
                dir: "",
                prefix: ".hoist-archive-",
            },
            Signal::TERM,
            true,
        ),
    ];
    for (i, (point, signal, warm)) in cases.into_iter().enumerate() {
        let cache = root.join(format!("cache-{i}"));
        if warm {
            // The cache has v1's layers; the output does not.
            run_ok(build(
                &cache,
                &v1,
                "scratch",
                &oci(&root.join(format!("warm-{i}")), "app"),
            ));
        }
        let to_archive = point.prefix == ".hoist-archive-";
        let to = if to_archive {
            archive_to.clone()
        } else {
            oci(&out, "app")
        };
        let watched = match point.dir.strip_prefix("CACHE/") {
            Some(rest) => cache.join(rest),
            None => root.join(point.dir),
        };
        let mut child = spawn(build(&cache, &v1, "scratch", &to));
        wait_for_temp(&mut child, &watched, point.prefix);
        send(&child, signal);
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let (code, name) = if signal == Signal::INT {
            (130, "SIGINT")
        } else {
            (143, "SIGTERM")
        };
        assert_eq!(
            output.status.code(),
            Some(code),
            "{name} while {}: {stderr}",
            point.doing
        );
        assert!(
            stderr.contains(&format!("interrupted ({name})")),
            "{stderr}"
        );

        assert_eq!(
            temp_files(root),
            Vec::<PathBuf>::new(),
            "{name} while {}",
            point.doing
        );
        assert_eq!(
            LayoutImage::open(&out, "app").digest,
            previous,
            "the previous layout"
        );
        for digest in LayoutImage::open(&out, "app").layer_digests() {
            assert!(matches_its_name(
                &out.join("blobs/sha256").join(&digest[7..])
            ));
        }
        assert_eq!(
            sha256(&std::fs::read(&archive).unwrap()),
            previous_archive,
            "the previous archive"
        );
        assert_cache_consistent(&cache);

        // The next build (same cache) is the uninterrupted one.
        let next = root.join(format!("next-{i}"));
        let (stdout, _) = run_ok(build(&cache, &v1, "scratch", &oci(&next, "app")));
        assert_eq!(
            digest_of(&stdout),
            expected,
            "after {name} while {}",
            point.doing
        );
        if to_archive {
            let next_archive = root.join(format!("next-{i}.tar"));
            run_ok(build(
                &cache,
                &v1,
                "scratch",
                &format!("docker-archive:{}:demo/app:1", next_archive.display()),
            ));
            assert_eq!(
                sha256(&std::fs::read(&next_archive).unwrap()),
                expected_archive
            );
        }
    }
}

/// A small tmpfs, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    #[track_caller]
    fn mount(dir: &Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run mount ({e}): the disk-full test needs it"));
        assert!(
            output.status.success(),
            "mount -t tmpfs -o size={size} tmpfs {} failed: {} — the disk-full test needs root (CAP_SYS_ADMIN) to mount a small tmpfs",
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Self {
            dir: dir.to_path_buf(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).output();
    }
}

#[test]
fn a_full_disk_is_one_line_naming_the_place_and_nothing_is_left_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let small = Tmpfs::mount(&dir.path().join("small"), "2m");
    let jar = big_boot_variant(&dir.path().join("jar"), 4_000_000, 0);
    let roomy_cache = dir.path().join("cache");
    let cases = [
        // The layer cache on the full disk.
        (
            small.dir.join("cache"),
            oci(&dir.path().join("out-1"), "app"),
            small.dir.join("cache"),
        ),
        // The output on it.
        (
            roomy_cache.clone(),
            oci(&small.dir.join("out"), "app"),
            small.dir.join("out"),
        ),
        (
            roomy_cache.clone(),
            format!("docker-archive:{}", small.dir.join("app.tar").display()),
            small.dir.join("app.tar"),
        ),
    ];
    for (cache, to, named) in cases {
        let stderr = build(&cache, &jar, "scratch", &to).failure(1);
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{to}: {stderr}");
        assert!(
            lines[0].contains("no space left on device")
                && lines[0].contains(&named.display().to_string())
                && lines[0].contains("needs about"),
            "{to}: {stderr}"
        );
        assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new(), "{to}");
        assert!(!small.dir.join("out").exists() && !small.dir.join("app.tar").exists());
        assert!(!dir.path().join("out-1").exists());
        // What did reach the small cache is whole.
        if cache.starts_with(&small.dir) {
            for blob in std::fs::read_dir(cache.join("blobs/sha256")).unwrap() {
                assert!(matches_its_name(&blob.unwrap().path()));
            }
            assert_cache_consistent(&cache);
        }
    }
}

/// Sets `path`'s modification time to `ago` before now.
fn age(path: &Path, ago: Duration) {
    File::open(path)
        .unwrap()
        .set_modified(SystemTime::now() - ago)
        .unwrap();
}

#[test]
fn stale_temporary_files_are_swept_and_live_or_young_ones_kept() {
    use rustix::fs::{flock, FlockOperation};
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let jar = big_boot_variant(&dir.path().join("jar"), 1_000_000, 0);
    let out = dir.path().join("out");
    run_ok(build(&cache, &jar, "scratch", &oci(&out, "app")));
    let blobs = cache.join("blobs/sha256");
    let file = |path: PathBuf| {
        std::fs::write(&path, b"partial").unwrap();
        path
    };
    let two_hours = Duration::from_secs(7200);
    let stale = [
        file(blobs.join(".layer-AAAAAA")),
        file(blobs.join(".download-BBBBBB")),
        file(cache.join("layers/.hoist-CCCCCC")),
        file(out.join("blobs/sha256/.blob-DDDDDD")),
        file(out.join(".hoist-EEEEEE")),
        file(dir.path().join(".hoist-archive-FFFFFF")),
    ];
    let stale_dir = dir.path().join(".hoist-build-GGGGGG");
    std::fs::create_dir(&stale_dir).unwrap();
    std::fs::write(stale_dir.join("layer"), b"partial").unwrap();
    let young = file(blobs.join(".layer-HHHHHH"));
    let live = file(blobs.join(".layer-IIIIII"));
    let users_own = file(dir.path().join(".hoist-config"));
    for path in stale.iter().chain([&stale_dir, &live, &users_own]) {
        age(path, two_hours);
    }
    // A live writer holds its lock: its file stays, however old.
    let writer = File::open(&live).unwrap();
    flock(&writer, FlockOperation::NonBlockingLockExclusive).unwrap();

    let du: Value = serde_json::from_str(
        &hoist()
            .args(["cache", "du", "--json"])
            .env("HOIST_CACHE_DIR", &cache)
            .success(),
    )
    .unwrap();
    assert_eq!(du["temporary"], 5, "{du}");

    run_ok(build(&cache, &jar, "scratch", &oci(&out, "app")));
    for path in stale.iter().chain([&stale_dir]) {
        assert!(!path.exists(), "{} was swept", path.display());
    }
    for path in [&young, &live, &users_own] {
        assert!(path.exists(), "{} was kept", path.display());
    }
    drop(writer);
    let pruned: Value = serde_json::from_str(
        &hoist()
            .args(["cache", "prune", "--json"])
            .env("HOIST_CACHE_DIR", &cache)
            .success(),
    )
    .unwrap();
    assert_eq!(
        pruned["removedTemporary"], 1,
        "the writer is gone: {pruned}"
    );
    assert!(young.exists());
}

#[test]
fn cache_dir_and_du_name_the_cache_and_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let printed = hoist()
        .args(["cache", "dir"])
        .env("HOIST_CACHE_DIR", &cache)
        .success();
    assert_eq!(printed.trim(), cache.display().to_string());
    let printed = hoist()
        .args(["cache", "dir"])
        .env_remove("HOIST_CACHE_DIR")
        .env("XDG_CACHE_HOME", dir.path())
        .success();
    assert_eq!(
        printed.trim(),
        dir.path().join("hoist").display().to_string()
    );

    let jar = big_boot_variant(&dir.path().join("jar"), 1_000_000, 0);
    run_ok(build(
        &cache,
        &jar,
        "scratch",
        &oci(&dir.path().join("out"), "app"),
    ));
    let du: Value = serde_json::from_str(
        &hoist()
            .args(["cache", "du", "--json", "--cache-dir"])
            .args([&cache])
            .success(),
    )
    .unwrap();
    assert_eq!(du["layers"], 4, "{du}");
    assert_eq!(du["blobs"], 4, "{du}");
    assert!(du["bytes"].as_u64().unwrap() > 1_000_000, "{du}");
    let human = hoist()
        .args(["cache", "du"])
        .env("HOIST_CACHE_DIR", &cache)
        .success();
    assert!(human.contains("4 blobs, 4 layer records"), "{human}");
    hoist()
        .args(["cache", "prune", "--max-size", "2 lots"])
        .env("HOIST_CACHE_DIR", &cache)
        .failure(2);
}

/// The cache's blobs: hex name → size.
fn cache_blobs(cache: &Path) -> std::collections::BTreeMap<String, u64> {
    std::fs::read_dir(cache.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .filter(|(name, _)| !name.starts_with('.'))
        .collect()
}

/// Waits for both children; returns their outputs and whether `first`
/// finished no later than `second` (checked every 5 ms, bounded).
fn wait_both(mut first: Child, mut second: Child) -> (Output, Output, bool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut first_done = false;
    let mut in_order = true;
    while Instant::now() < deadline {
        let a = first.try_wait().unwrap().is_some();
        let b = second.try_wait().unwrap().is_some();
        if b && !a && !first_done {
            in_order = false;
        }
        first_done |= a;
        if a && b {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
        in_order,
    )
}

#[test]
fn a_prune_beside_a_running_build_waits_for_it_and_keeps_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let small = big_boot_variant(&dir.path().join("small"), 2_000_000, 0);
    let big = big_boot_variant(&dir.path().join("big"), 60_000_000, 1);
    run_ok(build(
        &cache,
        &small,
        "scratch",
        &oci(&dir.path().join("s"), "app"),
    ));
    let old: Vec<String> = cache_blobs(&cache).into_keys().collect();
    for name in &old {
        age(
            &cache.join("blobs/sha256").join(name),
            Duration::from_secs(40 * 86_400),
        );
    }

    let out = dir.path().join("b");
    let mut building = spawn(build(&cache, &big, "scratch", &oci(&out, "app")));
    wait_for_temp(&mut building, &cache.join("blobs/sha256"), ".layer-");
    let pruning = spawn(
        hoist()
            .args([
                "cache",
                "prune",
                "--older-than",
                "30d",
                "--max-size",
                "100MB",
                "--json",
            ])
            .env("HOIST_CACHE_DIR", &cache),
    );
    let (built, pruned, build_first) = wait_both(building, pruning);
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    assert!(
        pruned.status.success(),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    assert!(build_first, "the prune waited for the build");
    assert!(
        String::from_utf8_lossy(&pruned.stderr).contains("waiting for builds"),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    skopeo_copies(&oci(&out, "app"), dir.path());
    let report: Value = serde_json::from_slice(&pruned.stdout).unwrap();
    let left = cache_blobs(&cache);
    // The layers both jars share were used by the build: only the others aged.
    let used: Vec<String> = LayoutImage::open(&out, "app")
        .layer_digests()
        .iter()
        .map(|d| d[7..].to_string())
        .collect();
    let aged: Vec<&String> = old.iter().filter(|name| !used.contains(name)).collect();
    assert!(!aged.is_empty());
    assert!(
        aged.iter().all(|name| !left.contains_key(*name)),
        "unused for 40 days: pruned"
    );
    assert_eq!(report["removedBlobs"], aged.len(), "{report}");
    assert!(left.values().sum::<u64>() <= 100_000_000, "{report}");
    assert_eq!(report["keptBytes"], left.values().sum::<u64>(), "{report}");
    for digest in LayoutImage::open(&out, "app").layer_digests() {
        assert!(left.contains_key(&digest[7..]), "the build's layers stay");
    }
    assert_cache_consistent(&cache);

    // Least recently used first: the small image is used now, so the big
    // image's dependency layer goes first.
    run_ok(build(
        &cache,
        &small,
        "scratch",
        &oci(&dir.path().join("s2"), "app"),
    ));
    let small_bytes: u64 = cache_blobs(&cache).values().sum::<u64>() - left.values().sum::<u64>();
    run_ok(
        hoist()
            .args(["cache", "prune", "--max-size"])
            .args([(small_bytes + 1_000_000).to_string()])
            .env("HOIST_CACHE_DIR", &cache),
    );
    let left = cache_blobs(&cache);
    assert!(left.values().sum::<u64>() <= small_bytes + 1_000_000);
    let again = build(
        &cache,
        &small,
        "scratch",
        &oci(&dir.path().join("s3"), "app"),
    )
    .report();
    assert!(
        again["layers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["cached"] == true),
        "the recently used image is still cached: {again}"
    );
}

#[test]
fn four_parallel_builds_and_a_prune_share_one_cache_and_agree() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let jar = big_boot_variant(&dir.path().join("jar"), 20_000_000, 0);
    let expected = digest_of(
        &run_ok(
            build(
                &dir.path().join("alone"),
                &jar,
                "scratch",
                &oci(&dir.path().join("ref"), "app"),
            )
            .args(["--no-cache"]),
        )
        .0,
    );
    let builds: Vec<Child> = (0..4)
        .map(|i| {
            spawn(build(
                &cache,
                &jar,
                "scratch",
                &oci(&dir.path().join(format!("out-{i}")), "app"),
            ))
        })
        .collect();
    let prune = spawn(
        hoist()
            .args(["cache", "prune", "--max-size", "0"])
            .env("HOIST_CACHE_DIR", &cache),
    );
    for (i, child) in builds.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "build {i}: {stderr}");
        assert!(warnings(&stderr).is_empty(), "{stderr}");
        assert_eq!(
            digest_of(&String::from_utf8_lossy(&output.stdout)),
            expected,
            "build {i}"
        );
        let image = LayoutImage::open(&dir.path().join(format!("out-{i}")), "app");
        for layer in 0..image.layer_digests().len() {
            image.layer_tar(layer);
        }
    }
    let pruned = prune.wait_with_output().unwrap();
    assert!(
        pruned.status.success(),
        "{}",
        String::from_utf8_lossy(&pruned.stderr)
    );
    assert_cache_consistent(&cache);
    assert_eq!(temp_files(dir.path()), Vec::<PathBuf>::new());
}
