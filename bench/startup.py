#!/usr/bin/env python3
"""Start-up timing for `bench/bench.sh`: how long until the app prints its first line.

  startup.py RUNS START...

where each START is one way to start the app, on this machine's `java`:

  jar JAR
      `java -jar JAR` in the jar's directory.
  image LAYOUT TAG ROOT
      the image TAG of the OCI layout LAYOUT, as hoist wrote it: its gzip layers are
      unpacked into ROOT (untimed), then the image's own Entrypoint + Cmd run in its
      WorkingDir with its Env, `/app` mapped onto ROOT/app and `java` taken from PATH.

Everything is unpacked and synced to disk first; then each START runs once untimed (a
warm-up), then RUNS rounds run every START once, in turn, so that a machine growing
busier or quieter affects them all alike. Each run is timed from just before the process
is started to the moment its first line of standard output arrives; the process must
then exit 0. Prints, per START in order, one line on stdout: the median in seconds
followed by every run's time.
"""

import json
import os
import statistics
import subprocess
import sys
import tarfile
import time

USAGE = "usage: startup.py RUNS (jar JAR | image LAYOUT TAG ROOT)..."
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


def parse_starts(args):
    """The START arguments as (argv, cwd, env) triples, images unpacked."""
    starts = []
    while args:
        if args[0] == "jar" and len(args) >= 2:
            jar = os.path.abspath(args[1])
            env = dict(os.environ)
            env.pop("SPRING_PROFILES_ACTIVE", None)
            starts.append((["java", "-jar", jar], os.path.dirname(jar), env))
            args = args[2:]
        elif args[0] == "image" and len(args) >= 4:
            starts.append(image_command(args[1], args[2], os.path.abspath(args[3])))
            args = args[4:]
        else:
            fail(USAGE)
    return starts


def main(args):
    if len(args) < 3:
        fail(USAGE)
    try:
        runs = int(args[0])
    except ValueError:
        fail(USAGE)
    starts = parse_starts(args[1:])
    os.sync()  # no write-back of the unpacked trees during the timed runs
    for start in starts:
        time_once(*start)  # warm-up: the page cache and the JDK's CDS archive
    times = [[] for _ in starts]
    for _ in range(runs):
        for i, start in enumerate(starts):
            times[i].append(time_once(*start))
            print(f"startup: {start[0][-1]} {times[i][-1]:.3f} s", file=sys.stderr)
    for runs_of_one in times:
        line = " ".join(f"{t:.3f}" for t in runs_of_one)
        print(f"{statistics.median(runs_of_one):.3f} {line}")


if __name__ == "__main__":
    main(sys.argv[1:])
