#!/usr/bin/env python3
"""Stand-in for `./gradlew bootJar` (Spring Boot can't be downloaded here).

Compiles the fixture sources in testdata/java/ (the demo app, two dependency
libraries and a stand-in Spring Boot launcher) with `javac --release 17` and
packs them the way Spring Boot 3.2's Gradle plugin does:

  build/libs/demo-0.0.1.jar        the Boot jar: META-INF/MANIFEST.MF
                                   (Main-Class = the launcher, Start-Class =
                                   the app), org/springframework/boot/loader/
                                   launch/*, BOOT-INF/classes/, BOOT-INF/lib/
                                   *.jar (stored, not deflated),
                                   BOOT-INF/classpath.idx, BOOT-INF/layers.idx
  build/libs/demo-0.0.1-plain.jar  the plain `jar` task's output, which Gradle
                                   leaves beside it (hoist's jar glob skips it)

Every entry has the same fixed timestamp and the entry order is fixed, so the
same sources give the same jar bytes (and so the same image digest) on every
run. Usage: python3 examples/demo-app/bootjar.py [--out DIR]
"""

from __future__ import annotations

import argparse
import io
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
SOURCES = REPO / "testdata" / "java"

NAME, VERSION = "demo", "0.0.1"
START_CLASS = "com.example.demo.DemoApplication"
LAUNCHER = "org.springframework.boot.loader.launch.JarLauncher"
CLASSES = "BOOT-INF/classes/"
LIB = "BOOT-INF/lib/"
FIXED_TIME = (2020, 1, 1, 0, 0, 0)
LIBS = {  # dependency jar -> the package its classes come from
    "greeting-1.0.jar": ("com/example/greeting/", "greeting", "1.0"),
    "snap-2.0-SNAPSHOT.jar": ("com/example/snap/", "snap", "2.0-SNAPSHOT"),
}


def manifest(attributes: list[tuple[str, str]]) -> bytes:
    """A manifest main section: lines wrapped at 72 bytes, CRLF, blank line at the end."""
    out = bytearray()
    for key, value in attributes:
        line = f"{key}: {value}".encode()
        width = 72
        while len(line) > width:
            out += line[:width] + b"\r\n "
            line = line[width:]
            width = 71
        out += line + b"\r\n"
    return bytes(out + b"\r\n")


class Jar:
    """Writes entries in call order, each file preceded by its parents' directory entries."""

    def __init__(self, target) -> None:
        self.zip = zipfile.ZipFile(target, "w")
        self.dirs: set[str] = set()

    def _info(self, name: str, mode: int, method: int) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
        info.create_system = 3  # unix, so the modes below mean something
        info.external_attr = mode << 16
        info.compress_type = method
        return info

    def _parents(self, name: str) -> None:
        for i, ch in enumerate(name):
            if ch == "/" and name[: i + 1] not in self.dirs:
                d = name[: i + 1]
                self.dirs.add(d)
                info = self._info(d, 0o40755, zipfile.ZIP_STORED)
                info.external_attr |= 0x10  # MS-DOS directory flag
                self.zip.writestr(info, b"")

    def manifest(self, attributes: list[tuple[str, str]]) -> None:
        self._parents("META-INF/MANIFEST.MF")
        self.file("META-INF/MANIFEST.MF", manifest(attributes))

    def file(self, name: str, data: bytes, stored: bool = False) -> None:
        self._parents(name)
        method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        self.zip.writestr(self._info(name, 0o100644, method), data)

    def close(self) -> None:
        self.zip.close()


def compile_sources(out: pathlib.Path) -> dict[str, bytes]:
    """javac every testdata/java module; returns {class path: bytes}, sorted by path."""
    sources = sorted(
        str(p)
        for module in ("app", "greeting", "snap", "bootloader")
        for p in (SOURCES / module / "src").rglob("*.java")
    )
    cmd = ["javac", "--release", "17", "-encoding", "UTF-8", "-nowarn", "-d", str(out), *sources]
    subprocess.run(cmd, check=True)
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*.class"))
    }


def lib_jar(title: str, version: str, classes: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    jar = Jar(buf)
    jar.manifest([
        ("Manifest-Version", "1.0"),
        ("Implementation-Title", title),
        ("Implementation-Version", version),
    ])
    for name, data in classes.items():
        jar.file(name, data)
    jar.close()
    return buf.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "build" / "libs"), help="output directory")
    args = parser.parse_args()
    out = pathlib.Path(args.out)

    with tempfile.TemporaryDirectory(prefix="demo-javac-") as tmp:
        classes = compile_sources(pathlib.Path(tmp))
    resource = (SOURCES / "app" / "resources" / "application.properties").read_bytes()

    def pick(prefix: str) -> dict[str, bytes]:
        return {n: b for n, b in classes.items() if n.startswith(prefix)}

    app = pick("com/example/demo/")
    loader = pick("org/springframework/boot/loader/")
    libs = {jar: lib_jar(title, version, pick(prefix)) for jar, (prefix, title, version) in LIBS.items()}
    app_entries = dict(app)
    app_entries["application.properties"] = resource
    app_entries = dict(sorted(app_entries.items()))

    if out.exists():  # like `gradle clean` for this task's outputs
        shutil.rmtree(out)
    out.mkdir(parents=True)

    boot = out / f"{NAME}-{VERSION}.jar"
    jar = Jar(boot)
    jar.manifest([
        ("Manifest-Version", "1.0"),
        ("Main-Class", LAUNCHER),
        ("Start-Class", START_CLASS),
        ("Spring-Boot-Version", "3.2.0"),
        ("Spring-Boot-Classes", CLASSES),
        ("Spring-Boot-Lib", LIB),
        ("Spring-Boot-Classpath-Index", "BOOT-INF/classpath.idx"),
        ("Spring-Boot-Layers-Index", "BOOT-INF/layers.idx"),
        ("Build-Jdk-Spec", "17"),
        ("Implementation-Title", NAME),
        ("Implementation-Version", VERSION),
    ])
    for name, data in loader.items():
        jar.file(name, data)
    for name, data in app_entries.items():
        jar.file(CLASSES + name, data)
    for name, data in libs.items():
        jar.file(LIB + name, data, stored=True)  # nested jars are stored, as Boot requires
    jar.file("BOOT-INF/classpath.idx", "".join(f'- "{LIB}{n}"\n' for n in libs).encode())
    releases = [n for n in libs if "-SNAPSHOT" not in n]
    snapshots = [n for n in libs if "-SNAPSHOT" in n]
    layers = '- "dependencies":\n' + "".join(f'  - "{LIB}{n}"\n' for n in releases)
    layers += '- "spring-boot-loader":\n  - "org/"\n'
    layers += '- "snapshot-dependencies":\n' + "".join(f'  - "{LIB}{n}"\n' for n in snapshots)
    layers += (
        f'- "application":\n  - "{CLASSES}"\n  - "BOOT-INF/classpath.idx"\n'
        '  - "BOOT-INF/layers.idx"\n  - "META-INF/"\n'
    )
    jar.file("BOOT-INF/layers.idx", layers.encode())
    jar.close()

    plain = out / f"{NAME}-{VERSION}-plain.jar"
    jar = Jar(plain)
    jar.manifest([("Manifest-Version", "1.0")])
    for name, data in app_entries.items():
        jar.file(name, data)
    jar.close()

    for path in (boot, plain):
        rel = os.path.relpath(path, os.getcwd())
        print(f"bootjar: wrote {rel} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
