#!/usr/bin/env python3
"""Start-up under containerd, for bench/startup_containerd.sh.

    startup_containerd.py SPECS.json

SPECS.json: {"ctr": [ctr, --address, SOCK, --namespace, NS], "snapshotter": S,
"rounds": N, "logs": DIR, "timeout": SECONDS, "images": [{"image": REF, "cwd": DIR or null,
"args": [...] or null}, ...]}.

Each image is started with `ctr run --rm --net-host` and SERVER_PORT set to a free port; the
time is from just before `ctr run` is spawned to the first HTTP 200 from /actuator/health on
127.0.0.1:PORT (polled every 20 ms). Then the task is killed (SIGKILL) and removed. One
warm-up round first (not counted), then N rounds, the images taking turns (1, 2, 3, 4, 1,
...). Prints one line per image: the median, then every run, in seconds.
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

    def start_once(self, index, image):
        self.seq += 1
        name = f"bench-{index}-{self.seq}"
        port = free_port()
        command = self.ctr + ["run", "--rm", "--net-host", "--snapshotter", self.snapshotter,
                              # The container's own cgroup, read-only, where the JVM reads its
                              # limits (as under CRI; ctr mounts none by default).
                              "--mount",
                              "type=cgroup,src=cgroup,dst=/sys/fs/cgroup,options=ro:nosuid:noexec:nodev",
                              "--env", f"SERVER_PORT={port}"]
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
                        raise RuntimeError(f"{image['image']} ({name}) exited ({proc.returncode}) "
                                           f"before answering on port {port}:\n{tail(log)}")
                    if time.monotonic() - t0 > self.timeout:
                        raise RuntimeError(f"{image['image']} ({name}) gave no 200 from "
                                           f"/actuator/health within {self.timeout:.0f} s:\n{tail(log)}")
                    time.sleep(POLL)
            finally:
                self.stop(name, proc)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    bench = Bench(spec)
    images = spec["images"]
    rounds = int(spec["rounds"])
    times = [[] for _ in images]
    try:
        for r in range(rounds + 1):  # round 0: the warm-up
            for i, image in enumerate(images):
                t = bench.start_once(i, image)
                print(f"startup_containerd: round {r}{' (warm-up)' if r == 0 else ''} "
                      f"{image['image']}: {t:.3f} s", file=sys.stderr, flush=True)
                if r > 0:
                    times[i].append(t)
    except RuntimeError as e:
        print(f"startup_containerd: {e}", file=sys.stderr)
        sys.exit(1)
    for runs in times:
        print(f"{statistics.median(runs):.3f} " + " ".join(f"{t:.3f}" for t in runs))


if __name__ == "__main__":
    main()
