//! The GitHub Actions job summary. When `GITHUB_STEP_SUMMARY` names a file
//! (GitHub sets it for every step), `hoist ship`, `promote`, `deploy` and
//! `rollback` append GitHub-flavoured Markdown to it once their report is
//! known, after a success and after a failure alike: a heading with the
//! outcome, the image, the checks made before the deploy, each service's
//! timeline and, when a deploy failed, why.
//!
//! This module owns that Markdown (pure functions of the reports, which hold
//! no secret values; nothing else is added) and the append, which never
//! truncates the file and never fails the command: a file that cannot be
//! written is one warning on stderr. GitHub keeps at most [`LIMIT`] bytes
//! of one step's summary; past that, the diagnosis (the one part that can
//! be large) is cut in its middle, and the summary says so.

use hoist::ecs::{seconds_text, short_arn, DeployReport, TaskReport, Timeline, VerifyReport};
use hoist::{PromoteReport, ShipReport};
use indicatif::HumanBytes;
use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The most GitHub keeps of one step's summary, in bytes (1 MiB).
pub const LIMIT: usize = 1024 * 1024;

/// The variable GitHub Actions sets to the step's summary file.
const VARIABLE: &str = "GITHUB_STEP_SUMMARY";

/// Room kept for the line saying the diagnosis was cut.
const NOTE_ROOM: usize = 128;

/// Room kept for each cut diagnosis' marker line.
const MARKER_ROOM: usize = 64;

/// After `hoist ship`: appends its summary, when the ship got as far as a
/// report (`ok`: whether the command succeeded).
pub fn ship(report: Option<&ShipReport>, ok: bool) {
    if let Some(report) = report {
        append_to_step_summary(|limit| ship_markdown(report, ok, limit));
    }
}

/// After `hoist promote`: appends its summary, when there is a report.
pub fn promote(report: Option<&PromoteReport>, ok: bool) {
    if let Some(report) = report {
        append_to_step_summary(|limit| promote_markdown(report, ok, limit));
    }
}

/// After `hoist deploy` or `hoist rollback` (`command`): appends its
/// summary, unless it failed before the service was read.
pub fn deploy(command: &str, report: &DeployReport, ok: bool) {
    if !report.service.is_empty() {
        append_to_step_summary(|limit| deploy_markdown(command, report, ok, limit));
    }
}

/// Appends what `render` makes of the room left to `GITHUB_STEP_SUMMARY`,
/// when it is set; a failure to write is a warning.
fn append_to_step_summary(render: impl FnOnce(usize) -> String) {
    let Some(path) = std::env::var_os(VARIABLE).filter(|p| !p.is_empty()) else {
        return;
    };
    let path = Path::new(&path);
    if let Err(error) = append_at(path, render) {
        eprintln!(
            "hoist: warning: could not write the job summary to {} ({VARIABLE}): {error}",
            path.display()
        );
    }
}

/// Appends to `path` (created if missing, never truncated) what `render`
/// makes of the bytes left under [`LIMIT`] after what the file holds,
/// separated from it by a blank line.
pub fn append_at(path: &Path, render: impl FnOnce(usize) -> String) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let held = file.metadata()?.len();
    let separator = if held == 0 {
        ""
    } else {
        file.seek(SeekFrom::End(-1))?;
        let mut last = [0u8; 1];
        file.read_exact(&mut last)?;
        if last[0] == b'\n' {
            "\n"
        } else {
            "\n\n"
        }
    };
    let held = usize::try_from(held).unwrap_or(usize::MAX);
    let room = LIMIT.saturating_sub(held.saturating_add(separator.len()));
    let markdown = render(room);
    file.write_all(format!("{separator}{markdown}").as_bytes())?;
    file.flush()
}

// --- the summaries -----------------------------------------------------------

/// One part of a summary: Markdown as it is, or a diagnosis (plain lines,
/// written in a fenced block), the part that is cut when the whole is too
/// big.
enum Block {
    Markdown(String),
    Diagnosis(String),
}

/// The summary of a ship, in at most `limit` bytes where it can be.
pub fn ship_markdown(report: &ShipReport, ok: bool, limit: usize) -> String {
    let services = &report.released.services;
    let mut blocks = vec![Block::Markdown(heading(
        &format!("hoist ship {}", report.env),
        services,
        ok,
    ))];
    let mut top = String::new();
    let _ = writeln!(
        top,
        "Environment {}: {:.1} s in all.\n",
        inline(&report.env),
        report.seconds
    );
    let build = &report.build;
    top.push_str("#### Image\n\n");
    item(&mut top, "Image", &code(&report.image));
    item(&mut top, "Digest", &code(build.digest.as_str()));
    item(&mut top, "Tags", &codes(&build.tags));
    if !build.skipped_tags.is_empty() {
        item(
            &mut top,
            "Immutable tags left naming another image",
            &codes(&build.skipped_tags),
        );
    }
    item(&mut top, "Platform", &inline(&build.platform));
    let base = match &build.base_digest {
        Some(digest) => format!("{} ({})", code(&build.base_image), code(digest.as_str())),
        None => code(&build.base_image),
    };
    item(&mut top, "Base image", &base);
    match &build.push {
        Some(push) => item(
            &mut top,
            "Pushed",
            &push_text(
                push.uploaded,
                push.mounted,
                push.present,
                push.bytes_uploaded,
                push.seconds,
            ),
        ),
        None => item(&mut top, "Pushed", "no (a dry run)"),
    }
    blocks.push(Block::Markdown(top));
    with_release(blocks, report.verify.as_ref(), &report.released, ok, limit)
}

/// The summary of a promote, in at most `limit` bytes where it can be.
pub fn promote_markdown(report: &PromoteReport, ok: bool, limit: usize) -> String {
    let services = &report.released.services;
    let mut blocks = vec![Block::Markdown(heading(
        &format!("hoist promote {} {}", report.from, report.to),
        services,
        ok,
    ))];
    let mut top = String::new();
    let _ = writeln!(
        top,
        "From {} to {}: {:.1} s in all.\n",
        inline(&report.from),
        inline(&report.to),
        report.seconds
    );
    top.push_str("#### Image\n\n");
    item(&mut top, "Image", &code(&report.image));
    item(&mut top, "Digest", &code(report.digest.as_str()));
    item(
        &mut top,
        &format!("Running in {}", inline(&report.from)),
        &code(&report.source),
    );
    item(&mut top, "Tags", &codes(&report.tags));
    if !report.skipped_tags.is_empty() {
        item(
            &mut top,
            "Immutable tags left naming another image",
            &codes(&report.skipped_tags),
        );
    }
    match &report.copy {
        Some(copy) => item(
            &mut top,
            "Copied",
            &push_text(
                copy.uploaded,
                copy.mounted,
                copy.present,
                copy.bytes_uploaded,
                copy.seconds,
            ),
        ),
        None => item(&mut top, "Copied", "nothing: the same repository"),
    }
    if let Some(referrers) = &report.referrers {
        item(
            &mut top,
            "Referrers carried",
            &format!(
                "{} copied, {} already there, {} refused, {} left behind",
                referrers.copied, referrers.present, referrers.refused, referrers.left_behind
            ),
        );
    }
    blocks.push(Block::Markdown(top));
    with_release(blocks, report.verify.as_ref(), &report.released, ok, limit)
}

/// A ship's or promote's summary from its top part on: verify's checks,
/// then the release (tasks, services, warnings, slow settings), within
/// `limit`.
fn with_release(
    mut blocks: Vec<Block>,
    verify: Option<&VerifyReport>,
    released: &hoist::Released,
    ok: bool,
    limit: usize,
) -> String {
    if let Some(Block::Markdown(top)) = blocks.last_mut() {
        top.push('\n');
    }
    blocks.push(Block::Markdown(verify_section(verify)));
    release_blocks(
        &mut blocks,
        &released.services,
        &released.tasks,
        &released.warnings,
        &released.slow,
        ok,
    );
    finish(blocks, limit)
}

/// The summary of `hoist deploy` or `hoist rollback` (`command`), in at
/// most `limit` bytes where it can be.
pub fn deploy_markdown(command: &str, report: &DeployReport, ok: bool, limit: usize) -> String {
    let mut blocks = vec![Block::Markdown(heading(
        &format!("hoist {command} {}", report.service),
        std::slice::from_ref(report),
        ok,
    ))];
    service_blocks(&mut blocks, report, ok, true);
    finish(blocks, limit)
}

/// `### hoist ship dev: stable`; with several services each one's outcome.
fn heading(command: &str, services: &[DeployReport], ok: bool) -> String {
    let outcomes = match services {
        [] => (if ok { "done" } else { "failed" }).to_string(),
        [one] => outcome(one, ok),
        several => several
            .iter()
            .map(|one| format!("{} {}", one.service, outcome(one, ok)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let unsaid = !ok
        && !services.is_empty()
        && services.iter().all(|one| {
            matches!(
                one.outcome.as_str(),
                "stable" | "not-waited" | "dry-run" | ""
            )
        });
    let failed = if unsaid { " (hoist failed)" } else { "" };
    format!("### {}: {}{failed}\n\n", inline(command), inline(&outcomes))
}

/// A service's outcome, `rolled-back (by ecs)`.
fn outcome(one: &DeployReport, ok: bool) -> String {
    let mut text = match one.outcome.as_str() {
        "" if ok => "done".to_string(),
        "" => "failed".to_string(),
        known => known.to_string(),
    };
    if let Some(by) = one.rolled_back_by {
        let _ = write!(text, " (by {})", format!("{by:?}").to_lowercase());
    }
    text
}

/// `3 uploaded (12.31 MiB, 12907069 bytes), 1 mounted from another
/// repository, 2 already there (blobs: layers and config), in 4.2 s`.
fn push_text(uploaded: usize, mounted: usize, present: usize, bytes: u64, seconds: f64) -> String {
    format!(
        "{uploaded} uploaded ({}, {bytes} bytes), {mounted} mounted from another repository, \
         {present} already there (blobs: layers and config), in {seconds:.1} s",
        HumanBytes(bytes),
    )
}

/// The checks made before the deploy: a table, one row per check.
fn verify_section(verify: Option<&VerifyReport>) -> String {
    let mut out = String::from("#### Checks before the deploy\n\n");
    let Some(verify) = verify else {
        out.push_str("None made (`--no-verify`).\n\n");
        return out;
    };
    let _ = writeln!(out, "{}\n", inline(&verify.summary()));
    let rows: Vec<Vec<String>> = verify
        .checks
        .iter()
        .map(|c| {
            vec![
                c.status.label().to_string(),
                c.service.clone(),
                c.check.clone(),
                c.message.clone(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&table(&["Status", "Service", "Check", "Finding"], &rows));
    }
    out
}

/// A release's slow settings, one-off tasks and warnings, then each
/// service (ship's and promote's `released`).
fn release_blocks(
    blocks: &mut Vec<Block>,
    services: &[DeployReport],
    tasks: &[TaskReport],
    warnings: &[String],
    slow: &[String],
    ok: bool,
) {
    let mut out = String::new();
    if !slow.is_empty() {
        out.push_str(
            "Settings that make deploys slow (weighed with what this deploy measured):\n\n",
        );
        for line in slow {
            let _ = writeln!(out, "- {}", inline(line));
        }
        out.push('\n');
    }
    if !tasks.is_empty() {
        out.push_str("#### One-off tasks\n\n");
        let rows: Vec<Vec<String>> = tasks
            .iter()
            .map(|t| {
                vec![
                    t.name.clone(),
                    short_arn(&t.task_definition_arn).to_string(),
                    t.exit_code
                        .map_or_else(|| "not known".to_string(), |c| c.to_string()),
                    t.stopped_reason.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&table(
            &["Task", "Task definition", "Exit code", "Stopped reason"],
            &rows,
        ));
    }
    if !warnings.is_empty() {
        out.push_str("Warnings:\n\n");
        for line in warnings {
            let _ = writeln!(out, "- {}", inline(line));
        }
        out.push('\n');
    }
    if !out.is_empty() {
        blocks.push(Block::Markdown(out));
    }
    for one in services {
        service_blocks(blocks, one, ok, false);
    }
}

/// One service: what was deployed, its timeline, and after a failure why.
fn service_blocks(blocks: &mut Vec<Block>, one: &DeployReport, ok: bool, show_image: bool) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#### Service {}: {}\n",
        inline(&one.service),
        inline(&outcome(one, ok))
    );
    item(&mut out, "Cluster", &inline(&one.cluster));
    if show_image {
        if let Some(image) = &one.image {
            item(&mut out, "Image", &code(image));
        }
    }
    if !one.task_definition_arn.is_empty() {
        item(
            &mut out,
            "Task definition",
            &code(short_arn(&one.task_definition_arn)),
        );
    }
    if !one.previous_task_definition_arn.is_empty() {
        item(
            &mut out,
            "Before",
            &code(short_arn(&one.previous_task_definition_arn)),
        );
    }
    if !one.deployment_id.is_empty() {
        item(&mut out, "Deployment", &code(&one.deployment_id));
    }
    if let Some(by) = &one.superseded_by {
        item(&mut out, "Superseded by", &code(by));
    }
    out.push('\n');
    if let Some(timeline) = &one.timeline {
        out.push_str(&timeline_section(timeline));
    }
    if let Some(failure) = &one.failure {
        let _ = writeln!(out, "**Failure:** {}\n", inline(failure));
    }
    if !one.last_events.is_empty() {
        out.push_str("Last service events, oldest first:\n\n");
        let events: Vec<&str> = one.last_events.iter().rev().map(String::as_str).collect();
        out.push_str(&fenced(&lines_text(&events)));
    }
    blocks.push(Block::Markdown(out));
    if let Some(diagnosis) = one.diagnosis.as_ref().filter(|d| !d.is_empty()) {
        blocks.push(Block::Markdown(
            "Why it failed (stopped tasks, their last log lines, the load balancer's health):\n\n"
                .to_string(),
        ));
        blocks.push(Block::Diagnosis(lines_text(&diagnosis.lines())));
    }
}

/// The timeline as a table: `| Stage | At | Took | Detail |`, `not known`
/// where a figure could not be read, then the total.
fn timeline_section(timeline: &Timeline) -> String {
    let known = |s: Option<f64>| s.map_or_else(|| "not known".to_string(), seconds_text);
    let rows: Vec<Vec<String>> = timeline
        .stages
        .iter()
        .map(|s| {
            vec![
                s.name.clone(),
                at_text(s),
                match s.name.as_str() {
                    // Points in time, not spans.
                    "registered" | "done" => String::new(),
                    _ => known(s.seconds),
                },
                s.detail.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let mut out = String::from("Timeline, on ECS's clock:\n\n");
    out.push_str(&table(&["Stage", "At", "Took", "Detail"], &rows));
    let _ = writeln!(
        out,
        "Total, from the service update: **{}**",
        known(timeline.total_seconds)
    );
    if let Some(startup) = timeline.startup_seconds {
        let _ = writeln!(
            out,
            "\nApp start-up (started to healthy): {}",
            seconds_text(startup)
        );
    }
    if !timeline.pulls.is_empty() {
        let pulls: Vec<String> = timeline
            .pulls
            .iter()
            .map(|p| format!("{} {}", p.task, seconds_text(p.seconds)))
            .collect();
        let _ = writeln!(
            out,
            "\nImage pull per task, slowest first: {}",
            inline(&pulls.join(", "))
        );
    }
    out.push('\n');
    out
}

/// `+42s (10:20:30Z)`: after the service update, and the time of day;
/// `before` for what preceded it, `not known` where neither was read.
fn at_text(stage: &hoist::ecs::Stage) -> String {
    let mut text = match (stage.offset_seconds, &stage.at) {
        (Some(offset), _) => format!("+{}", seconds_text(offset)),
        (None, Some(_)) => "before".to_string(),
        (None, None) => "not known".to_string(),
    };
    if let Some(at) = &stage.at {
        let time = at.split_once('T').map_or(at.as_str(), |(_, time)| time);
        let _ = write!(text, " ({time})");
    }
    text
}

/// The blocks as Markdown, in at most `limit` bytes when cutting the
/// diagnoses can make it so; a cut is said in one line under the heading.
fn finish(blocks: Vec<Block>, limit: usize) -> String {
    let whole = join(&blocks);
    let sizes: Vec<usize> = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Diagnosis(text) => Some(text.len()),
            Block::Markdown(_) => None,
        })
        .collect();
    let diagnosed: usize = sizes.iter().sum();
    if whole.len() <= limit || diagnosed == 0 {
        return whole;
    }
    // Everything but the diagnoses' own text, with room for the note and
    // each marker; the rest is shared by the diagnoses, by their size.
    let fixed = whole.len() - diagnosed + NOTE_ROOM + MARKER_ROOM * sizes.len();
    let room = limit.saturating_sub(fixed);
    let mut cut = 0;
    let mut blocks: Vec<Block> = blocks
        .into_iter()
        .map(|block| match block {
            Block::Diagnosis(text) => {
                let keep = (room as u128 * text.len() as u128 / diagnosed as u128) as usize;
                let (kept, dropped) = cut_middle(&text, keep);
                cut += dropped;
                Block::Diagnosis(kept)
            }
            markdown => markdown,
        })
        .collect();
    blocks.insert(
        1,
        Block::Markdown(format!(
            "**Note:** the diagnosis was cut: {cut} bytes; a job summary holds 1 MiB per step.\n\n"
        )),
    );
    join(&blocks)
}

/// The blocks one after the other, each diagnosis in a fenced block,
/// ended by one newline.
fn join(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Markdown(text) => out.push_str(text),
            Block::Diagnosis(text) => out.push_str(&fenced(text)),
        }
    }
    out.truncate(out.trim_end_matches('\n').len());
    out.push('\n');
    out
}

/// `text` in at most `keep` bytes plus a marker line: its first and last
/// lines (a line longer than that cut within itself), and between them
/// `[… N bytes cut …]`; with how many bytes were dropped.
fn cut_middle(text: &str, keep: usize) -> (String, usize) {
    if text.len() <= keep {
        return (text.to_string(), 0);
    }
    let mut head_end = floor_boundary(text, keep / 2);
    if let Some(newline) = text[..head_end].rfind('\n') {
        head_end = newline + 1;
    }
    let mut tail_start = ceil_boundary(text, text.len() - (keep - keep / 2));
    if tail_start > 0 && text.as_bytes()[tail_start - 1] != b'\n' {
        if let Some(newline) = text[tail_start..].find('\n') {
            if tail_start + newline + 1 < text.len() {
                tail_start += newline + 1;
            }
        }
    }
    let (head, tail) = (&text[..head_end], &text[tail_start..]);
    let dropped = text.len() - head.len() - tail.len();
    let mut out = String::with_capacity(head.len() + tail.len() + MARKER_ROOM);
    out.push_str(head);
    if !head.is_empty() && !head.ends_with('\n') {
        out.push('\n');
    }
    let _ = writeln!(out, "[… {dropped} bytes cut …]");
    out.push_str(tail);
    (out, dropped)
}

/// The largest char boundary of `text` at or before `at`.
fn floor_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The smallest char boundary of `text` at or after `at`.
fn ceil_boundary(text: &str, mut at: usize) -> usize {
    at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

// --- Markdown ----------------------------------------------------------------

/// Lines, each ended by a newline.
fn lines_text<S: AsRef<str>>(lines: &[S]) -> String {
    let mut out = String::new();
    for line in lines {
        out.push_str(line.as_ref());
        out.push('\n');
    }
    out
}

/// `- **Label:** value`.
fn item(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "- **{label}:** {value}");
}

/// Text as inline Markdown on one line: line breaks become spaces, and the
/// characters that would make markup (or end a table cell) are escaped.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '~' | '&' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// The length of the longest run of backticks in `text`.
fn longest_backtick_run(text: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// Text as a code span on one line (not for table cells: a `|` would end
/// the cell).
fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Each text as a code span, comma-separated; `none` for none.
fn codes(texts: &[String]) -> String {
    if texts.is_empty() {
        return "none".to_string();
    }
    texts.iter().map(|t| code(t)).collect::<Vec<_>>().join(", ")
}

/// A table with `header` and `rows`: each cell escaped, on one line.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| inline(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out.push('\n');
    out
}

/// `text` in a fenced code block whose fence is longer than any run of
/// backticks inside it.
fn fenced(text: &str) -> String {
    let fence = "`".repeat(3.max(longest_backtick_run(text) + 1));
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    format!("{fence}text\n{text}{newline}{fence}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoist::ecs::{ContainerLog, Diagnosis, Stage, StoppedTask};

    fn stage(name: &str, offset: Option<f64>, seconds: Option<f64>) -> Stage {
        Stage {
            name: name.into(),
            at: offset.map(|o| format!("2026-05-01T10:00:{:02}Z", o as u64)),
            offset_seconds: offset,
            seconds,
            detail: None,
        }
    }

    fn failed_deploy(log_lines: Vec<String>) -> DeployReport {
        DeployReport {
            cluster: "plog-cluster".into(),
            service: "plog-api".into(),
            outcome: "failed".into(),
            image: Some("registry.example/plog-back@sha256:abc".into()),
            task_definition_arn: "arn:aws:ecs:r:1:task-definition/plog-api:3".into(),
            previous_task_definition_arn: "arn:aws:ecs:r:1:task-definition/plog-api:2".into(),
            revision: 3,
            failure: Some("the circuit breaker tripped | 3 failed tasks".into()),
            last_events: vec!["newest event".into(), "oldest event".into()],
            diagnosis: Some(Diagnosis {
                stopped_tasks: vec![StoppedTask {
                    task_arn: "arn:aws:ecs:r:1:task/plog-cluster/abc123".into(),
                    task_definition_arn: "arn:aws:ecs:r:1:task-definition/plog-api:3".into(),
                    stopped_reason: "Essential container in task exited".into(),
                    logs: vec![ContainerLog {
                        container: "plog-back".into(),
                        source: "awslogs /ecs/plog-api".into(),
                        lines: log_lines,
                        note: None,
                    }],
                    ..Default::default()
                }],
                hints: vec!["the app exited: read its last log lines".into()],
                ..Default::default()
            }),
            timeline: Some(Timeline {
                stages: vec![
                    stage("registered", None, None),
                    stage("service updated", Some(0.0), Some(1.0)),
                    stage("image pull", Some(9.0), Some(7.0)),
                    stage("healthy", None, None),
                    stage("done", Some(30.0), None),
                ],
                total_seconds: None,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn cells_escape_pipes_and_never_hold_a_line_break() {
        let out = table(
            &["A", "B"],
            &[vec!["x | y".into(), "one\nand\r\ntwo".into()]],
        );
        let row = out.lines().nth(2).unwrap();
        assert_eq!(row, r"| x \| y | one and  two |");
        assert_eq!(out.trim_end().lines().count(), 3);
        assert_eq!(inline("a*b_c`d"), r"a\*b\_c\`d");
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_inside() {
        let block = fenced("plain\n````` five\n");
        assert!(block.starts_with("``````text\n"), "{block}");
        assert!(block.ends_with("\n``````\n\n"), "{block}");
        assert!(fenced("no ticks").starts_with("```text\nno ticks\n```\n"));
        assert_eq!(code("a ` b"), "``a ` b``");
        assert_eq!(code("`x"), "`` `x ``");
    }

    #[test]
    fn a_failed_deploy_has_its_heading_timeline_failure_and_diagnosis() {
        let crash = "Caused by: java.net.UnknownHostException: db.plog.internal";
        let report = failed_deploy(vec!["Starting".into(), "```".into(), crash.into()]);
        let out = deploy_markdown("deploy", &report, false, LIMIT);
        assert!(
            out.starts_with("### hoist deploy plog-api: failed\n"),
            "{out}"
        );
        assert!(out.contains("| Stage | At | Took | Detail |\n"), "{out}");
        assert!(out.contains("| registered | not known |  |  |\n"), "{out}");
        assert!(
            out.contains("| image pull | +9s (10:00:09Z) | 7s |  |\n"),
            "{out}"
        );
        assert!(
            out.contains("| healthy | not known | not known |  |\n"),
            "{out}"
        );
        assert!(out.contains("Total, from the service update: **not known**"));
        assert!(!out.contains("| 0s"), "{out}");
        assert!(out.contains(r"**Failure:** the circuit breaker tripped \| 3 failed tasks"));
        assert!(out.contains("oldest event\nnewest event\n"), "{out}");
        // The log line with three backticks sits inside a longer fence.
        assert!(out.contains("````text\ntask   abc123"), "{out}");
        assert!(out.contains(&format!("log    | {crash}\n")), "{out}");
        assert!(!out.contains("was cut"), "{out}");
    }

    #[test]
    fn a_summary_past_one_mib_cuts_the_diagnosis_and_says_so() {
        let line = "x".repeat(999);
        let mut lines: Vec<String> = (0..3300).map(|i| format!("{i:05} {line}")).collect();
        lines.push("the crash line".into());
        let report = failed_deploy(lines);
        let whole = deploy_markdown("deploy", &report, false, usize::MAX);
        assert!(whole.len() > 3 * LIMIT, "{}", whole.len());
        let out = deploy_markdown("deploy", &report, false, LIMIT);
        assert!(out.len() <= LIMIT, "{}", out.len());
        assert!(out.len() > LIMIT - 4096, "uses the room: {}", out.len());
        let note = out
            .lines()
            .find(|l| l.contains("the diagnosis was cut: "))
            .unwrap_or_else(|| panic!("no note"));
        let cut: usize = note
            .split("cut: ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(cut > 2 * LIMIT, "{note}");
        assert!(
            note.ends_with("a job summary holds 1 MiB per step."),
            "{note}"
        );
        assert!(out.contains(&format!("[… {cut} bytes cut …]\n")), "{out}");
        // Its first and last lines are kept, whole, and the rest is intact.
        assert!(out.contains("log    | 00000 x"), "head kept");
        assert!(
            out.contains("log    | the crash line\nhint   "),
            "tail kept"
        );
        assert!(out.contains("| Stage | At | Took | Detail |"));
        assert!(out.trim_end().ends_with("```"), "the fence is closed");
        // What stays of the room an earlier step left.
        let small = deploy_markdown("deploy", &report, false, 200_000);
        assert!(small.len() <= 200_000, "{}", small.len());
    }

    #[test]
    fn one_huge_line_is_cut_within_itself() {
        let text = format!("{}\n", "é".repeat(100_000));
        let (kept, dropped) = cut_middle(&text, 1000);
        assert!(kept.len() <= 1000 + MARKER_ROOM, "{}", kept.len());
        assert!(kept.starts_with("éé") && kept.ends_with("éé\n"), "{kept}");
        assert_eq!(
            kept.lines().nth(1),
            Some(format!("[… {dropped} bytes cut …]").as_str())
        );
        assert!(text.len() - dropped <= 1000, "{dropped}");
    }

    #[test]
    fn appending_keeps_what_the_file_held_and_counts_it_against_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "an earlier step").unwrap();
        let mut room = 0;
        append_at(&path, |r| {
            room = r;
            "### hoist\n".to_string()
        })
        .unwrap();
        assert_eq!(room, LIMIT - "an earlier step".len() - 2);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "an earlier step\n\n### hoist\n"
        );
        append_at(&path, |_| "again\n".to_string()).unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .ends_with("### hoist\n\nagain\n"));
        // A directory is no file to append to.
        assert!(append_at(dir.path(), |_| String::new()).is_err());
    }
}
