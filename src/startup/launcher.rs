//! Running the base image's own `java` from outside the image: through the
//! image's dynamic loader, with the image's library directories, in the
//! image's working directory, with the image's environment only.
//!
//! The rule: hoist always runs the JVM this way, never in a chroot or a user
//! namespace. It needs no privilege and works wherever the host kernel runs
//! the image's architecture. It is exact where it matters to the archive: the
//! JVM, its libraries and glibc are the image's files, and the class path is
//! given relative to the working directory, as the image's own
//! `java -jar /app/app.jar` resolves it. The JVM finds its home from its own
//! library (not from `/proc/self/exe`, which is the loader here), so it is
//! the image's JDK that runs. The one thing taken from the host is the
//! kernel, which a container shares with its host anyway.

use anyhow::{Context, Result};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Lines of a run's output kept for errors.
const TAIL_LINES: usize = 40;
/// How often a running JVM is checked for exit.
const POLL: Duration = Duration::from_millis(50);

/// How to start the image's `java` on this host.
#[derive(Clone, Debug)]
pub(crate) struct Launcher {
    /// The image's dynamic loader, on the host (`None`: a static `java`).
    pub loader: Option<PathBuf>,
    /// Its library directories, on the host, `:`-separated.
    pub library_path: String,
    /// `bin/java`, on the host.
    pub java: PathBuf,
    /// The working directory, on the host.
    pub dir: PathBuf,
    /// The whole environment of the run.
    pub env: Vec<(String, String)>,
}

/// How a run ended.
#[derive(Debug)]
pub(crate) struct RunOutcome {
    /// The exit code; `None` when it was killed (timed out, or a signal).
    pub code: Option<i32>,
    /// True when it ran past its time and was killed.
    pub timed_out: bool,
    /// Its last lines of output (stdout and stderr together).
    pub tail: Vec<String>,
    /// The whole output, kept in a file.
    pub log: PathBuf,
}

impl RunOutcome {
    /// True when it exited with 0.
    pub(crate) fn succeeded(&self) -> bool {
        self.code == Some(0)
    }

    /// True when a line of its output contains `needle`.
    pub(crate) fn said(&self, needle: &str) -> bool {
        std::fs::File::open(&self.log)
            .map(|f| {
                BufReader::new(f)
                    .lines()
                    .map_while(Result::ok)
                    .any(|l| l.contains(needle))
            })
            .unwrap_or(false)
    }
}

impl Launcher {
    /// Runs `java ARGS…`, killed after `timeout`; its output goes to `log`.
    pub(crate) fn run(&self, args: &[String], timeout: Duration, log: &Path) -> Result<RunOutcome> {
        let out =
            std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let mut command = match &self.loader {
            Some(loader) => {
                let mut c = Command::new(loader);
                c.arg("--library-path").arg(&self.library_path);
                c.arg(&self.java);
                c
            }
            None => Command::new(&self.java),
        };
        command
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let started = Instant::now();
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", self.java.display()))?;
        let deadline = started + timeout;
        let mut timed_out = false;
        // Bounded: ends at the deadline at the latest.
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if Instant::now() >= deadline {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(POLL);
        };
        Ok(RunOutcome {
            code: status.and_then(|s| s.code()),
            timed_out,
            tail: last_lines(log, TAIL_LINES),
            log: log.to_path_buf(),
        })
    }
}

/// The last `count` lines of the file at `path`.
fn last_lines(path: &Path, count: usize) -> Vec<String> {
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut tail = VecDeque::with_capacity(count);
    for line in BufReader::new(file).lines().map_while(Result::ok) {
        if tail.len() == count {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    tail.into()
}
