//! Running the real `hoist` binary: a small builder with assertions.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

/// A `hoist` invocation.
pub struct Hoist {
    command: Command,
    shown: String,
}

/// One layer cache per test process, away from the user's own.
pub fn test_cache_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("creating a cache dir"))
        .path()
}

/// Starts a `hoist` invocation (with the test process's layer cache).
pub fn hoist() -> Hoist {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hoist"));
    command.env_remove("SOURCE_DATE_EPOCH");
    command.env("HOIST_CACHE_DIR", test_cache_dir());
    Hoist {
        command,
        shown: "hoist".into(),
    }
}

impl Hoist {
    /// Adds arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self.shown.push(' ');
            self.shown.push_str(&arg.as_ref().to_string_lossy());
            self.command.arg(arg);
        }
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.command.env_remove(key);
        self
    }

    /// Runs in `dir`.
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.command.current_dir(dir);
        self
    }

    /// How it is shown, and the command itself (to spawn it).
    pub fn into_command(self) -> (String, Command) {
        (self.shown, self.command)
    }

    /// Runs and returns the output, whatever the exit status.
    pub fn output(mut self) -> (String, Output) {
        let output = self.command.output().expect("running hoist");
        (self.shown, output)
    }

    /// Runs, asserts success, returns stdout.
    #[track_caller]
    pub fn success(self) -> String {
        let (shown, output) = self.output();
        assert!(
            output.status.success(),
            "{shown} failed ({:?}):\n{}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("stdout is UTF-8")
    }

    /// Runs with `--metadata-file`, asserts success, returns the parsed report.
    #[track_caller]
    pub fn report(self) -> serde_json::Value {
        let dir = tempfile::tempdir().expect("a temp dir for the report");
        let meta = dir.path().join("report.json");
        self.args([std::ffi::OsStr::new("--metadata-file"), meta.as_os_str()])
            .success();
        serde_json::from_slice(&std::fs::read(&meta).expect("hoist wrote the report"))
            .expect("the report is JSON")
    }

    /// Runs with `--metadata-file`, asserts exit `code`, returns stderr and
    /// the parsed report.
    #[track_caller]
    pub fn failure_report(self, code: i32) -> (String, serde_json::Value) {
        let dir = tempfile::tempdir().expect("a temp dir for the report");
        let meta = dir.path().join("report.json");
        let stderr = self
            .args([std::ffi::OsStr::new("--metadata-file"), meta.as_os_str()])
            .failure(code);
        let report = serde_json::from_slice(&std::fs::read(&meta).expect("hoist wrote the report"))
            .expect("the report is JSON");
        (stderr, report)
    }

    /// Runs, asserts exit `code`, returns stderr.
    #[track_caller]
    pub fn failure(self, code: i32) -> String {
        let (shown, output) = self.output();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(
            output.status.code(),
            Some(code),
            "{shown}: stderr:\n{stderr}"
        );
        stderr
    }
}

/// Runs a command, asserts success and returns stdout; says what to install
/// when the program is missing.
#[track_caller]
pub fn run_tool(program: &str, args: &[&str], install_hint: &str) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); install it: {install_hint}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
