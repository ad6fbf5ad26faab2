//! A real container runtime for the tests: Debian's `containerd` (with
//! `runc`), started as root with its own config, root, state and socket in a
//! temp dir, and driven with `ctr`. It owns the daemon, that temp dir, one
//! containerd namespace of its own (so several instances can run side by
//! side: runc's state under `/run/containerd/runc/NS` and the cgroups
//! `/NS/NAME` are per namespace) and every container started in it.
//!
//! * [`Containerd::start`] starts the daemon (CRI disabled, the overlayfs
//!   snapshotter when the temp dir can do overlay, `native` otherwise;
//!   `HOIST_TEST_SNAPSHOTTER` forces one) and waits for it to answer.
//! * [`Containerd::pull`] pulls over plain HTTP (`ctr images pull
//!   --plain-http`), [`Containerd::pull_platform`] one platform of an index,
//!   [`Containerd::try_pull`] with any flags and without panicking.
//! * [`Containerd::run`] / [`Containerd::run_with`] start a container with
//!   the host's network (`ctr run --rm --net-host`) as a child `ctr` process
//!   whose stdout and stderr go to files ([`RunningContainer::stdout`],
//!   [`RunningContainer::stderr`], [`RunningContainer::logs`]); `ctr`'s exit
//!   code is the container's ([`RunningContainer::wait_exit`]; 137 after
//!   SIGKILL). The container sees its own cgroup at `/sys/fs/cgroup`
//!   (read-only), so a JVM sees `memory_limit` and `cpus`.
//! * [`wait_http`] polls `http://127.0.0.1:PORT/PATH` with a plain TCP
//!   stream; [`RunningContainer::expect_http`] does so and fails with the
//!   container's output when nothing answers or the container exits.
//!
//! Dropping a [`RunningContainer`] kills its task (SIGKILL) and deletes it;
//! dropping the [`Containerd`] kills and deletes whatever is left, stops the
//! daemon (SIGTERM, then SIGKILL), kills stray shims of this daemon, lazily
//! unmounts anything still mounted under the temp dir and removes the
//! namespace's empty cgroups and runc state directory.
//!
//! Images for it need no Docker Hub: [`busybox_rootfs`] is a tree with the
//! static busybox (`busybox httpd -f -p PORT -h /www` serves
//! `/www/index.html`), and [`JvmBase`] a Java runtime (JDK 17 jlink'ed,
//! or the machine's Temurin 25) with its default CDS archive plus the few
//! glibc libraries it links, both for `hoist build --from scratch
//! --layer-dir`. Images built `--from scratch` without `--jar` have no
//! entrypoint: pass the command as `args`.
//!
//! Needs root, and `apt-get install containerd` (brings `runc`); the trees
//! need `busybox-static` and `openjdk-17-jdk-headless` (and
//! `temurin-25-jdk` for [`JvmBase::temurin25`]). A missing piece fails the
//! test with what to install.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const INSTALL: &str = "apt-get install containerd (it brings runc and ctr)";

/// How long the daemon may take to answer after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one pull may take.
const PULL_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a `ctr` housekeeping command (kill, delete, list) may take.
const CTR_TIMEOUT: Duration = Duration::from_secs(30);

/// Directories the daemon, its shims and runc are looked up in, besides `PATH`
/// (runc is in `/usr/sbin`, which a user's `PATH` may lack).
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

pub use crate::support::registry::free_port;

/// A running containerd; stopped, and everything it started removed, when
/// dropped (so keep it in the test, not in a `static`, which is never
/// dropped).
pub struct Containerd {
    child: Child,
    dir: tempfile::TempDir,
    socket: PathBuf,
    namespace: String,
    snapshotter: String,
}

/// What [`Containerd::run_with`] starts a container with. `Default` is no
/// environment, the image's own entrypoint and Cmd, no limits, the host's
/// platform.
#[derive(Default, Clone, Copy)]
pub struct RunOptions<'a> {
    /// Environment variables, after the image's own.
    pub env: &'a [(&'a str, &'a str)],
    /// The whole command line, replacing the image's entrypoint *and* Cmd
    /// (`ctr run IMAGE NAME ARGS...`); `None` runs the image's own.
    pub args: Option<&'a [&'a str]>,
    /// Memory limit in bytes (`--memory-limit`).
    pub memory_limit: Option<u64>,
    /// CPU quota in CPUs (`--cpus`).
    pub cpus: Option<f64>,
    /// The platform of an index to run (`--platform`), e.g. `linux/amd64`.
    pub platform: Option<&'a str>,
    /// Working directory, instead of the image's (`--cwd`).
    pub cwd: Option<&'a str>,
}

/// A container started by [`Containerd::run`]; killed and deleted when
/// dropped.
pub struct RunningContainer<'a> {
    containerd: &'a Containerd,
    name: String,
    ctr: Child,
    status: Option<ExitStatus>,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Containerd {
    /// Starts containerd in a fresh temp dir and waits (at most 20 s) until
    /// `ctr version` gets an answer from it.
    #[track_caller]
    pub fn start() -> Self {
        require_root();
        for program in ["containerd", "ctr", "containerd-shim-runc-v2", "runc"] {
            if find_program(program).is_none() {
                panic!("`{program}` is not installed (looked in PATH and {SYSTEM_PATH}); install it: {INSTALL}");
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("hoist-ctrd-")
            .tempdir()
            .expect("creating containerd's temp dir");
        let socket = dir.path().join("containerd.sock");
        // sun_path is 108 bytes, the ttrpc socket's name is 6 longer.
        assert!(
            socket.as_os_str().len() + 6 < 108,
            "containerd's socket path {} is too long for a unix socket; point TMPDIR at a shorter directory",
            socket.display()
        );
        static SEQUENCE: AtomicUsize = AtomicUsize::new(0);
        let namespace = format!(
            "hoist-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::SeqCst)
        );
        let path = |name: &str| dir.path().join(name).display().to_string();
        let config = format!(
            r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{socket}"

[ttrpc]
  address = "{socket}.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
"#,
            root = path("root"),
            state = path("state"),
            socket = socket.display(),
            opt = path("opt"),
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let log = std::fs::File::create(dir.path().join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(dir.path().join("config.toml"))
            .env("PATH", search_path())
            .env("TMPDIR", dir.path().join("tmp"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start containerd ({e}); install it: {INSTALL}"));
        let mut containerd = Self {
            child,
            dir,
            socket,
            namespace,
            snapshotter: String::new(),
        };
        containerd.wait_until_answering();
        containerd.snapshotter = containerd.pick_snapshotter();
        containerd
    }

    #[track_caller]
    fn wait_until_answering(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "containerd exited ({status}) before answering on {}; its log:\n{}",
                    self.socket.display(),
                    self.log_tail(40)
                );
            }
            if self.socket.exists() {
                match self.try_ctr(&["version"], Duration::from_secs(5)) {
                    Ok(_) => return,
                    Err(e) => last = e,
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "containerd did not answer `ctr version` on {} within {START_TIMEOUT:?} (last answer: {}); its log:\n{}",
            self.socket.display(),
            if last.is_empty() { "the socket never appeared" } else { last.trim() },
            self.log_tail(40)
        );
    }

    /// overlayfs when an overlay with an upper dir mounts in the temp dir
    /// and the daemon's overlayfs plugin loaded, `native` otherwise. (The
    /// plugin's own check mounts an overlay without an upper dir, which
    /// passes on an overlay-backed temp dir where the containers' overlays
    /// then fail with EINVAL.)
    fn pick_snapshotter(&self) -> String {
        if let Ok(chosen) = std::env::var("HOIST_TEST_SNAPSHOTTER") {
            if !chosen.is_empty() {
                return chosen;
            }
        }
        if !overlay_mounts_in(&self.dir.path().join("overlay-probe")) {
            return "native".into();
        }
        let plugins = self
            .try_ctr(&["plugins", "ls"], CTR_TIMEOUT)
            .unwrap_or_else(|e| panic!("`ctr plugins ls` failed: {e}"));
        let loaded = |id: &str| {
            plugins.lines().any(|line| {
                let words: Vec<&str> = line.split_whitespace().collect();
                words.first() == Some(&"io.containerd.snapshotter.v1")
                    && words.get(1) == Some(&id)
                    && words.last() == Some(&"ok")
            })
        };
        if loaded("overlayfs") {
            "overlayfs".into()
        } else if loaded("native") {
            "native".into()
        } else {
            panic!(
                "containerd loaded neither the overlayfs nor the native snapshotter:\n{plugins}\nits log:\n{}",
                self.log_tail(40)
            )
        }
    }

    /// The daemon's socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The containerd namespace everything of this instance lives in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The snapshotter pulls and containers use: `overlayfs` or `native`.
    pub fn snapshotter(&self) -> &str {
        &self.snapshotter
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    /// The last `lines` lines of the daemon's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// `ctr --address SOCK --namespace NS` with `CONTAINERD_*` variables
    /// from the environment removed.
    pub fn ctr_command(&self) -> Command {
        let mut command = Command::new("ctr");
        command
            .arg("--address")
            .arg(&self.socket)
            .arg("--namespace")
            .arg(&self.namespace)
            .env_remove("CONTAINERD_ADDRESS")
            .env_remove("CONTAINERD_NAMESPACE")
            .env_remove("CONTAINERD_SNAPSHOTTER")
            .env("PATH", search_path())
            // ctr mounts snapshots in TMPDIR to read /etc/passwd and /etc/group.
            .env("TMPDIR", self.dir.path().join("tmp"))
            .stdin(Stdio::null());
        command
    }

    /// Runs `ctr ARGS` against this daemon (at most `timeout`): its stdout
    /// when it succeeds, else what it printed and how it ended.
    pub fn try_ctr(&self, args: &[&str], timeout: Duration) -> Result<String, String> {
        let mut command = self.ctr_command();
        command.args(args);
        let shown = format!("ctr {}", args.join(" "));
        match run_bounded(&mut command, timeout) {
            Ok((status, stdout, _)) if status.success() => Ok(stdout),
            Ok((status, stdout, stderr)) => {
                Err(format!("{shown} failed ({status}):\n{stdout}{stderr}"))
            }
            Err(e) => Err(format!("{shown}: {e}")),
        }
    }

    /// Runs `ctr ARGS` (at most 30 s) and returns its stdout; panics with
    /// its output and the daemon's log when it fails.
    #[track_caller]
    pub fn ctr(&self, args: &[&str]) -> String {
        self.try_ctr(args, CTR_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}\ncontainerd's log:\n{}", self.log_tail(30)))
    }

    /// `ctr images pull --snapshotter S FLAGS IMAGE` (at most 3 minutes),
    /// unpacked for the snapshotter; `Ok(ctr's output)` or `Err(what went
    /// wrong)`. An HTTP registry needs `--plain-http` among the flags.
    pub fn try_pull(&self, image: &str, flags: &[&str]) -> Result<String, String> {
        let mut args = vec!["images", "pull", "--snapshotter", &self.snapshotter];
        args.extend_from_slice(flags);
        args.push(image);
        self.try_ctr(&args, PULL_TIMEOUT)
    }

    /// Pulls `image` (`HOST:PORT/REPO:TAG`) from a plain-HTTP registry;
    /// panics with ctr's output and the daemon's log when that fails.
    #[track_caller]
    pub fn pull(&self, image: &str) -> String {
        self.try_pull(image, &["--plain-http"]).unwrap_or_else(|e| {
            panic!(
                "pulling {image}: {e}\ncontainerd's log:\n{}",
                self.log_tail(30)
            )
        })
    }

    /// Pulls the `platform` (`linux/amd64`) image of an index from a
    /// plain-HTTP registry; panics as [`Containerd::pull`] does.
    #[track_caller]
    pub fn pull_platform(&self, image: &str, platform: &str) -> String {
        self.try_pull(image, &["--plain-http", "--platform", platform])
            .unwrap_or_else(|e| {
                panic!(
                    "pulling {image} for {platform}: {e}\ncontainerd's log:\n{}",
                    self.log_tail(30)
                )
            })
    }

    /// Starts a container `name` of the pulled `image` with the host's
    /// network and `env`; `args` replaces the image's entrypoint and Cmd.
    #[track_caller]
    pub fn run(
        &self,
        image: &str,
        name: &str,
        env: &[(&str, &str)],
        args: Option<&[&str]>,
    ) -> RunningContainer<'_> {
        self.run_with(
            image,
            name,
            &RunOptions {
                env,
                args,
                ..RunOptions::default()
            },
        )
    }

    /// Starts a container `name` of the pulled `image` with the host's
    /// network (`ctr run --rm --net-host`), as `options` say. It runs
    /// until it exits or is dropped.
    #[track_caller]
    pub fn run_with(&self, image: &str, name: &str, options: &RunOptions) -> RunningContainer<'_> {
        let stdout = self.dir.path().join(format!("{name}.stdout"));
        let stderr = self.dir.path().join(format!("{name}.stderr"));
        let mut command = self.ctr_command();
        command
            .args([
                "run",
                "--rm",
                "--net-host",
                "--snapshotter",
                &self.snapshotter,
            ])
            // The container's own cgroup, read-only, where a JVM looks for
            // its limits (ctr, unlike CRI, mounts no cgroupfs by default).
            .args([
                "--mount",
                "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev",
            ]);
        if let Some(bytes) = options.memory_limit {
            command.args(["--memory-limit", &bytes.to_string()]);
        }
        if let Some(cpus) = options.cpus {
            command.args(["--cpus", &cpus.to_string()]);
        }
        if let Some(platform) = options.platform {
            command.args(["--platform", platform]);
        }
        if let Some(cwd) = options.cwd {
            command.args(["--cwd", cwd]);
        }
        for (key, value) in options.env {
            command.arg("--env").arg(format!("{key}={value}"));
        }
        command.arg(image).arg(name);
        if let Some(args) = options.args {
            command.args(args);
        }
        let ctr = command
            .stdout(Stdio::from(std::fs::File::create(&stdout).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(&stderr).unwrap()))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run ctr ({e}); install it: {INSTALL}"));
        RunningContainer {
            containerd: self,
            name: name.to_string(),
            ctr,
            status: None,
            stdout,
            stderr,
        }
    }

    /// Names of this instance's tasks (running or stopped containers).
    pub fn tasks(&self) -> Vec<String> {
        self.try_ctr(&["tasks", "ls", "-q"], CTR_TIMEOUT)
            .map(|out| {
                out.lines()
                    .map(str::to_string)
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Names of this instance's containers.
    pub fn containers(&self) -> Vec<String> {
        self.try_ctr(&["containers", "ls", "-q"], CTR_TIMEOUT)
            .map(|out| {
                out.lines()
                    .map(str::to_string)
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Kills task `name` (SIGKILL) and deletes it and its container,
    /// ignoring whatever is already gone.
    fn remove(&self, name: &str) {
        let _ = self.try_ctr(&["tasks", "kill", "--signal", "SIGKILL", name], CTR_TIMEOUT);
        let _ = self.try_ctr(&["tasks", "delete", "--force", name], CTR_TIMEOUT);
        let _ = self.try_ctr(&["containers", "delete", name], CTR_TIMEOUT);
    }

    fn stop_daemon(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Shims this daemon started that are still alive (their command line
    /// names its socket).
    fn stray_shims(&self) -> Vec<u32> {
        let address = self.socket.display().to_string();
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if args
                .first()
                .is_some_and(|a| a.ends_with("containerd-shim-runc-v2"))
                && args.contains(&address)
            {
                pids.push(pid);
            }
        }
        pids
    }

    /// Mount points under the temp dir (snapshots, task root filesystems),
    /// deepest first.
    fn leftover_mounts(&self) -> Vec<String> {
        let root = self.dir.path().display().to_string();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<String> = mountinfo
            .lines()
            .filter_map(|line| line.split(' ').nth(4))
            .map(|point| {
                point
                    .replace("\\040", " ")
                    .replace("\\011", "\t")
                    .replace("\\134", "\\")
            })
            .filter(|point| point == &root || point.starts_with(&format!("{root}/")))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        points
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let mut names = self.tasks();
            for name in self.containers() {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            for name in names {
                self.remove(&name);
            }
        }
        self.stop_daemon();
        for pid in self.stray_shims() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        for point in self.leftover_mounts() {
            let _ = Command::new("umount")
                .args(["--lazy", &point])
                .stderr(Stdio::null())
                .status();
        }
        // The namespace's cgroups (empty once its tasks are gone; one
        // directory per v1 hierarchy, or one on v2) and runc's state.
        for entry in std::fs::read_dir("/sys/fs/cgroup")
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_dir(entry.path().join(&self.namespace));
        }
        let _ = std::fs::remove_dir(Path::new("/sys/fs/cgroup").join(&self.namespace));
        let _ = std::fs::remove_dir(Path::new("/run/containerd/runc").join(&self.namespace));
    }
}

impl RunningContainer<'_> {
    /// The container's name (its task's too).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the container wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// What the container (and `ctr run` itself, on failure) wrote to
    /// stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Both, for failure messages: `--- stdout ---`, then `--- stderr ---`.
    pub fn logs(&self) -> String {
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}",
            self.stdout(),
            self.stderr()
        )
    }

    /// The exit code once the container has exited (`ctr run` passes it
    /// on; 128 + N after signal N), `None` while it runs.
    pub fn exit_code(&mut self) -> Option<i32> {
        if self.status.is_none() {
            self.status = self.ctr.try_wait().ok().flatten();
        }
        self.status.map(|s| s.code().unwrap_or(-1))
    }

    /// Waits at most `timeout` for the container to exit; its exit code,
    /// or `None` if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(code) = self.exit_code() {
                return Some(code);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends `signal` (`SIGTERM`, `SIGINT`, ...) to the container's main
    /// process.
    #[track_caller]
    pub fn signal(&self, signal: &str) {
        self.containerd
            .ctr(&["tasks", "kill", "--signal", signal, &self.name]);
    }

    /// Sends SIGTERM and waits at most `timeout` for the exit code.
    pub fn terminate(&mut self, timeout: Duration) -> Option<i32> {
        if self.exit_code().is_none() {
            let _ = self.containerd.try_ctr(
                &["tasks", "kill", "--signal", "SIGTERM", &self.name],
                CTR_TIMEOUT,
            );
        }
        self.wait_exit(timeout)
    }

    /// Waits (at most `timeout`) for an HTTP answer on
    /// `127.0.0.1:PORT/PATH` and returns (status, body); panics with the
    /// container's output when the container exits first or nothing
    /// answers in time.
    #[track_caller]
    pub fn expect_http(&mut self, port: u16, path: &str, timeout: Duration) -> (u16, String) {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(answer) = wait_http(port, path, Duration::from_millis(500)) {
                return answer;
            }
            if let Some(code) = self.exit_code() {
                panic!(
                    "container {} exited ({code}) before answering on 127.0.0.1:{port}{}:\n{}",
                    self.name,
                    with_slash(path),
                    self.logs()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "container {} did not answer on 127.0.0.1:{port}{} within {timeout:?}:\n{}",
                    self.name,
                    with_slash(path),
                    self.logs()
                );
            }
        }
    }
}

impl Drop for RunningContainer<'_> {
    fn drop(&mut self) {
        if self.exit_code().is_none() {
            let _ = self.containerd.try_ctr(
                &["tasks", "kill", "--signal", "SIGKILL", &self.name],
                CTR_TIMEOUT,
            );
            if self.wait_exit(Duration::from_secs(10)).is_none() {
                // Only the ctr client: the task is removed below.
                let _ = self.ctr.kill();
                let _ = self.ctr.wait();
            }
        }
        // `--rm` deleted them when ctr ran to its end; not when it failed
        // half way or was killed.
        let _ = self
            .containerd
            .try_ctr(&["tasks", "delete", "--force", &self.name], CTR_TIMEOUT);
        let _ = self
            .containerd
            .try_ctr(&["containers", "delete", &self.name], CTR_TIMEOUT);
    }
}

/// Polls `http://127.0.0.1:PORT/PATH` (HTTP/1.0 GET, plain TCP) until it
/// answers or `timeout` passes: `Some((status, body))` of the first
/// complete answer, whatever its status; `None` if none came in time.
pub fn wait_http(port: u16, path: &str, timeout: Duration) -> Option<(u16, String)> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if let Some(answer) = http_get(port, path, left.max(Duration::from_millis(100))) {
            return Some(answer);
        }
        if Instant::now() + Duration::from_millis(100) >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn with_slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

/// One GET; `None` when the connection fails or the answer is not HTTP.
fn http_get(port: u16, path: &str, timeout: Duration) -> Option<(u16, String)> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let timeout = timeout.min(Duration::from_secs(5));
    let mut stream = TcpStream::connect_timeout(&address, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: hoist-tests\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        with_slash(path)
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status_line = head.lines().next()?;
    if !status_line.starts_with("HTTP/") {
        return None;
    }
    let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head.lines().skip(1).any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
        })
    });
    if chunked {
        body = dechunk(&body)?;
    }
    Some((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The payload of a chunked body.
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(raw.get(..size)?);
        raw = raw.get(size + 2..)?;
    }
}

/// Runs `command` with piped output for at most `timeout` (killed after):
/// (status, stdout, stderr), or why it could not run or finish.
fn run_bounded(
    command: &mut Command,
    timeout: Duration,
) -> Result<(ExitStatus, String, String), String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run it ({e}); install it: {INSTALL}"))?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = pipe.read_to_end(&mut text);
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    match status {
        Some(status) => Ok((status, stdout, stderr)),
        None => Err(format!(
            "no answer within {timeout:?}, killed:\n{stdout}{stderr}"
        )),
    }
}

/// Whether an overlay with lower, upper and work dirs in `dir` mounts
/// (and unmounts again).
fn overlay_mounts_in(dir: &Path) -> bool {
    for sub in ["lower", "upper", "work", "merged"] {
        if std::fs::create_dir_all(dir.join(sub)).is_err() {
            return false;
        }
    }
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        dir.join("lower").display(),
        dir.join("upper").display(),
        dir.join("work").display()
    );
    let merged = dir.join("merged");
    let mounted = Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &options])
        .arg(&merged)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if mounted {
        let _ = Command::new("umount")
            .arg(&merged)
            .stderr(Stdio::null())
            .status();
    }
    let _ = std::fs::remove_dir_all(dir);
    mounted
}

#[track_caller]
fn require_root() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_string));
    if uid.as_deref() != Some("0") {
        panic!("the containerd tests start containerd and runc, which need root: run them as root (with {INSTALL})");
    }
}

/// `PATH` plus the system directories.
fn search_path() -> String {
    match std::env::var("PATH") {
        Ok(path) if !path.is_empty() => format!("{path}:{SYSTEM_PATH}"),
        _ => SYSTEM_PATH.to_string(),
    }
}

fn find_program(name: &str) -> Option<PathBuf> {
    search_path()
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| candidate.is_file())
}

// ---------------------------------------------------------------------------------------------
// Trees for images containerd can run (`hoist build --from scratch --layer-dir DIR[:DEST]`)
// ---------------------------------------------------------------------------------------------

/// Writes a root filesystem with the static busybox into `dir` (created
/// if missing) and returns it: `/bin/busybox` with `sh`, `httpd`, `cat`,
/// `env`, `ls`, `sleep` and `wget` links, `/www/index.html` (`hello from
/// busybox`), empty `/etc` and `/tmp`. Run it with `args` =
/// `["/bin/busybox", "httpd", "-f", "-p", PORT, "-h", "/www"]`.
#[track_caller]
pub fn busybox_rootfs(dir: &Path) -> PathBuf {
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("no busybox; install the static one: apt-get install busybox-static")
        });
    let file = Command::new("file").arg("-L").arg(busybox).output();
    if let Ok(out) = file {
        let kind = String::from_utf8_lossy(&out.stdout);
        assert!(
            kind.contains("statically linked") || kind.contains("static-pie"),
            "{} is not statically linked ({}); install the static one: apt-get install busybox-static",
            busybox.display(),
            kind.trim()
        );
    }
    for sub in ["bin", "etc", "tmp", "www"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::copy(busybox, dir.join("bin/busybox")).unwrap();
    for applet in ["sh", "httpd", "cat", "env", "ls", "sleep", "wget"] {
        let link = dir.join("bin").join(applet);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink("busybox", &link).unwrap();
    }
    std::fs::write(dir.join("www/index.html"), "hello from busybox\n").unwrap();
    dir.to_path_buf()
}

/// Removes `TMPDIR/hoist-jvm-base-PID-*` of processes that have ended.
fn remove_runtimes_of_ended_processes() {
    let temp = std::env::temp_dir();
    for entry in std::fs::read_dir(&temp).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("hoist-jvm-base-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A Java runtime for images built `--from scratch`: a runtime for
/// `/opt/java/openjdk` and a tree with the glibc libraries and loader it
/// links, for `/`. The runtime has its default CDS archive
/// (`lib/server/classes.jsa`), as a real JDK image has, so that
/// `hoist build --startup` can train on it.
///
/// * [`JvmBase::get`]: JDK 17, jlink'ed by the `jlink` on `PATH`
///   (`openjdk-17-jdk-headless`) with `--generate-cds-archive`.
/// * [`JvmBase::temurin25`]: JDK 25, from the machine's Temurin 25
///   (`/usr/lib/jvm/temurin-25-*`): jlink'ed by its own `jlink` (Temurin
///   links from its run-time image, it has no `jmods/`), or, when that
///   fails, a copy of the JDK without `jmods/`, `include/`, `man/`,
///   `lib/src.zip` and dangling links.
#[derive(Clone, Debug)]
pub struct JvmBase {
    /// `/lib/...`, `/lib64/ld-linux-...` and an empty `/tmp`: the layer for `/`.
    pub libs: PathBuf,
    /// The runtime: the layer for `/opt/java/openjdk`.
    pub runtime: PathBuf,
}

const JDK17_HINT: &str = "install a JDK 17 with jmods: apt-get install openjdk-17-jdk-headless";
const TEMURIN25_HINT: &str = "install Temurin 25: apt-get install temurin-25-jdk \
     (from Adoptium's apt repository, https://packages.adoptium.net/artifactory/deb)";

impl JvmBase {
    /// The JDK 17 runtime with `modules` (e.g. `["java.base",
    /// "jdk.httpserver"]`) and its default CDS archive, made once per test
    /// process and module list (jlink and the archive take several seconds;
    /// about 60 MB for those two).
    #[track_caller]
    pub fn get(modules: &[&str]) -> JvmBase {
        Self::once(&format!("17:{}", modules.join(",")), |dir| {
            let runtime = dir.join("runtime");
            jlink(Path::new("jlink"), modules, &runtime)
                .unwrap_or_else(|e| panic!("{e} ({JDK17_HINT})"));
            Self::finish(dir, runtime)
        })
    }

    /// A JDK 25 runtime from the machine's Temurin 25 with `modules` (all
    /// of the JDK when jlink fails and it is copied) and its default CDS
    /// archive, made once per test process and module list. No Temurin 25
    /// fails with what to install.
    #[track_caller]
    pub fn temurin25(modules: &[&str]) -> JvmBase {
        Self::once(&format!("temurin25:{}", modules.join(",")), |dir| {
            let jdk = temurin25_home().unwrap_or_else(|| {
                panic!("no Temurin 25 JDK (looked for /usr/lib/jvm/temurin-25-*/bin/java); {TEMURIN25_HINT}")
            });
            let runtime = dir.join("runtime");
            if let Err(e) = jlink(&jdk.join("bin/jlink"), modules, &runtime) {
                eprintln!("JvmBase::temurin25: {e}; copying {} instead", jdk.display());
                let _ = std::fs::remove_dir_all(&runtime);
                copy_jdk(&jdk, &runtime);
            }
            Self::finish(dir, runtime)
        })
    }

    /// The base `make` writes into a fresh directory, once per process and
    /// `key`.
    #[track_caller]
    fn once(key: &str, make: impl FnOnce(&Path) -> JvmBase) -> JvmBase {
        static MADE: OnceLock<Mutex<HashMap<String, JvmBase>>> = OnceLock::new();
        let mut made = MADE
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(base) = made.get(key) {
            return base.clone();
        }
        // Kept for the process (a static is never dropped): named after
        // it, so that a later process removes it once it is gone.
        remove_runtimes_of_ended_processes();
        let dir = tempfile::Builder::new()
            .prefix(&format!("hoist-jvm-base-{}-", std::process::id()))
            .tempdir()
            .unwrap()
            .keep();
        let base = make(&dir);
        made.insert(key.to_string(), base.clone());
        base
    }

    /// Checks `runtime` has its CDS archive and copies the glibc files its
    /// programs and libraries link into `dir/libs`.
    #[track_caller]
    fn finish(dir: &Path, runtime: PathBuf) -> JvmBase {
        assert!(
            runtime.join("lib/server/classes.jsa").is_file(),
            "{} has no default CDS archive (lib/server/classes.jsa)",
            runtime.display()
        );
        let libs = dir.join("libs");
        std::fs::create_dir_all(libs.join("tmp")).unwrap();
        std::fs::set_permissions(
            libs.join("tmp"),
            std::os::unix::fs::PermissionsExt::from_mode(0o1777),
        )
        .unwrap();
        copy_linked_libraries(&runtime, &libs);
        JvmBase { libs, runtime }
    }

    /// The runtime's `JAVA_VERSION` (its `release` file), e.g. `17.0.15`.
    pub fn java_version(&self) -> String {
        std::fs::read_to_string(self.runtime.join("release"))
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("JAVA_VERSION="))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    }

    /// `hoist build` arguments that put this runtime into an image:
    /// both `--layer-dir`s and `--env PATH=/opt/java/openjdk/bin:...`.
    pub fn hoist_args(&self) -> Vec<String> {
        vec![
            "--layer-dir".into(),
            format!("{}:/", self.libs.display()),
            "--layer-dir".into(),
            format!("{}:/opt/java/openjdk", self.runtime.display()),
            "--env".into(),
            "PATH=/opt/java/openjdk/bin:/usr/bin:/bin".into(),
        ]
    }
}

/// `JLINK --add-modules MODULES --generate-cds-archive ... --output
/// RUNTIME`, without `legal/` (links into the JDK, dangling in an image).
fn jlink(jlink: &Path, modules: &[&str], runtime: &Path) -> Result<(), String> {
    let modules = modules.join(",");
    let out = Command::new(jlink)
        .args(["--add-modules", &modules])
        .args(["--strip-debug", "--no-header-files", "--no-man-pages"])
        .arg("--generate-cds-archive")
        .arg("--output")
        .arg(runtime)
        .output()
        .map_err(|e| format!("cannot run {} ({e})", jlink.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --add-modules {modules} --generate-cds-archive failed:\n{}{}",
            jlink.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let _ = std::fs::remove_dir_all(runtime.join("legal"));
    Ok(())
}

/// The newest `/usr/lib/jvm/temurin-25-*` with a `bin/java`.
fn temurin25_home() -> Option<PathBuf> {
    let mut homes: Vec<PathBuf> = std::fs::read_dir("/usr/lib/jvm")
        .ok()?
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("temurin-25-"))
        .map(|e| e.path())
        .filter(|p| p.join("bin/java").is_file())
        .collect();
    homes.sort();
    homes.pop()
}

/// Copies the JDK at `jdk` to `runtime` (`cp -a`), then drops what an
/// image does not need (`jmods/`, `include/`, `man/`, `lib/src.zip`) and
/// links that dangle.
#[track_caller]
fn copy_jdk(jdk: &Path, runtime: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(jdk)
        .arg(runtime)
        .status()
        .unwrap_or_else(|e| panic!("cannot run cp ({e})"));
    assert!(
        status.success(),
        "cp -a {} {} failed",
        jdk.display(),
        runtime.display()
    );
    for sub in ["jmods", "include", "man"] {
        let _ = std::fs::remove_dir_all(runtime.join(sub));
    }
    let _ = std::fs::remove_file(runtime.join("lib/src.zip"));
    remove_dangling_links(runtime);
}

fn remove_dangling_links(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_symlink() {
            if !path.exists() {
                let _ = std::fs::remove_file(&path);
            }
        } else if kind.is_dir() {
            remove_dangling_links(&path);
        }
    }
}

/// Every regular file in `dir` and below whose name ends in `.so`, or
/// every regular file when `all`.
fn files_below(dir: &Path, all: bool, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            files_below(&path, all, out);
        } else if kind.is_file() && (all || path.extension().is_some_and(|e| e == "so")) {
            out.push(path);
        }
    }
}

/// Copies the files outside `runtime` that its programs (`bin/`) and
/// libraries (`lib/**/*.so`) link, as `ldd` finds them, into `libs` at the
/// same paths.
#[track_caller]
fn copy_linked_libraries(runtime: &Path, libs: &Path) {
    let mut objects = Vec::new();
    files_below(&runtime.join("bin"), true, &mut objects);
    files_below(&runtime.join("lib"), false, &mut objects);
    for object in objects {
        let out = Command::new("ldd")
            .arg(&object)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run ldd ({e}); install it: apt-get install libc-bin")
            });
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            // `name => /path (0x...)` or `/lib64/ld-linux-x86-64.so.2 (0x...)`.
            let target = match line.split_once("=>") {
                Some((_, right)) => right.trim(),
                None => line.trim(),
            };
            let Some(path) = target
                .split_whitespace()
                .next()
                .filter(|p| p.starts_with('/'))
            else {
                continue;
            };
            // The runtime's own libraries are in the runtime already.
            if Path::new(path).starts_with(runtime) {
                continue;
            }
            let copy = libs.join(path.trim_start_matches('/'));
            if !copy.exists() {
                std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
                std::fs::copy(path, &copy).unwrap_or_else(|e| panic!("copying {path}: {e}"));
            }
        }
    }
}
