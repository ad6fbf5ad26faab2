#!/usr/bin/env python3
"""Tests of scripts/install.sh and of action.yml's steps, against a release on 127.0.0.1.

    python3 tests/install/test_install.py [-v] [unittest options]

The tests build fake releases (a tiny shell script as the "hoist" binary, tarred under the
release naming scheme, with SHA256SUMS), serve them with http.server on a free 127.0.0.1 port,
and run install.sh with HOIST_DOWNLOAD_URL pointing there. `cargo` and, where a test needs
another platform, `uname` are fakes on PATH that record their arguments: nothing is compiled
and nothing leaves this machine. Every install.sh run has a 60 s limit, and curl inside it is
bounded too (3 retries, 15 s to connect, 5 minutes in all).

Only Python's standard library, plus `node` with tests/install/node_modules (npm ci) to read
action.yml as YAML. Ends with one line in cargo's format, which .ci/run adds to its totals.
"""

import functools
import hashlib
import http.server
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
INSTALL_SH = ROOT / "scripts" / "install.sh"
PACKAGE_SH = ROOT / "scripts" / "package-release.sh"
ACTION_YML = ROOT / "action.yml"

OLD, NEW = "1.2.3", "1.3.0"
TARGETS = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl", "aarch64-apple-darwin"]
TOKEN = "test-token-123"
RUN_TIMEOUT = 60


def host_target():
    """The asset install.sh should pick here, and the tool cache's arch label."""
    system, machine = platform.system(), platform.machine().lower()
    arch, label = {"x86_64": ("x86_64", "x64"), "amd64": ("x86_64", "x64"),
                   "aarch64": ("aarch64", "arm64"), "arm64": ("aarch64", "arm64")}.get(machine, (None, None))
    if arch and system == "Linux":
        return f"{arch}-unknown-linux-musl", label
    if arch == "aarch64" and system == "Darwin":
        return "aarch64-apple-darwin", label
    return None, None


HOST, HOST_LABEL = host_target()
needs_host_asset = unittest.skipUnless(HOST, "no release asset for this machine's platform")


def fake_binary(text):
    return f'#!/bin/sh\necho "{text}"\n'.encode()


def make_tarball(version, target, script):
    """hoist-VERSION-TARGET.tar.gz as package-release.sh lays it out."""
    top = f"hoist-{version}-{target}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, mode in [(f"{top}/hoist", script, 0o755), (f"{top}/README.md", b"# hoist\n", 0o644)]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def write_release(directory, version, tamper=False, sums=True):
    directory.mkdir(parents=True, exist_ok=True)
    lines = []
    for target in TARGETS:
        name = f"hoist-{version}-{target}.tar.gz"
        data = make_tarball(version, target, fake_binary(f"hoist {version} (fake {target})"))
        (directory / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        if tamper:  # the digest of other bytes: what a corrupted or replaced download looks like
            digest = hashlib.sha256(data + b"tampered").hexdigest()
        lines.append(f"{digest}  {name}\n")
    if sums:
        (directory / "SHA256SUMS").write_text("".join(lines))


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the release tree; records each request's path and Authorization header."""

    def do_GET(self):
        with self.server.lock:
            self.server.requests.append((self.path, self.headers.get("Authorization")))
        super().do_GET()

    def log_message(self, *args):
        pass


class Server:
    def __init__(self, directory):
        handler = functools.partial(Handler, directory=str(directory))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.requests = []
        self.httpd.lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def requests(self):
        with self.httpd.lock:
            return list(self.httpd.requests)

    def paths(self):
        return [path for path, _ in self.requests()]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


FAKE_CARGO = r"""#!/bin/sh
# Records its arguments, one per line, and "installs" a hoist that says which version it built.
printf '%s\n' "$@" > "$FAKE_CARGO_LOG"
root= version=unknown
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=$2; shift ;;
    --tag) version=${2#v}; shift ;;
    --version) version=$2; shift ;;
  esac
  shift
done
mkdir -p "$root/bin"
printf '#!/bin/sh\necho "hoist %s (built by fake cargo)"\n' "$version" > "$root/bin/hoist"
chmod 755 "$root/bin/hoist"
"""

FAKE_UNAME = r"""#!/bin/sh
case $1 in
  -s) echo "$FAKE_UNAME_S" ;;
  -m) echo "$FAKE_UNAME_M" ;;
  *) echo "$FAKE_UNAME_S" ;;
esac
"""


class ReleaseServerCase(unittest.TestCase):
    """A served tree: v1.2.3/ and v1.3.0/ (good), bad/v1.2.3/ (SHA256SUMS with wrong digests),
    nosums/v1.2.3/ (no SHA256SUMS), api/…/releases/latest (v1.3.0)."""

    @classmethod
    def setUpClass(cls):
        cls.served = Path(tempfile.mkdtemp(prefix="hoist-release-"))
        write_release(cls.served / f"v{OLD}", OLD)
        write_release(cls.served / f"v{NEW}", NEW)
        write_release(cls.served / "bad" / f"v{OLD}", OLD, tamper=True)
        write_release(cls.served / "nosums" / f"v{OLD}", OLD, sums=False)
        latest = cls.served / "api" / "repos" / "hoist-dev" / "hoist" / "releases" / "latest"
        latest.parent.mkdir(parents=True)
        # Compact JSON on one line, with tag_name not first: the parser must not rely on layout.
        latest.write_text(json.dumps({"id": 7, "name": f"hoist v{NEW}", "tag_name": f"v{NEW}", "draft": False},
                                     separators=(",", ":")))
        cls.server = Server(cls.served)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.served, ignore_errors=True)

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="hoist-install-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.fakes = self.tmp / "fake-bin"
        self.fakes.mkdir()
        self.cargo_log = self.tmp / "cargo-args"
        (self.fakes / "cargo").write_text(FAKE_CARGO)
        (self.fakes / "cargo").chmod(0o755)
        self.home = self.tmp / "home"
        self.home.mkdir()
        self.dir = self.tmp / "bin"

    def env(self, **extra):
        env = {
            "PATH": f"{self.fakes}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.home),
            "HOIST_INSTALL_DIR": str(self.dir),
            "HOIST_DOWNLOAD_URL": f"{self.server.url}/v{{version}}",
            "HOIST_API_URL": f"{self.server.url}/api",
            "FAKE_CARGO_LOG": str(self.cargo_log),
        }
        for key, value in extra.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def fake_uname(self, system, machine):
        (self.fakes / "uname").write_text(FAKE_UNAME)
        (self.fakes / "uname").chmod(0o755)
        return {"FAKE_UNAME_S": system, "FAKE_UNAME_M": machine}

    def install(self, *args, **env):
        return subprocess.run(["sh", str(INSTALL_SH), *args], env=self.env(**env), capture_output=True,
                              text=True, timeout=RUN_TIMEOUT)

    def assert_ok(self, run):
        self.assertEqual(run.returncode, 0, f"install.sh failed:\n{run.stderr}")

    def hoist_says(self, path):
        return subprocess.run([str(path)], capture_output=True, text=True, timeout=10, check=True).stdout.strip()

    def cargo_args(self):
        return self.cargo_log.read_text().splitlines() if self.cargo_log.exists() else None


class InstallTests(ReleaseServerCase):
    @needs_host_asset
    def test_picks_the_asset_for_this_machine_and_verifies_it(self):
        before = len(self.server.requests())
        run = self.install(OLD)
        self.assert_ok(run)
        binary = self.dir / "hoist"
        self.assertEqual(run.stdout.strip(), str(binary), "stdout is the installed path")
        self.assertEqual(self.hoist_says(binary), f"hoist {OLD} (fake {HOST})")
        self.assertIn("sha256 ok", run.stderr)
        self.assertIn(f"installed hoist {OLD} ({HOST}) at {binary}", run.stderr)
        self.assertEqual(self.server.paths()[before:],
                         [f"/v{OLD}/hoist-{OLD}-{HOST}.tar.gz", f"/v{OLD}/SHA256SUMS"])
        self.assertIsNone(self.cargo_args(), "no cargo when an asset fits")
        self.assertEqual(sorted(p.name for p in self.dir.iterdir()), ["hoist"], "no temporary files left")

    def test_maps_uname_to_the_release_targets(self):
        cases = [("Linux", "x86_64", "x86_64-unknown-linux-musl"), ("Linux", "amd64", "x86_64-unknown-linux-musl"),
                 ("Linux", "aarch64", "aarch64-unknown-linux-musl"), ("Linux", "arm64", "aarch64-unknown-linux-musl"),
                 ("Darwin", "arm64", "aarch64-apple-darwin")]
        for system, machine, target in cases:
            with self.subTest(uname=f"{system} {machine}"):
                shutil.rmtree(self.dir, ignore_errors=True)
                run = self.install(OLD, **self.fake_uname(system, machine))
                self.assert_ok(run)
                self.assertEqual(self.hoist_says(self.dir / "hoist"), f"hoist {OLD} (fake {target})")

    @needs_host_asset
    def test_a_wrong_checksum_is_refused_and_nothing_installed(self):
        run = self.install(OLD, HOIST_DOWNLOAD_URL=f"{self.server.url}/bad/v{{version}}")
        self.assertEqual(run.returncode, 1, run.stderr)
        asset = f"hoist-{OLD}-{HOST}.tar.gz"
        actual = hashlib.sha256((self.served / f"v{OLD}" / asset).read_bytes()).hexdigest()
        listed = (self.served / "bad" / f"v{OLD}" / "SHA256SUMS").read_text()
        expected = re.search(rf"^([0-9a-f]{{64}})  {re.escape(asset)}$", listed, re.M).group(1)
        errors = [line for line in run.stderr.splitlines() if "error" in line]
        self.assertEqual(len(errors), 1, run.stderr)
        self.assertIn(f"checksum mismatch for {asset}", errors[0])
        self.assertIn(expected, errors[0])
        self.assertIn(actual, errors[0])
        self.assertIn("nothing installed", errors[0])
        self.assertEqual(run.stdout, "")
        self.assertFalse(self.dir.exists(), "the install directory is not even created")
        self.assertIsNone(self.cargo_args(), "a bad checksum is no reason to build from source")

    @needs_host_asset
    def test_no_sha256sums_no_install(self):
        run = self.install(OLD, HOIST_DOWNLOAD_URL=f"{self.server.url}/nosums/v{{version}}")
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertIn("SHA256SUMS", run.stderr)
        self.assertIn("not installed unverified", run.stderr)
        self.assertFalse(self.dir.exists())
        self.assertIsNone(self.cargo_args())

    def test_a_target_without_an_asset_falls_back_to_cargo_install(self):
        before = len(self.server.requests())
        run = self.install(OLD, HOIST_INSTALL_TARGET="sparc-unknown-linux")
        self.assert_ok(run)
        self.assertEqual(self.server.paths()[before:], [f"/v{OLD}/hoist-{OLD}-sparc-unknown-linux.tar.gz"])
        self.assertIn("no release asset", run.stderr)
        self.assertIn("building it from source", run.stderr)
        args = self.cargo_args()
        self.assertEqual(args[:3], ["install", "--locked", "--root"])
        self.assertEqual(args[4:], ["--git", "https://github.com/hoist-dev/hoist", "--tag", f"v{OLD}", "hoist"])
        self.assertEqual(self.hoist_says(self.dir / "hoist"), f"hoist {OLD} (built by fake cargo)")
        self.assertEqual(run.stdout.strip(), str(self.dir / "hoist"))

    def test_an_unknown_os_falls_back_without_asking_the_server(self):
        before = len(self.server.requests())
        run = self.install(OLD, **self.fake_uname("FreeBSD", "amd64"))
        self.assert_ok(run)
        self.assertEqual(self.server.paths()[before:], [], "no download attempted")
        self.assertIn("no prebuilt hoist for FreeBSD/amd64", run.stderr)
        self.assertEqual(self.hoist_says(self.dir / "hoist"), f"hoist {OLD} (built by fake cargo)")

    def test_windows_is_refused_plainly(self):
        run = self.install(OLD, **self.fake_uname("MINGW64_NT-10.0-20348", "x86_64"))
        self.assertEqual(run.returncode, 1)
        self.assertIn("on Windows, use WSL", run.stderr)
        self.assertIsNone(self.cargo_args())

    def test_the_cargo_arguments_can_be_replaced(self):
        run = self.install(OLD, HOIST_INSTALL_TARGET="riscv64gc-unknown-linux-gnu",
                           HOIST_CARGO_INSTALL_ARGS=f"hoist --version {OLD}")
        self.assert_ok(run)
        self.assertEqual(self.cargo_args()[4:], ["hoist", "--version", OLD])

    def test_no_fallback_makes_a_missing_asset_an_error(self):
        run = self.install(OLD, HOIST_INSTALL_TARGET="sparc-unknown-linux", HOIST_INSTALL_NO_FALLBACK="1")
        self.assertEqual(run.returncode, 1)
        self.assertIn("no release asset hoist-1.2.3-sparc-unknown-linux.tar.gz", run.stderr)
        self.assertIn("HOIST_INSTALL_NO_FALLBACK=1", run.stderr)
        self.assertIsNone(self.cargo_args())
        self.assertFalse(self.dir.exists())

    def test_without_cargo_the_fallback_says_what_is_missing(self):
        (self.fakes / "cargo").unlink()
        path = f"{self.fakes}{os.pathsep}" + os.pathsep.join(
            d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "cargo").exists())
        run = self.install(OLD, HOIST_INSTALL_TARGET="sparc-unknown-linux", PATH=path)
        self.assertEqual(run.returncode, 1)
        self.assertIn("cargo is not installed", run.stderr)

    @needs_host_asset
    def test_a_repeat_run_is_a_no_op(self):
        self.assert_ok(self.install(OLD))
        binary = self.dir / "hoist"
        first = binary.stat()
        before = len(self.server.requests())
        run = self.install(f"v{OLD}")  # the same version, spelt with a v
        self.assert_ok(run)
        self.assertIn(f"hoist {OLD} is already installed in {self.dir}; nothing to do", run.stderr)
        self.assertEqual(run.stdout.strip(), str(binary))
        self.assertEqual(self.server.paths()[before:], [], "nothing downloaded")
        self.assertEqual((binary.stat().st_ino, binary.stat().st_mtime_ns), (first.st_ino, first.st_mtime_ns))

    @needs_host_asset
    def test_another_version_replaces_the_installed_one(self):
        self.assert_ok(self.install(OLD))
        run = self.install(NEW)
        self.assert_ok(run)
        self.assertNotIn("already installed", run.stderr)
        self.assertEqual(self.hoist_says(self.dir / "hoist"), f"hoist {NEW} (fake {HOST})")

    @needs_host_asset
    def test_latest_is_looked_up_with_the_token_which_goes_nowhere_else(self):
        before = len(self.server.requests())
        run = self.install(HOIST_GITHUB_TOKEN=TOKEN)  # no version: latest
        self.assert_ok(run)
        self.assertIn(f"latest release: v{NEW}", run.stderr)
        self.assertEqual(self.hoist_says(self.dir / "hoist"), f"hoist {NEW} (fake {HOST})")
        requests = self.server.requests()[before:]
        self.assertEqual(requests[0], ("/api/repos/hoist-dev/hoist/releases/latest", f"Bearer {TOKEN}"))
        self.assertTrue(all(auth is None for _, auth in requests[1:]), f"token sent with downloads: {requests}")

    @needs_host_asset
    @unittest.skipUnless(shutil.which("wget"), "wget is not installed")
    def test_wget_when_there_is_no_curl(self):
        """A minimal image (Alpine, distroless builders) may have wget and no curl."""
        only = self.tmp / "no-curl-bin"
        only.mkdir()
        tools = ["sh", "wget", "tar", "gzip", "awk", "sed", "tr", "grep", "head", "tail", "mktemp", "rm",
                 "mkdir", "cp", "mv", "chmod", "cat", "uname", "sha256sum", "shasum"]
        for tool in tools:
            found = shutil.which(tool)
            if found:
                (only / tool).symlink_to(found)
        run = self.install(OLD, PATH=str(only))
        self.assert_ok(run)
        self.assertEqual(self.hoist_says(self.dir / "hoist"), f"hoist {OLD} (fake {HOST})")
        self.assertFalse((only / "curl").exists())

        # wget's 404 is a missing asset too (here: no fallback, so an error that names the asset).
        run = self.install(OLD, PATH=str(only), HOIST_INSTALL_TARGET="sparc-unknown-linux",
                           HOIST_INSTALL_NO_FALLBACK="1", HOIST_INSTALL_DIR=str(self.tmp / "other"))
        self.assertEqual(run.returncode, 1)
        self.assertIn("no release asset hoist-1.2.3-sparc-unknown-linux.tar.gz", run.stderr)

    def test_a_bad_version_is_refused(self):
        run = self.install("1.2.3;rm -rf /")
        self.assertEqual(run.returncode, 1)
        self.assertIn("is not a version", run.stderr)

    @needs_host_asset
    def test_tool_cache_layout_and_step_outputs(self):
        cache = self.tmp / "toolcache"
        outputs = self.tmp / "github-output"
        run = self.install(OLD, HOIST_INSTALL_DIR=None, HOIST_TOOL_CACHE=str(cache), GITHUB_OUTPUT=str(outputs))
        self.assert_ok(run)
        dir_ = cache / "hoist" / OLD / HOST_LABEL
        self.assertEqual(self.hoist_says(dir_ / "hoist"), f"hoist {OLD} (fake {HOST})")
        self.assertTrue((cache / "hoist" / OLD / f"{HOST_LABEL}.complete").is_file())
        self.assertEqual(dict(line.split("=", 1) for line in outputs.read_text().splitlines()),
                         {"version": OLD, "dir": str(dir_), "path": str(dir_ / "hoist"), "source": "release"})

    @needs_host_asset
    def test_default_install_dir_is_local_bin(self):
        run = self.install(OLD, HOIST_INSTALL_DIR=None)
        self.assert_ok(run)
        self.assertEqual(run.stdout.strip(), str(self.home / ".local" / "bin" / "hoist"))
        self.assertIn("is not on PATH", run.stderr)

    @needs_host_asset
    def test_what_package_release_writes_is_what_install_fetches(self):
        """The asset names, the archive layout and SHA256SUMS agree between the two scripts."""
        cargo_toml = (ROOT / "Cargo.toml").read_text()
        version = re.search(r'^\[package\][^\[]*?^version\s*=\s*"([^"]+)"', cargo_toml, re.M | re.S).group(1)
        binary = self.tmp / "built-hoist"
        binary.write_bytes(fake_binary(f"hoist {version} (packaged by package-release.sh)"))
        binary.chmod(0o755)
        out = self.served / "packaged" / f"v{version}"
        self.addCleanup(shutil.rmtree, self.served / "packaged", True)
        for target in TARGETS:
            subprocess.run(["bash", str(PACKAGE_SH), target, "--binary", str(binary), "--out", str(out)],
                           check=True, capture_output=True, timeout=RUN_TIMEOUT)
        sums = (out / "SHA256SUMS").read_text().splitlines()
        self.assertEqual([line.split("  ")[1] for line in sums], sorted(f"hoist-{version}-{t}.tar.gz" for t in TARGETS))
        run = self.install(version, HOIST_DOWNLOAD_URL=f"{self.server.url}/packaged/v{{version}}")
        self.assert_ok(run)
        self.assertEqual(self.hoist_says(self.dir / "hoist"), f"hoist {version} (packaged by package-release.sh)")

    @unittest.skipUnless(sys.version_info >= (3, 11), "tomllib needs Python 3.11")
    def test_cargo_binstall_metadata_names_the_same_assets(self):
        import tomllib

        meta = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["metadata"]["binstall"]
        values = {"name": "hoist", "version": OLD, "target": TARGETS[0], "bin": "hoist", "binary-ext": ""}

        def expand(template):
            return re.sub(r"\{\s*([\w-]+)\s*\}", lambda m: values[m.group(1)], template)

        self.assertEqual(meta["pkg-fmt"], "tgz")
        self.assertEqual(expand(meta["pkg-url"]),
                         f"https://github.com/hoist-dev/hoist/releases/download/v{OLD}/hoist-{OLD}-{TARGETS[0]}.tar.gz")
        # …and the binary's path inside that archive, as the served test release lays it out.
        with tarfile.open(self.served / f"v{OLD}" / f"hoist-{OLD}-{TARGETS[0]}.tar.gz") as tar:
            self.assertIn(expand(meta["bin-dir"]), tar.getnames())


# --- action.yml ---------------------------------------------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load_action():
    node_modules = HERE / "node_modules"
    if not (node_modules / "yaml").is_dir():
        raise AssertionError(f"{node_modules} is missing: run scripts/install-test-deps.sh (npm ci in tests/install)")
    out = subprocess.run(["node", str(HERE / "yaml-to-json.mjs"), str(ACTION_YML)], capture_output=True,
                         text=True, timeout=RUN_TIMEOUT, check=True).stdout
    return json.loads(out)


def evaluate(text, context):
    """${{ a.b-c.d }} → context lookup. Anything fancier fails the test: the action stays simple
    enough for this stand-in runner to run it."""

    def one(match):
        expr = match.group(1)
        if not re.fullmatch(r"[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*", expr):
            raise AssertionError(f"unsupported expression in action.yml: ${{{{ {expr} }}}}")
        value = context
        for part in expr.split("."):
            if not isinstance(value, dict) or part not in value:
                raise AssertionError(f"action.yml uses ${{{{ {expr} }}}}, which the runner does not define")
            value = value[part]
        return str(value)

    return EXPRESSION.sub(one, str(text))


def read_outputs(path):
    outputs, lines = {}, path.read_text().splitlines() if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and "=" not in line.split("<<")[0]:
            key, delim = line.split("<<", 1)
            body = []
            i += 1
            while lines[i] != delim:
                body.append(lines[i])
                i += 1
            outputs[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            outputs[key] = value
        i += 1
    return outputs


class ActionTests(ReleaseServerCase):
    """action.yml's composite steps, run the way a runner runs them (a small stand-in)."""

    SHELLS = {"sh": ["sh", "-e"], "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"]}

    def run_action(self, inputs, job_env):
        action = load_action()
        given = {name: evaluate(spec.get("default", ""), self.context) for name, spec in action["inputs"].items()}
        unknown = set(inputs) - set(given)
        self.assertFalse(unknown, f"inputs action.yml does not declare: {unknown}")
        given.update(inputs)
        context = dict(self.context, inputs=given, steps={})
        github_path = self.tmp / "github-path"
        logs = []
        for number, step in enumerate(action["runs"]["steps"]):
            self.assertNotIn("uses", step, "the action's steps are its own scripts")
            self.assertNotIn("if", step)
            output = self.tmp / f"output-{number}"
            script = self.tmp / f"step-{number}.sh"
            script.write_text(evaluate(step["run"], context))
            env = dict(job_env, GITHUB_ACTION_PATH=str(ROOT), GITHUB_OUTPUT=str(output),
                       GITHUB_PATH=str(github_path), RUNNER_TOOL_CACHE=self.context["runner"]["tool_cache"])
            env.update({k: evaluate(v, context) for k, v in step.get("env", {}).items()})
            run = subprocess.run([*self.SHELLS[step["shell"]], str(script)], env=env, capture_output=True,
                                 text=True, timeout=RUN_TIMEOUT)
            self.assertEqual(run.returncode, 0, f"step {step.get('name', number)} failed:\n{run.stderr}")
            logs.append(run)
            if "id" in step:
                context["steps"][step["id"]] = {"outputs": read_outputs(output)}
        action_outputs = {name: evaluate(spec["value"], context) for name, spec in action["outputs"].items()}
        path_entries = github_path.read_text().splitlines() if github_path.exists() else []
        return logs, action_outputs, path_entries

    def setUp(self):
        super().setUp()
        self.cache = self.tmp / "toolcache"
        self.context = {"github": {"token": TOKEN}, "runner": {"tool_cache": str(self.cache), "os": "Linux"}}

    def test_the_composite_steps_call_install_sh(self):
        action = load_action()
        self.assertEqual(action["runs"]["using"], "composite")
        install = [s for s in action["runs"]["steps"] if "scripts/install.sh" in s.get("run", "")]
        self.assertEqual(len(install), 1, "one step runs scripts/install.sh")
        self.assertIn('"$GITHUB_ACTION_PATH/scripts/install.sh"', install[0]["run"])
        self.assertEqual(install[0]["env"]["HOIST_VERSION"], "${{ inputs.version }}")
        self.assertEqual(install[0]["env"]["HOIST_TOOL_CACHE"], "${{ runner.tool_cache }}")
        self.assertLessEqual({"version", "github-token"}, set(action["inputs"]))
        self.assertEqual(action["inputs"]["version"]["default"], "latest")

    def test_the_examples_install_hoist_with_the_action(self):
        examples = sorted((ROOT / "examples" / "github-actions").glob("*.yml"))
        self.assertTrue(examples)
        for example in examples:
            with self.subTest(example=example.name):
                out = subprocess.run(["node", str(HERE / "yaml-to-json.mjs"), str(example)], capture_output=True,
                                     text=True, timeout=RUN_TIMEOUT, check=True).stdout
                steps = [s for job in json.loads(out)["jobs"].values() for s in job["steps"]]
                setup = [s for s in steps if s.get("uses", "").startswith("hoist-dev/hoist@")]
                self.assertEqual(len(setup), 1, "one setup step")
                self.assertEqual(setup[0]["uses"], "hoist-dev/hoist@v1")
                self.assertRegex(setup[0]["with"]["version"], r"^\d+\.\d+\.\d+$", "a pinned version")
                self.assertFalse([s for s in steps if "cargo install" in s.get("run", "")], "no cargo install")
                first_hoist = next(i for i, s in enumerate(steps) if re.search(r"\bhoist ", s.get("run", "")))
                self.assertLess(steps.index(setup[0]), first_hoist, "set up before hoist runs")

    @needs_host_asset
    def test_installs_into_the_tool_cache_and_onto_path_then_reuses_it(self):
        job_env = self.env(HOIST_INSTALL_DIR=None)
        logs, outputs, path_entries = self.run_action({"version": OLD}, job_env)
        dir_ = self.cache / "hoist" / OLD / HOST_LABEL
        self.assertEqual(path_entries, [str(dir_)])
        self.assertEqual(outputs, {"version": OLD, "path": str(dir_ / "hoist"), "source": "release"})
        self.assertIn(f"hoist {OLD} (fake {HOST})", logs[-1].stdout, "the last step runs hoist --version")
        self.assertTrue((dir_.parent / f"{HOST_LABEL}.complete").exists())

        before = len(self.server.requests())
        logs, outputs, _ = self.run_action({"version": OLD}, job_env)
        self.assertIn("already installed", logs[0].stderr)
        self.assertEqual(outputs["source"], "cached")
        self.assertEqual(self.server.paths()[before:], [])

    @needs_host_asset
    def test_default_version_is_latest_looked_up_with_the_default_token(self):
        before = len(self.server.requests())
        _, outputs, _ = self.run_action({}, self.env(HOIST_INSTALL_DIR=None))
        self.assertEqual(outputs["version"], NEW)
        self.assertEqual(self.server.requests()[before], ("/api/repos/hoist-dev/hoist/releases/latest", f"Bearer {TOKEN}"))


# --- runner -------------------------------------------------------------------------------------

def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    verbosity = 2 if "-v" in sys.argv[1:] else 1
    result = unittest.TextTestRunner(verbosity=verbosity, stream=sys.stdout).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    status = "ok" if result.wasSuccessful() else "FAILED"
    print(f"test result: {status}. {passed} passed; {failed} failed; {skipped} ignored (installer tests)")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
