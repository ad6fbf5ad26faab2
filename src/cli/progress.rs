//! Drawing progress for the library's reporters: push bars on a terminal
//! (indicatif) or one line per blob elsewhere (CI logs), and a rollout's
//! events and counts. Everything goes to stderr; stdout carries results.
//! `-q` silences all of it (errors and warnings still show); `-v` adds
//! detail (see [`Verbosity`]).

use hoist::ecs::{DeploymentView, RolloutProgress, ServiceEvent};
use hoist::registry::{BlobOutcome, PushProgress};
use hoist::Digest;
use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};

/// How much goes to stderr besides errors and warnings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: nothing but errors and warnings.
    Quiet,
    /// Progress, events and one summary line.
    Normal,
    /// `-v`: also the layers built and the deployments followed.
    Verbose,
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

/// Sets this process's verbosity (once, from the global flags).
pub fn set_verbosity(verbosity: Verbosity) {
    let _ = VERBOSITY.set(verbosity);
}

/// This process's verbosity.
pub fn verbosity() -> Verbosity {
    VERBOSITY.get().copied().unwrap_or(Verbosity::Normal)
}

/// Prints a progress line on stderr unless `-q`.
pub fn say(text: impl std::fmt::Display) {
    if verbosity() > Verbosity::Quiet {
        eprintln!("{text}");
    }
}

/// Prints a detail line on stderr with `-v`.
pub fn detail(text: impl std::fmt::Display) {
    if verbosity() == Verbosity::Verbose {
        eprintln!("{text}");
    }
}

/// Progress nobody draws (`-q`).
struct Silent;
impl PushProgress for Silent {}
impl RolloutProgress for Silent {}

/// The progress drawer for this process: bars on a terminal, lines
/// otherwise, nothing with `-q`.
pub fn for_stderr() -> Box<dyn PushProgress> {
    if verbosity() == Verbosity::Quiet {
        Box::new(Silent)
    } else if std::io::stderr().is_terminal() {
        Box::new(Bars::new())
    } else {
        Box::new(Lines)
    }
}

fn short(digest: &Digest) -> &str {
    &digest.hex()[..12]
}

/// One line per finished blob.
pub struct Lines;

impl PushProgress for Lines {
    fn blob_finished(&self, digest: &Digest, size: u64, outcome: BlobOutcome) {
        let what = match outcome {
            BlobOutcome::Uploaded => "uploaded",
            BlobOutcome::Mounted => "mounted",
            BlobOutcome::Present => "already there",
        };
        eprintln!(
            "blob {} {:>10}  {what}",
            short(digest),
            HumanBytes(size).to_string()
        );
    }
}

/// A bar per blob in flight and one for the total.
pub struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    bars: Mutex<HashMap<Digest, ProgressBar>>,
}

impl Bars {
    fn new() -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let total = multi.add(ProgressBar::new(0));
        total.set_style(
            ProgressStyle::with_template(
                "total {bytes:>10}/{total_bytes:<10} {wide_bar} {binary_bytes_per_sec}",
            )
            .expect("a valid template"),
        );
        Self {
            multi,
            total,
            bars: Mutex::new(HashMap::new()),
        }
    }
}

impl PushProgress for Bars {
    fn blob_started(&self, digest: &Digest, size: u64) {
        let bar = self
            .multi
            .insert_before(&self.total, ProgressBar::new(size));
        bar.set_style(
            ProgressStyle::with_template("{prefix} {bytes:>10}/{total_bytes:<10} {bar:30} {msg}")
                .expect("a valid template"),
        );
        bar.set_prefix(short(digest).to_string());
        self.total.inc_length(size);
        self.bars
            .lock()
            .expect("bars lock")
            .insert(digest.clone(), bar);
    }

    fn blob_bytes(&self, digest: &Digest, bytes: u64) {
        if let Some(bar) = self.bars.lock().expect("bars lock").get(digest) {
            bar.inc(bytes);
        }
        self.total.inc(bytes);
    }

    fn blob_finished(&self, digest: &Digest, size: u64, outcome: BlobOutcome) {
        if let Some(bar) = self.bars.lock().expect("bars lock").remove(digest) {
            let sent = bar.position();
            bar.finish_and_clear();
            if outcome != BlobOutcome::Uploaded {
                self.total.inc(size.saturating_sub(sent));
            }
        }
        let _ = self.multi.println(format!(
            "blob {} {:>10}  {}",
            short(digest),
            HumanBytes(size).to_string(),
            match outcome {
                BlobOutcome::Uploaded => "uploaded",
                BlobOutcome::Mounted => "mounted",
                BlobOutcome::Present => "already there",
            }
        ));
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.total.finish_and_clear();
    }
}

/// Draws a rollout: service events and step lines as they come, the primary
/// deployment's counts on a spinner (terminal) or as lines (CI); nothing
/// with `-q`.
pub struct RolloutDrawer {
    spinner: Option<ProgressBar>,
    quiet: bool,
    /// Per service of a release: its last counts, shown together.
    services: Mutex<std::collections::BTreeMap<String, String>>,
}

impl RolloutDrawer {
    /// A drawer for stderr.
    pub fn for_stderr() -> Self {
        let quiet = verbosity() == Verbosity::Quiet;
        let spinner = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Self {
            spinner,
            quiet,
            services: Mutex::new(std::collections::BTreeMap::new()),
        }
    }

    fn line(&self, text: String) {
        match &self.spinner {
            Some(bar) => bar.println(text),
            None if self.quiet => {}
            None => eprintln!("{text}"),
        }
    }
}

impl RolloutProgress for RolloutDrawer {
    fn event(&self, event: &ServiceEvent) {
        self.line(format!("event {}  {}", event.created_at, event.message));
    }

    fn service_counts(&self, service: &str, deployment: &DeploymentView) {
        let text = counts_text(deployment);
        match &self.spinner {
            // One live line for every service of the release.
            Some(bar) => {
                let mut services = self.services.lock().expect("services lock");
                services.insert(service.to_string(), text);
                let line: Vec<String> =
                    services.iter().map(|(s, t)| format!("[{s}] {t}")).collect();
                bar.set_message(line.join("  |  "));
            }
            None => self.line(format!("[{service}] {text}")),
        }
    }

    fn counts(&self, primary: &DeploymentView) {
        let text = counts_text(primary);
        match &self.spinner {
            Some(bar) => bar.set_message(text),
            None => self.line(text),
        }
    }

    fn step(&self, message: &str) {
        self.line(format!("==> {message}"));
    }
}

/// `plog-api:8: 1/2 running, 1 pending, rollout IN_PROGRESS`.
fn counts_text(primary: &DeploymentView) -> String {
    format!(
        "{}: {}/{} running, {} pending{}",
        hoist::ecs::short_arn(&primary.task_definition),
        primary.running,
        primary.desired,
        primary.pending,
        primary
            .rollout_state
            .as_deref()
            .map(|s| format!(", rollout {s}"))
            .unwrap_or_default()
    )
}

impl Drop for RolloutDrawer {
    fn drop(&mut self) {
        if let Some(bar) = &self.spinner {
            bar.finish_and_clear();
        }
    }
}
