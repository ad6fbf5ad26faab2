#!/usr/bin/env python3
"""Start-up timing for `bench/bench.sh`: how long until the app prints its first line.

Two ways to start the app, both on this machine's `java`:

  startup.py jar RUNS JAR
      `java -jar JAR` in the jar's directory.
  startup.py image RUNS LAYOUT TAG ROOT
      the image TAG of the OCI layout LAYOUT, as hoist wrote it: its gzip layers are
      unpacked into ROOT (untimed), then the image's own Entrypoint + Cmd run in its
      WorkingDir with its Env, `/app` mapped onto ROOT/app and `java` taken from PATH.

Each run is timed from just before the process is started to the moment its first line
of standard output arrives; the process must then exit 0. Prints one line per run on
stderr and, on stdout, the median in seconds followed by every run's time.
"""

import json
import os
import statistics
import subprocess
import sys
import tarfile
import time

USAGE = "usage: startup.py jar RUNS JAR | startup.py image RUNS LAYOUT TAG ROOT"
FIRST_LINE = b"demo: hello from greeting-lib"


def fail(message):
    print(f"startup: {message}", file=sys.stderr)
    sys.exit(1)


def blob(layout, digest):
    algorithm, hex_digest = digest.split(":", 1)
    return os.path.join(layout, "blobs", algorithm, hex_digest)


def read_json(layout, digest):
    with open(blob(layout, digest), "rb") as f:
        return json.load(f)


def image_command(layout, tag, root):
    """Unpacks the image into ROOT; returns (argv, cwd, env) with /app mapped onto ROOT."""
    with open(os.path.join(layout, "index.json"), "rb") as f:
        index = json.load(f)
    manifests = [
        m
        for m in index.get("manifests", [])
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag
    ]
    if len(manifests) != 1:
        fail(f"{layout}: no single manifest tagged {tag}")
    manifest = read_json(layout, manifests[0]["digest"])
    config = read_json(layout, manifest["config"]["digest"]).get("config", {})
    os.makedirs(root, exist_ok=True)
    for layer in manifest["layers"]:
        if not layer["mediaType"].endswith("tar+gzip"):
            fail(f"layer {layer['digest']}: {layer['mediaType']} (gzip layers only here)")
        with tarfile.open(blob(layout, layer["digest"]), "r:gz") as tar:
            tar.extractall(root, filter="tar")

    def mapped(arg):
        parts = []
        for part in arg.split(":"):
            if part == "/app" or part.startswith("/app/"):
                part = root + part
            parts.append(part)
        return ":".join(parts)

    argv = list(config.get("Entrypoint") or []) + list(config.get("Cmd") or [])
    if not argv or argv[0] != "java":
        fail(f"the image's entrypoint does not start with java: {argv}")
    env = dict(os.environ)
    env.pop("SPRING_PROFILES_ACTIVE", None)
    for pair in config.get("Env") or []:
        key, _, value = pair.partition("=")
        if key != "PATH":
            env[key] = value
    cwd = mapped(config.get("WorkingDir") or "/")
    return [mapped(a) for a in argv], cwd, env


def time_once(argv, cwd, env):
    start = time.perf_counter()
    process = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    first = process.stdout.readline()
    elapsed = time.perf_counter() - start
    rest, err = process.communicate(timeout=120)
    if process.returncode != 0 or first.rstrip(b"\n") != FIRST_LINE:
        fail(
            f"{' '.join(argv)}: exit {process.returncode}, first line {first!r}\n"
            + err.decode(errors="replace")
        )
    return elapsed


def main(args):
    if len(args) < 3 or args[0] not in ("jar", "image"):
        fail(USAGE)
    try:
        runs = int(args[1])
    except ValueError:
        fail(USAGE)
    if args[0] == "jar" and len(args) == 3:
        jar = os.path.abspath(args[2])
        env = dict(os.environ)
        env.pop("SPRING_PROFILES_ACTIVE", None)
        argv, cwd = ["java", "-jar", jar], os.path.dirname(jar)
    elif args[0] == "image" and len(args) == 5:
        argv, cwd, env = image_command(args[2], args[3], os.path.abspath(args[4]))
    else:
        fail(USAGE)
    time_once(argv, cwd, env)  # warm-up: the page cache and the JDK's CDS archive
    times = []
    for _ in range(runs):
        times.append(time_once(argv, cwd, env))
        print(f"startup: {args[0]} {times[-1]:.3f} s", file=sys.stderr)
    print(f"{statistics.median(times):.3f} " + " ".join(f"{t:.3f}" for t in times))


if __name__ == "__main__":
    main(sys.argv[1:])
