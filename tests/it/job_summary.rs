//! The GitHub job summary: with `GITHUB_STEP_SUMMARY` set, `hoist deploy`,
//! `rollback`, `ship` and `promote` append GitHub-flavoured Markdown to that
//! file (what it held stays), read back here with a published GFM parser
//! (markdown-it-py, through `tests/support/check_gfm.py`) and checked
//! against the command's own JSON report: the heading, the image, the verify
//! table, the timeline table, a failed deploy's diagnosis, and the cut that
//! keeps a step's summary within GitHub's 1 MiB.

use crate::support::cli::hoist;
use crate::support::ecs_emulator::{deploy_args, marked_image, service_args, EcsEmulator};
use crate::support::fixtures::boot3_layered;
use crate::support::registry::{Auth, TestRegistry};
use hoist::ecs::seconds_text;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// What GitHub keeps of one step's summary.
const ONE_MIB: usize = 1024 * 1024;

/// The file as check_gfm.py reads it: headings, tables, fences, paragraphs.
#[track_caller]
fn gfm(file: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/check_gfm.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(file)
        .output()
        .expect("running python3 tests/support/check_gfm.py");
    assert!(
        output.status.success(),
        "check_gfm.py failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("check_gfm.py prints JSON")
}

fn texts(values: &Value) -> Vec<String> {
    values
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {values}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The tables whose header is `header`.
fn tables<'a>(parsed: &'a Value, header: &[&str]) -> Vec<&'a Value> {
    parsed["tables"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| texts(&t["header"]) == header)
        .collect()
}

fn rows(table: &Value) -> Vec<Vec<String>> {
    table["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(texts)
        .collect()
}

fn headings(parsed: &Value) -> Vec<String> {
    parsed["headings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["text"].as_str().unwrap().to_string())
        .collect()
}

fn paragraphs(parsed: &Value) -> Vec<String> {
    texts(&parsed["paragraphs"])
}

#[track_caller]
fn has_paragraph(parsed: &Value, text: &str) {
    let all = paragraphs(parsed);
    assert!(all.iter().any(|p| p == text), "{text:?} in {all:#?}");
}

/// A service's outcome as the heading says it: `rolled-back (by ecs)`.
fn outcome(deploy: &Value) -> String {
    let outcome = deploy["outcome"].as_str().unwrap().to_string();
    match deploy["rolledBackBy"].as_str() {
        Some(by) => format!("{outcome} (by {by})"),
        None => outcome,
    }
}

/// The timeline table holds the report's timeline: one row per stage, in
/// order, its figures as `seconds_text` says them, `not known` for none.
#[track_caller]
fn timeline_table_matches(table: &Value, timeline: &Value) {
    let stages = timeline["stages"]
        .as_array()
        .unwrap_or_else(|| panic!("no timeline: {timeline}"));
    let rows = rows(table);
    assert_eq!(rows.len(), stages.len(), "{rows:#?}\n{timeline}");
    for (row, stage) in rows.iter().zip(stages) {
        let name = stage["name"].as_str().unwrap();
        assert_eq!(row.len(), 4, "{row:?}");
        assert_eq!(row[0], name);
        let at = match (stage["offsetSeconds"].as_f64(), stage["at"].as_str()) {
            (Some(offset), _) => format!("+{}", seconds_text(offset)),
            (None, Some(_)) => "before".to_string(),
            (None, None) => "not known".to_string(),
        };
        assert!(row[1].starts_with(&at), "{name}: {:?}, want {at}", row[1]);
        if let Some(when) = stage["at"].as_str() {
            let time = when.split_once('T').unwrap().1;
            assert!(row[1].ends_with(&format!("({time})")), "{row:?}");
        }
        let took = match (name, stage["seconds"].as_f64()) {
            ("registered" | "done", _) => String::new(),
            (_, Some(seconds)) => seconds_text(seconds),
            (_, None) => "not known".to_string(),
        };
        assert_eq!(row[2], took, "{name}: {row:?}");
        assert_eq!(row[3], stage["detail"].as_str().unwrap_or(""), "{name}");
    }
    assert!(
        !rows
            .iter()
            .any(|r| r[2] == "0s" && r[0] != "service updated"),
        "{rows:?}"
    );
}

/// The total under the timeline table.
#[track_caller]
fn total_matches(parsed: &Value, timeline: &Value) {
    let total = timeline["totalSeconds"]
        .as_f64()
        .map_or_else(|| "not known".to_string(), seconds_text);
    has_paragraph(parsed, &format!("Total, from the service update: {total}"));
}

/// `hoist deploy` of `image` to `service` of the seeded cluster, with the
/// summary going to `summary`; the exit code, stderr and the JSON report.
fn deploy(
    emulator: &EcsEmulator,
    service: &str,
    image: &str,
    summary: &Path,
    extra: &[&str],
) -> (Option<i32>, String, Value) {
    let (_, output) = emulator
        .aws(hoist().args(deploy_args(service, image)).args([
            "--poll-interval",
            "10ms",
            "--wait-timeout",
            "60s",
            "--json",
        ]))
        .args(extra)
        .env("GITHUB_STEP_SUMMARY", summary)
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}):\n{stderr}"));
    (output.status.code(), stderr, report)
}

#[test]
fn a_deploy_appends_its_timeline_as_a_table() {
    let emulator = EcsEmulator::start();
    let seeded = emulator.seed();
    emulator.create_service_behind_load_balancer(&seeded, "plog-web", "/actuator/health");
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step-summary.md");
    std::fs::write(&summary, "An earlier step wrote this.\n").unwrap();
    let image = marked_image("", '7');
    let (code, stderr, report) = deploy(
        &emulator,
        "plog-web",
        &image,
        &summary,
        &[
            "--env",
            "EMULATOR_PULL_SECONDS=6",
            "--env",
            "EMULATOR_STARTUP_SECONDS=9",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["outcome"], "stable");
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(
        written.starts_with("An earlier step wrote this.\n\n### hoist deploy plog-web: stable\n"),
        "appended after what was there:\n{written}"
    );
    assert!(!stderr.contains("job summary"), "{stderr}");

    let parsed = gfm(&summary);
    has_paragraph(&parsed, "An earlier step wrote this.");
    assert_eq!(
        headings(&parsed)[0],
        "hoist deploy plog-web: stable",
        "{parsed}"
    );
    has_paragraph(&parsed, &format!("Image: {image}"));
    has_paragraph(
        &parsed,
        &format!(
            "Task definition: {}",
            report["taskDefinitionArn"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
        ),
    );
    let timeline = tables(&parsed, &["Stage", "At", "Took", "Detail"]);
    assert_eq!(timeline.len(), 1, "{parsed}");
    timeline_table_matches(timeline[0], &report["timeline"]);
    total_matches(&parsed, &report["timeline"]);
    // The emulator's 6 s pull, per task.
    let pulls = report["timeline"]["pulls"].as_array().unwrap();
    assert!(!pulls.is_empty(), "{report}");
    let said: Vec<String> = pulls
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["task"].as_str().unwrap(),
                seconds_text(p["seconds"].as_f64().unwrap())
            )
        })
        .collect();
    has_paragraph(
        &parsed,
        &format!("Image pull per task, slowest first: {}", said.join(", ")),
    );
    assert!(said.iter().all(|s| s.ends_with(" 6s")), "{said:?}");
    // Nothing failed: no diagnosis, no code block.
    assert!(parsed["fences"].as_array().unwrap().is_empty(), "{parsed}");

    // A rollback appends its own summary after the deploy's.
    let (_, output) = emulator
        .aws(hoist().args(service_args("rollback", "plog-web")).args([
            "--poll-interval",
            "10ms",
            "--wait-timeout",
            "60s",
            "--json",
        ]))
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let rolled: Value = serde_json::from_slice(&output.stdout).unwrap();
    let parsed = gfm(&summary);
    let all = headings(&parsed);
    assert!(
        all.iter().any(|h| h
            == &format!(
                "hoist rollback plog-web: {}",
                rolled["outcome"].as_str().unwrap()
            )),
        "{all:?}"
    );
    has_paragraph(&parsed, "Task definition: plog-api:1");
    let timelines = tables(&parsed, &["Stage", "At", "Took", "Detail"]);
    assert_eq!(timelines.len(), 2, "{parsed}");
    timeline_table_matches(timelines[1], &rolled["timeline"]);
}

#[test]
fn a_summary_that_cannot_be_written_is_a_warning_not_a_failure() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let dir = tempfile::tempdir().unwrap();
    // A directory is no file to append to.
    let (code, stderr, report) = deploy(
        &emulator,
        "plog-api",
        &marked_image("", '7'),
        dir.path(),
        &["--dry-run"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report["outcome"], "dry-run");
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("job summary"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].starts_with(&format!(
            "hoist: warning: could not write the job summary to {} (GITHUB_STEP_SUMMARY): ",
            dir.path().display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_failed_deploy_puts_its_diagnosis_and_crash_line_in_a_code_block() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step-summary.md");
    let crash = "Caused by: java.lang.IllegalStateException: no | pipes ``` or fences here";
    let (code, stderr, report) = deploy(
        &emulator,
        "plog-api",
        &marked_image("", '7'),
        &summary,
        &["--env", &format!("CRASH_ON_START={crash}")],
    );
    assert_eq!(code, Some(3), "{stderr}");
    let parsed = gfm(&summary);
    assert_eq!(
        headings(&parsed)[0],
        format!("hoist deploy plog-api: {}", outcome(&report)),
        "{parsed}"
    );
    assert_eq!(report["outcome"], "rolled-back", "{report}");
    let fences = parsed["fences"].as_array().unwrap();
    let diagnosis = fences
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .find(|t| t.starts_with("task   "))
        .unwrap_or_else(|| panic!("no diagnosis block: {parsed}"));
    // The crash line whole, backticks and all: the fence is longer.
    assert!(
        diagnosis.lines().any(|l| l == format!("log    | {crash}")),
        "{diagnosis}"
    );
    assert!(
        diagnosis.contains("task     plog-back: exit code 1"),
        "{diagnosis}"
    );
    assert!(diagnosis.contains("Application run failed"), "{diagnosis}");
    // The same lines hoist printed on stderr.
    for line in diagnosis.lines() {
        assert!(stderr.lines().any(|l| l == line), "{line:?} in\n{stderr}");
    }
    if let Some(failure) = report["failure"].as_str() {
        has_paragraph(&parsed, &format!("Failure: {failure}"));
    }
    let events = texts(&report["lastEvents"]);
    assert!(!events.is_empty(), "{report}");
    let block = fences
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .find(|t| t.contains(events[0].as_str()))
        .unwrap_or_else(|| panic!("no events block: {parsed}"));
    let oldest_first: Vec<&str> = events.iter().rev().map(String::as_str).collect();
    assert_eq!(block.lines().collect::<Vec<_>>(), oldest_first);
    // A failed deploy has a timeline too.
    let timeline = tables(&parsed, &["Stage", "At", "Took", "Detail"]);
    timeline_table_matches(timeline[0], &report["timeline"]);
    assert!(!parsed.to_string().contains("was cut"), "{parsed}");
}

#[test]
fn a_step_summary_near_one_mib_gets_the_diagnosis_cut_to_fit() {
    let emulator = EcsEmulator::start();
    emulator.seed();
    let dir = tempfile::tempdir().unwrap();
    let crash = "Caused by: java.net.UnknownHostException: db.plog.internal";
    let fail = |summary: &Path| {
        let (code, stderr, report) = deploy(
            &emulator,
            "plog-api",
            &marked_image("", '7'),
            summary,
            &["--env", &format!("CRASH_ON_START={crash}")],
        );
        assert_eq!(code, Some(3), "{stderr}");
        report
    };
    // How big a failed deploy's summary is, and its diagnosis.
    let alone = dir.path().join("alone.md");
    fail(&alone);
    let whole = std::fs::read_to_string(&alone).unwrap();
    let diagnosis = gfm(&alone)["fences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["text"].as_str().unwrap().len())
        .max()
        .unwrap();
    assert!(diagnosis > 400, "{whole}");
    // Earlier steps left room for all of it but about half the diagnosis.
    let summary = dir.path().join("step-summary.md");
    let earlier = ONE_MIB - (whole.len() - diagnosis / 2);
    let line = "an earlier step's line, long enough to fill a summary quickly\n";
    let mut filler = line.repeat(earlier / line.len());
    filler.push_str(&"x".repeat(earlier - filler.len() - 1));
    filler.push('\n');
    assert_eq!(filler.len(), earlier);
    std::fs::write(&summary, &filler).unwrap();
    fail(&summary);
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(written.starts_with(&filler));
    assert!(
        written.len() <= ONE_MIB,
        "{} bytes: past 1 MiB",
        written.len()
    );
    let parsed = gfm(&summary);
    let note = paragraphs(&parsed)
        .into_iter()
        .find(|p| p.starts_with("Note: the diagnosis was cut: "))
        .unwrap_or_else(|| panic!("no note: {}", &written[filler.len()..]));
    assert!(
        note.ends_with(" bytes; a job summary holds 1 MiB per step."),
        "{note}"
    );
    let cut: usize = note["Note: the diagnosis was cut: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cut > 0 && cut < diagnosis, "{note}");
    // The cut block is still one closed block, its marker inside.
    let fences = parsed["fences"].as_array().unwrap();
    let block = fences
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .find(|t| t.starts_with("task   "))
        .unwrap_or_else(|| panic!("no diagnosis block: {parsed}"));
    assert!(
        block.contains(&format!("[… {cut} bytes cut …]\n")),
        "{block}"
    );
    assert_eq!(
        headings(&parsed).last().unwrap(),
        "Service plog-api: rolled-back (by ecs)",
        "{parsed}"
    );
}

/// A project for `hoist ship`: a Boot jar, hoist.toml with a dev and a
/// protected prod environment, a Secrets Manager secret baked into the
/// image, a local registry and the ECS emulator.
struct Project {
    dir: tempfile::TempDir,
    emulator: EcsEmulator,
    _registry: TestRegistry,
}

/// The secret's value: the summary must never hold it.
const SECRET_VALUE: &str = "correct-horse-battery-staple";

impl Project {
    fn new() -> Self {
        let registry = TestRegistry::start(Auth::None);
        let emulator = EcsEmulator::start();
        emulator.seed();
        emulator.boto3(
            "secretsmanager",
            &format!(
                "client.create_secret(Name='plog/application-dev', SecretString='db:\\n  password: {SECRET_VALUE}\\n')"
            ),
        );
        let dir = tempfile::tempdir().unwrap();
        boot3_layered(&dir.path().join("build/libs"));
        let toml = format!(
            r#"[image]
from = "scratch"
to = "{host}/plog-back"
ports = [8080]

[[image.files]]
secret = "plog/application-dev"
to = "/app/config/application-dev.yaml"

[env.dev]
cluster = "plog-cluster"
service = "plog-api"
container = "plog-back"
tags = ["dev", "dev-latest"]

[env.prod]
cluster = "plog-prod"
service = "plog-api-prod"
container = "plog-back"
tags = ["prod"]
protect = true
"#,
            host = registry.host
        );
        std::fs::write(dir.path().join("hoist.toml"), toml).unwrap();
        Self {
            dir,
            emulator,
            _registry: registry,
        }
    }

    /// `hoist ARGS` in the project, the summary going to `summary`, with
    /// `--metadata-file`: the report.
    #[track_caller]
    fn run(&self, args: &[&str], summary: &Path) -> Value {
        self.emulator
            .aws(hoist().args(args).current_dir(self.dir.path()))
            .args(["--poll-interval", "20ms"])
            .env("GITHUB_STEP_SUMMARY", summary)
            .report()
    }
}

/// The verify table holds the report's checks, row for row.
#[track_caller]
fn verify_table_matches(parsed: &Value, verify: &Value) {
    let tables = tables(parsed, &["Status", "Service", "Check", "Finding"]);
    assert_eq!(tables.len(), 1, "{parsed}");
    let checks: Vec<Vec<String>> = verify["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("no checks: {verify}"))
        .iter()
        .map(|c| {
            vec![
                c["status"].as_str().unwrap().replace('-', " "),
                c["service"].as_str().unwrap().to_string(),
                c["check"].as_str().unwrap().to_string(),
                c["message"].as_str().unwrap().replace('\n', " "),
            ]
        })
        .collect();
    assert!(!checks.is_empty());
    assert_eq!(rows(tables[0]), checks);
}

#[test]
fn ship_and_promote_append_the_image_the_checks_and_the_timeline() {
    let project = Project::new();
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("step-summary.md");
    let report = project.run(&["ship", "dev"], &summary);
    assert_eq!(report["deploy"]["outcome"], "stable", "{report}");
    let parsed = gfm(&summary);
    assert_eq!(headings(&parsed)[0], "hoist ship dev: stable", "{parsed}");
    // The image: pinned, its digest, its tags, what the push did.
    let build = &report["build"];
    let digest = build["digest"].as_str().unwrap();
    let image = report["image"].as_str().unwrap();
    assert!(image.ends_with(&format!("@{digest}")), "{image}");
    has_paragraph(&parsed, &format!("Image: {image}"));
    has_paragraph(&parsed, &format!("Digest: {digest}"));
    has_paragraph(&parsed, "Tags: dev, dev-latest");
    let push = &build["push"];
    let pushed = paragraphs(&parsed)
        .into_iter()
        .find(|p| p.starts_with("Pushed: "))
        .unwrap_or_else(|| panic!("no push line: {parsed}"));
    assert!(
        pushed.starts_with(&format!(
            "Pushed: {} uploaded (",
            push["uploaded"].as_u64().unwrap()
        )),
        "{pushed}\n{push}"
    );
    assert!(
        pushed.contains(&format!(
            ", {} bytes), {} mounted from another repository, {} already there",
            push["bytesUploaded"], push["mounted"], push["present"]
        )),
        "{pushed}\n{push}"
    );
    // The checks made before the deploy, row for row.
    verify_table_matches(&parsed, &report["verify"]);
    // The settings that make deploys slow, when verify named any.
    if let Some(slow) = report["slow"].as_array() {
        for line in slow {
            has_paragraph(&parsed, line.as_str().unwrap());
        }
    }
    // The timeline of plog-api.
    let timeline = tables(&parsed, &["Stage", "At", "Took", "Detail"]);
    assert_eq!(timeline.len(), 1, "{parsed}");
    timeline_table_matches(timeline[0], &report["deploy"]["timeline"]);
    total_matches(&parsed, &report["deploy"]["timeline"]);
    assert!(parsed["fences"].as_array().unwrap().is_empty(), "{parsed}");

    // Then promote, to the same step's summary: appended after the ship's.
    let promoted = project.run(&["promote", "dev", "prod", "--yes"], &summary);
    assert_eq!(promoted["deploy"]["outcome"], "stable", "{promoted}");
    let parsed = gfm(&summary);
    let all = headings(&parsed);
    let ship_at = all.iter().position(|h| h == "hoist ship dev: stable");
    let promote_at = all
        .iter()
        .position(|h| h == "hoist promote dev prod: stable");
    assert!(
        matches!((ship_at, promote_at), (Some(s), Some(p)) if s < p),
        "{all:?}"
    );
    has_paragraph(&parsed, &format!("Digest: {digest}"));
    has_paragraph(&parsed, &format!("Running in dev: {image}"));
    has_paragraph(&parsed, "Tags: prod");
    has_paragraph(&parsed, "Copied: nothing: the same repository");
    let timelines = tables(&parsed, &["Stage", "At", "Took", "Detail"]);
    assert_eq!(timelines.len(), 2, "{parsed}");
    timeline_table_matches(timelines[1], &promoted["deploy"]["timeline"]);

    // The secret baked into the image is in no summary.
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(!written.contains(SECRET_VALUE), "{written}");
}
