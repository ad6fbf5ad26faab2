#!/usr/bin/env python3
"""Start-up under containerd, for bench/startup_containerd.sh.

    startup_containerd.py SPECS.json

SPECS.json: {"ctr": [ctr, --address, SOCK, --namespace, NS], "snapshotter": S,
"rounds": N, "logs": DIR, "timeout": SECONDS, "images": [{"id": ID, "image": REF,
"cwd": DIR or null, "args": [...] or null, "check": {ENV: VALUE} or null}, ...]}.

Each image is started with `ctr run --rm --net-host` and SERVER_PORT set to a free port; the
time is from just before `ctr run` is spawned to the first HTTP 200 from /actuator/health on
127.0.0.1:PORT (polled every 20 ms). Then the task is killed (SIGKILL) and removed.

An image with a "check" is first started once (not timed) with those variables added (e.g.
JAVA_TOOL_OPTIONS=-Xshare:on, which fails when the JVM cannot use its archive); then one
warm-up round (not counted) and N rounds, the images taking turns (1, 2, 3, 1, ...). An image
that does not answer is left out of the rounds after; the others go on.

Prints one line per image, tab-separated: ID, then `ok`, the median, every run (space-separated)
and a note (empty, or what the check found), or `fail`, `-`, `-` and why.
"""

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time

POLL = 0.02


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port):
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/actuator/health")
            answer = conn.getresponse()
            answer.read()
            return answer.status
        finally:
            conn.close()
    except (OSError, http.client.HTTPException):
        return None


def tail(path, lines=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


class Bench:
    def __init__(self, spec):
        self.ctr = spec["ctr"]
        self.snapshotter = spec["snapshotter"]
        self.logs = spec["logs"]
        self.timeout = float(spec.get("timeout", 180))
        self.env = dict(os.environ)
        for key in ("CONTAINERD_ADDRESS", "CONTAINERD_NAMESPACE", "CONTAINERD_SNAPSHOTTER"):
            self.env.pop(key, None)
        self.seq = 0

    def quiet(self, *args):
        subprocess.run(self.ctr + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=self.env, timeout=60, check=False)

    def stop(self, name, proc):
        if proc.poll() is None:
            self.quiet("tasks", "kill", "--signal", "SIGKILL", name)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()  # only the ctr client; the task goes below
                proc.wait()
        # --rm removed them unless ctr ended early or was killed.
        self.quiet("tasks", "delete", "--force", name)
        self.quiet("containers", "delete", name)

    def start_once(self, index, image, env=None):
        """Seconds from `ctr run` to the first 200; RuntimeError when there is none."""
        self.seq += 1
        name = f"bench-{index}-{self.seq}"
        port = free_port()
        command = self.ctr + ["run", "--rm", "--net-host", "--snapshotter", self.snapshotter,
                              # The container's own cgroup, read-only, where the JVM reads its
                              # limits (as under CRI; ctr mounts none by default).
                              "--mount",
                              "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev",
                              "--env", f"SERVER_PORT={port}"]
        for key, value in (env or {}).items():
            command += ["--env", f"{key}={value}"]
        if image.get("cwd"):
            command += ["--cwd", image["cwd"]]
        command += [image["image"], name] + list(image.get("args") or [])
        log = os.path.join(self.logs, name + ".log")
        with open(log, "wb") as out:
            t0 = time.monotonic()
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=self.env)
            try:
                while True:
                    if health(port) == 200:
                        return time.monotonic() - t0
                    if proc.poll() is not None:
                        raise RuntimeError(f"exited ({proc.returncode}) before answering",
                                           f"{image['image']} ({name}) exited ({proc.returncode}) "
                                           f"before answering on port {port}:\n{tail(log)}", log)
                    if time.monotonic() - t0 > self.timeout:
                        raise RuntimeError(f"no 200 from /actuator/health within {self.timeout:.0f} s",
                                           f"{image['image']} ({name}) gave no 200 from "
                                           f"/actuator/health within {self.timeout:.0f} s:\n{tail(log)}",
                                           log)
                    time.sleep(POLL)
            finally:
                self.stop(name, proc)


def first_jvm_error(log):
    """The first line of a log that looks like the JVM's complaint, else its last line."""
    text = tail(log, 200).splitlines()
    for line in text:
        if any(w in line for w in ("Error", "error", "Unable", "warning")) and "JAVA_TOOL_OPTIONS" not in line:
            return line.strip()[:200]
    return (text[-1].strip() if text else "")[:200]


def one_line(text):
    """On one line, fit for a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    bench = Bench(spec)
    images = spec["images"]
    rounds = int(spec["rounds"])
    times = [[] for _ in images]
    failed = [None] * len(images)
    notes = [""] * len(images)

    def attempt(i, image, env=None):
        try:
            return bench.start_once(i, image, env)
        except RuntimeError as e:
            short, long, log = e.args
            print(f"startup_containerd: {long}", file=sys.stderr, flush=True)
            failed[i] = f"{short} (log: {log})"
            return None

    for i, image in enumerate(images):
        if image.get("check"):
            shown = " ".join(f"{k}={v}" for k, v in image["check"].items())
            try:
                t = bench.start_once(i, image, image["check"])
                notes[i] = f"archive in use (a start with {shown} answers)"
                print(f"startup_containerd: check {image['image']} with {shown}: answered "
                      f"in {t:.3f} s", file=sys.stderr, flush=True)
            except RuntimeError as e:
                short, long, log = e.args
                notes[i] = f"archive NOT in use: with {shown} it {short}: {first_jvm_error(log)}"
                print(f"startup_containerd: check failed: {long}", file=sys.stderr, flush=True)
    for r in range(rounds + 1):  # round 0: the warm-up
        for i, image in enumerate(images):
            if failed[i]:
                continue
            t = attempt(i, image)
            if t is None:
                continue
            print(f"startup_containerd: round {r}{' (warm-up)' if r == 0 else ''} "
                  f"{image['image']}: {t:.3f} s", file=sys.stderr, flush=True)
            if r > 0:
                times[i].append(t)
    for i, image in enumerate(images):
        if failed[i]:
            print(f"{image['id']}\tfail\t-\t-\t{one_line(failed[i])}")
        else:
            runs = times[i]
            print(f"{image['id']}\tok\t{statistics.median(runs):.3f}\t"
                  + " ".join(f"{t:.3f}" for t in runs) + f"\t{one_line(notes[i])}")


if __name__ == "__main__":
    main()
