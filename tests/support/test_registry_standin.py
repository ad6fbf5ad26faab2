#!/usr/bin/env python3
"""Tests for tests/support/registry_standin.py, with real clients.

    python3 tests/support/test_registry_standin.py

Starts, on 127.0.0.1 and free ports, the AWS emulator
(tests/support/ecs_emulator.py, moto) once for the ECR tests, and for every
test a real distribution registry (Debian's `docker-registry`, the
backend) and the stand-in in front of it. Clients: skopeo, and http.client
for the exact answers. Needs the Debian packages docker-registry and skopeo
(the tests fail, not skip, without them).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config

HERE = Path(__file__).resolve().parent
STANDIN = HERE / "registry_standin.py"
EMULATOR = HERE / "ecs_emulator.py"
REGION = "ap-northeast-2"
ACCOUNT = "123456789012"  # moto's default account
MIB = 1024 * 1024
TWELVE_HOURS = 12 * 3600
START_SECONDS = 30  # for a server to start listening
SKOPEO_SECONDS = 120
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
SBOM_TYPE = "application/vnd.cyclonedx+json"
ACCEPT_MANIFESTS = ", ".join((
    MANIFEST_TYPE,
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
))
MOTO_CONSTANT_PASSWORD = f"{ACCOUNT}-auth-token"  # what plain moto hands out
EXPIRED_MESSAGE = "Your authorization token has expired. Reauthenticate and try again."
PART_TOO_SMALL = "Layer part size must be at least 5 MiB (LayerPartTooSmallException)"
HUB_RATE_LIMITED = ("You have reached your pull rate limit. You may increase the limit by authenticating and "
                    "upgrading: https://www.docker.com/increase-rate-limit")
S3_TWO_AUTHS = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>Only one auth '
                "mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or "
                "the Authorization header should be specified</Message><ArgumentName>Authorization</ArgumentName>"
                "</Error>")
EXPECT_TIMEOUT = 30  # curl waits this long for 100 Continue: far longer than a test may take
TOOLS = {"docker-registry": "docker-registry", "skopeo": "skopeo", "curl": "curl"}  # command -> Debian package


def require_tools() -> None:
    for command, package in TOOLS.items():
        if shutil.which(command) is None:
            raise AssertionError(f"{command} is missing: install the Debian package {package} "
                                 f"(apt-get install {package})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --- processes ---------------------------------------------------------------------

class Process:
    """A child process, its stderr kept in a temporary file."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.log = tempfile.TemporaryFile("w+")
        environment = dict(os.environ, PYTHONUNBUFFERED="1", AWS_ACCESS_KEY_ID="testing",
                           AWS_SECRET_ACCESS_KEY="testing")
        environment.update(env or {})
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=self.log, env=environment)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def wait_for(self, ready, what: str) -> None:
        """Polls `ready()` until it is true (at most START_SECONDS)."""
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{what} exited: {self.output()}")
            if ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{what} did not start within {START_SECONDS} s")

    def wait_listening(self, port: int, what: str) -> None:
        def listening() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return True
            except OSError:
                return False
        self.wait_for(listening, what)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


class Emulator(Process):
    """The project's AWS emulator (moto with the ECS patches)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        super().__init__([sys.executable, str(EMULATOR), "--port", str(self.port)])
        self.wait_listening(self.port, "the AWS emulator")

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(retries={"max_attempts": 1}))


class BackendRegistry(Process):
    """docker-registry serving from a temporary directory, without auth."""

    def __init__(self, directory: Path) -> None:
        port = free_port()
        self.address = f"127.0.0.1:{port}"
        config = directory / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {directory / 'storage'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: {self.address}\n"
        )
        super().__init__(["docker-registry", "serve", str(config)])
        self.wait_listening(port, "docker-registry")


class StandinProcess(Process):
    def __init__(self, directory: Path, model: str, backend: str, emulator: Emulator | None = None) -> None:
        ready = directory / f"ready-{model}.json"
        argv = [sys.executable, str(STANDIN), "--model", model, "--backend", backend,
                "--region", REGION, "--account", ACCOUNT, "--ready-file", str(ready)]
        if emulator is not None:
            argv += ["--aws-endpoint", emulator.endpoint]
        super().__init__(argv)
        self.wait_for(ready.exists, "the stand-in")
        addresses = json.loads(ready.read_text())
        self.registry = addresses["registry"]
        self.storage = addresses.get("storage")
        self.auth = addresses.get("auth")

    def log_entries(self) -> list[dict]:
        return call(self.registry, "GET", "/_standin/log").json()

    def settings(self, **changes) -> dict:
        reply = call(self.registry, "POST", "/_standin/settings", body=json.dumps(changes).encode())
        assert reply.status == 200, reply
        return reply.json()

    def expire_tokens(self) -> dict:
        return call(self.registry, "POST", "/_standin/expire-tokens").json()

    def stop(self) -> None:
        output = self.output()
        super().stop()
        assert self.proc.returncode == 0, f"the stand-in exited {self.proc.returncode}: {output}"
        assert "Traceback" not in output, output


# --- HTTP --------------------------------------------------------------------------

@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)


def call(address: str, method: str, target: str, headers: dict | None = None, body=None) -> Reply:
    """One request on a fresh connection; `target` may be an absolute URL."""
    parts = urllib.parse.urlsplit(target)
    if parts.netloc:
        address, target = parts.netloc, parts.path + (f"?{parts.query}" if parts.query else "")
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def path_of(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- images ------------------------------------------------------------------------

@dataclass
class Image:
    config: bytes
    layer: bytes
    manifest: bytes

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def layer_digest(self) -> str:
        return sha256(self.layer)

    @property
    def config_digest(self) -> str:
        return sha256(self.config)


def make_image(layer_bytes: int) -> Image:
    """An OCI image of one gzip layer of `layer_bytes` random bytes."""
    raw = os.urandom(layer_bytes)
    layer = gzip.compress(raw, compresslevel=1, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [sha256(raw)]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": sha256(layer), "size": len(layer)}],
    }).encode()
    return Image(config, layer, manifest)


def write_layout(directory: Path, image: Image) -> None:
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    for data in (image.config, image.layer, image.manifest):
        (blobs / sha256(data).split(":")[1]).write_bytes(data)
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": MANIFEST_TYPE, "digest": image.digest, "size": len(image.manifest)}]}))


def layout_digest(directory: Path) -> str:
    return json.loads((directory / "index.json").read_text())["manifests"][0]["digest"]


def backend_blob(backend: str, repo: str, data: bytes) -> str:
    """Uploads a blob straight to the backend (POST, then PUT with it all)."""
    start = call(backend, "POST", f"/v2/{repo}/blobs/uploads/")
    assert start.status == 202, start
    location = path_of(start.headers["Location"])
    digest = sha256(data)
    separator = "&" if "?" in location else "?"
    done = call(backend, "PUT", f"{location}{separator}digest={digest}",
                {"Content-Type": "application/octet-stream"}, data)
    assert done.status == 201, done
    return digest


def backend_image(backend: str, repo: str, tag: str | None, image: Image) -> None:
    """The image's blobs on the backend, and its manifest under `tag`."""
    backend_blob(backend, repo, image.config)
    backend_blob(backend, repo, image.layer)
    if tag is not None:
        put = call(backend, "PUT", f"/v2/{repo}/manifests/{tag}", {"Content-Type": MANIFEST_TYPE}, image.manifest)
        assert put.status == 201, put


def make_referrer(subject: bytes, artifact_type: str | None, document: bytes,
                  subject_type: str = MANIFEST_TYPE, annotations: dict | None = None) -> bytes:
    """An OCI 1.1 artifact manifest (image-spec "Guidelines for Artifact
    Usage"): the empty config, one layer, `subject` the manifest `subject`."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": EMPTY_TYPE, "digest": sha256(b"{}"), "size": 2, "data": "e30="},
        "layers": [{"mediaType": artifact_type or SBOM_TYPE, "digest": sha256(document), "size": len(document)}],
        "subject": {"mediaType": subject_type, "digest": sha256(subject), "size": len(subject)},
        "annotations": annotations or {"org.opencontainers.image.created": "1970-01-01T00:00:00Z"},
    }
    if artifact_type:
        manifest["artifactType"] = artifact_type
    return json.dumps(manifest).encode()


# --- credentials -------------------------------------------------------------------

def make_password(expiration: float, account: str = ACCOUNT) -> str:
    """An ECR-shaped password: base64 of JSON with expiration and accountId."""
    claims = {"payload": secrets.token_urlsafe(24), "datakey": secrets.token_urlsafe(24), "version": "2",
              "type": "DATA_KEY", "expiration": int(expiration), "accountId": account}
    return base64.b64encode(json.dumps(claims).encode()).decode()


def password_is_ecr_shaped(password: str) -> bool:
    try:
        claims = json.loads(base64.b64decode(password, validate=True))
    except ValueError:
        return False
    return isinstance(claims, dict) and "expiration" in claims and "accountId" in claims


def ecr_password(emulator: Emulator) -> str:
    """The password of the emulator's GetAuthorizationToken, when it is
    ECR-shaped; plain moto's constant one is replaced by a well-formed one
    (until the emulator hands out ECR-shaped tokens)."""
    data = emulator.client("ecr").get_authorization_token()["authorizationData"][0]
    user, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    assert user == "AWS", user
    if password_is_ecr_shaped(password):
        return password
    assert password == MOTO_CONSTANT_PASSWORD, password
    return make_password(time.time() + TWELVE_HOURS)


def basic(password: str, user: str = "AWS") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- skopeo --------------------------------------------------------------------------

def skopeo(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=str(home), REGISTRY_AUTH_FILE=str(home / "auth.json"))
    result = subprocess.run(["skopeo", "--insecure-policy", *args], env=env, capture_output=True, text=True,
                            timeout=SKOPEO_SECONDS)
    if check and result.returncode != 0:
        raise AssertionError(f"skopeo {' '.join(args)} failed: {result.stderr}")
    return result


class StandinCase(unittest.TestCase):
    """A temporary directory and a backend for every test."""

    model = "ecr"
    emulator: Emulator | None = None

    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="standin-test-"))
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.backend = BackendRegistry(self.tmp)
        self.addCleanup(self.backend.stop)
        self.standin = StandinProcess(self.tmp, self.model, self.backend.address, self.emulator)
        self.addCleanup(self.standin.stop)

    def entries(self, listener: str = "registry", method: str | None = None, contains: str = "") -> list[dict]:
        return [e for e in self.standin.log_entries()
                if e["listener"] == listener and (method is None or e["method"] == method) and contains in e["path"]]

    def layout(self, name: str, image: Image) -> Path:
        directory = self.tmp / name
        write_layout(directory, image)
        return directory


class EcrTest(StandinCase):
    @classmethod
    def setUpClass(cls) -> None:
        require_tools()
        cls.emulator = Emulator()
        cls.ecr = cls.emulator.client("ecr")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.emulator.stop()

    def setUp(self) -> None:
        super().setUp()
        self.password = ecr_password(self.emulator)
        self.auth = {"Authorization": basic(self.password)}

    # --- helpers ---

    def repository(self, name: str, **options) -> str:
        self.ecr.create_repository(repositoryName=name, **options)
        return name

    def request(self, method: str, target: str, headers: dict | None = None, body=None) -> Reply:
        return call(self.standin.registry, method, target, dict(self.auth, **(headers or {})), body)

    def assert_error(self, reply: Reply, status: int, code: str, message: str | None = None) -> None:
        self.assertEqual(reply.status, status, reply.body)
        (error,) = reply.json()["errors"]
        self.assertEqual(error["code"], code)
        if message is not None:
            self.assertEqual(error["message"], message)

    def start_upload(self, repo: str) -> str:
        reply = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        self.assertEqual(reply.status, 202, reply.body)
        self.assertIsNone(reply.headers["Range"])
        self.assertEqual(reply.headers["Content-Length"], "0")
        return reply.headers["Location"]

    def patch(self, location: str, start: int, data: bytes) -> Reply:
        return self.request("PATCH", location, {"Content-Range": f"{start}-{start + len(data) - 1}",
                                                "Content-Type": "application/octet-stream"}, data)

    def read_blob(self, repo: str, digest: str) -> bytes:
        """Through the redirect, as a client that drops Authorization does."""
        redirect = self.request("GET", f"/v2/{repo}/blobs/{digest}")
        self.assertEqual(redirect.status, 307, redirect.body)
        self.assertEqual(redirect.headers["Content-Length"], "0")
        location = redirect.headers["Location"]
        self.assertTrue(location.startswith(f"http://{self.standin.storage}/prod-{REGION}-starport-layer-bucket/"
                                            f"{ACCOUNT}/{repo}/{digest}?X-Amz-Algorithm=AWS4-HMAC-SHA256&"),
                        location)
        blob = call(self.standin.storage, "GET", location)
        self.assertEqual(blob.status, 200, blob.body)
        self.assertEqual(blob.headers["Content-Type"], "application/octet-stream")
        return blob.body

    # --- skopeo ---

    def test_skopeo_pushes_and_pulls(self):
        self.repository("fair")
        image = make_image(12 * MIB)
        source, out = self.layout("in", image), self.tmp / "out"
        creds = f"AWS:{self.password}"
        reference = f"docker://{self.standin.registry}/fair:1"
        skopeo(self.tmp, "copy", "--dest-tls-verify=false", "--dest-creds", creds, f"oci:{source}", reference)
        skopeo(self.tmp, "copy", "--src-tls-verify=false", "--src-creds", creds, reference, f"oci:{out}")
        self.assertEqual(layout_digest(out), image.digest)
        raw = skopeo(self.tmp, "inspect", "--tls-verify=false", "--creds", creds, "--raw", reference).stdout
        self.assertEqual(raw.encode(), image.manifest)
        patches = self.entries(method="PATCH")
        self.assertTrue(patches)
        self.assertEqual({e["status"] for e in patches}, {201})
        self.assertEqual(sum(e["bytes"] for e in patches), len(image.config) + len(image.layer))
        blob_gets = self.entries(method="GET", contains="/blobs/sha256:")
        self.assertIn(307, {e["status"] for e in blob_gets})
        storage = self.entries("storage", "GET")
        self.assertTrue(storage)
        self.assertEqual({(e["status"], e["authorization"]) for e in storage}, {(200, False)})

    # --- uploads ---

    def test_patch_parts_answer_201_with_a_range_that_stops(self):
        repo = self.repository("parts")
        data = os.urandom(10 * MIB + 1)
        location = self.start_upload(repo)
        self.assertRegex(location, rf"^http://{self.standin.registry}/v2/parts/blobs/uploads/[0-9a-f-]{{36}}$")
        for start, end in ((0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, 10 * MIB + 1)):
            reply = self.patch(location, start, data[start:end])
            self.assertEqual(reply.status, 201, reply.body)
            self.assertEqual(reply.headers["Location"], location)
            self.assertEqual(reply.headers["Range"], "0-5242879")
            self.assertEqual(reply.headers["Content-Length"], "0")
            self.assertEqual(reply.headers["Docker-Upload-UUID"], location.rsplit("/", 1)[1])
        digest = sha256(data)
        done = self.request("PUT", f"{location}?digest={digest}")
        self.assertEqual(done.status, 201, done.body)
        self.assertEqual(done.headers["Docker-Content-Digest"], digest)
        self.assertEqual(done.headers["Location"], f"http://{self.standin.registry}/v2/parts/blobs/{digest}")
        self.assertEqual(sha256(self.read_blob(repo, digest)), digest)

    def test_a_chunked_patch_is_streamed(self):
        repo = self.repository("streamed")
        data = os.urandom(6 * MIB + 123)
        location = self.start_upload(repo)
        pieces = (data[i:i + MIB] for i in range(0, len(data), MIB))
        # http.client sends an iterable body of unknown length chunked.
        reply = self.request("PATCH", location, {"Content-Type": "application/octet-stream"}, pieces)
        self.assertEqual(reply.status, 201, reply.body)
        self.assertEqual(reply.headers["Range"], f"0-{len(data) - 1}")
        digest = sha256(data)
        self.assertEqual(self.request("PUT", f"{location}?digest={digest}").status, 201)
        self.assertEqual(self.read_blob(repo, digest), data)
        (patch,) = self.entries(method="PATCH")
        self.assertEqual((patch["status"], patch["bytes"]), (201, len(data)))

    def test_absolute_urls_use_the_clients_host(self):
        host = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"  # as through curl --resolve
        repo = self.repository("hosted")
        start = self.request("POST", f"/v2/{repo}/blobs/uploads/", {"Host": host})
        location = start.headers["Location"]
        self.assertTrue(location.startswith(f"http://{host}/v2/{repo}/blobs/uploads/"), location)
        patch = self.request("PATCH", path_of(location), {"Host": host, "Content-Range": "0-9"}, b"0123456789")
        self.assertEqual((patch.status, patch.headers["Location"]), (201, location))
        digest = sha256(b"0123456789")
        done = self.request("PUT", f"{path_of(location)}?digest={digest}", {"Host": host})
        self.assertEqual(done.headers["Location"], f"http://{host}/v2/{repo}/blobs/{digest}")

    def curl_patch(self, location: str, data: Path, authorization: bool) -> tuple[str, float]:
        """curl's PATCH with Expect: 100-continue: (status, seconds taken)."""
        argv = ["curl", "-sS", "-o", os.devnull, "-w", "%{http_code}", "-X", "PATCH",
                "--expect100-timeout", str(EXPECT_TIMEOUT), "-H", "Expect: 100-continue",
                "-H", "Content-Type: application/octet-stream", "--data-binary", f"@{data}", location]
        if authorization:
            argv[1:1] = ["-H", f"Authorization: {self.auth['Authorization']}"]
        started = time.monotonic()
        result = subprocess.run(argv, capture_output=True, text=True, timeout=2 * EXPECT_TIMEOUT)
        return result.stdout, time.monotonic() - started

    def test_clients_sending_expect_do_not_wait(self):
        repo = self.repository("expect")
        data = self.tmp / "part"
        data.write_bytes(os.urandom(2 * MIB))
        location = self.start_upload(repo)
        status, seconds = self.curl_patch(location, data, authorization=True)
        self.assertEqual(status, "201")
        self.assertLess(seconds, EXPECT_TIMEOUT / 3)
        status, seconds = self.curl_patch(location, data, authorization=False)
        self.assertEqual(status, "401")
        self.assertLess(seconds, EXPECT_TIMEOUT / 3)
        self.assertEqual([(e["status"], e["bytes"]) for e in self.entries(method="PATCH")],
                         [(201, 2 * MIB), (401, 0)])

    def test_a_small_part_that_is_not_last_fails_the_upload(self):
        repo = self.repository("small-parts")
        data = os.urandom(MIB + 1)
        location = self.start_upload(repo)
        self.assertEqual(self.patch(location, 0, data[:MIB]).status, 201)
        self.assertEqual(self.patch(location, MIB, data[MIB:]).status, 201)
        self.assert_error(self.request("PUT", f"{location}?digest={sha256(data)}"),
                          400, "BLOB_UPLOAD_INVALID", PART_TOO_SMALL)
        self.assert_error(self.patch(location, MIB + 1, b"x"), 404, "BLOB_UPLOAD_UNKNOWN")

    def test_upload_status_and_cancel(self):
        repo = self.repository("cancelled")
        location = self.start_upload(repo)
        self.assertEqual(self.patch(location, 0, b"z" * 10).status, 201)
        status = self.request("GET", location)
        self.assertEqual((status.status, status.headers["Range"], status.headers["Location"]), (204, "0-9", location))
        self.assertEqual(self.request("DELETE", location).status, 204)
        self.assert_error(self.patch(location, 10, b"z"), 404, "BLOB_UPLOAD_UNKNOWN")

    def test_a_patch_that_skips_ahead_is_refused(self):
        repo = self.repository("skip-ahead")
        location = self.start_upload(repo)
        self.assertEqual(self.patch(location, 0, b"a" * 100).status, 201)
        self.assert_error(self.patch(location, 200, b"b" * 100), 416, "BLOB_UPLOAD_INVALID")
        self.assertEqual(self.patch(location, 100, b"b" * 100).status, 201)

    # --- auth ---

    def test_no_auth_gets_the_basic_challenge(self):
        for headers in ({}, {"Authorization": basic(self.password, user="bob")},
                        {"Authorization": basic(make_password(time.time() + 60, account="999999999999"))},
                        {"Authorization": basic("not-a-token")}):
            reply = call(self.standin.registry, "GET", "/v2/", headers)
            self.assertEqual(reply.status, 401, headers)
            self.assertEqual(reply.headers["WWW-Authenticate"],
                             f'Basic realm="https://{self.standin.registry}/",service="ecr.amazonaws.com"')
            self.assertEqual(reply.json(), {"errors": [{"code": "UNAUTHORIZED", "message": "Not Authorized"}]})
        reply = call(self.standin.registry, "GET", "/v2/", {"Host": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"})
        self.assertEqual(reply.headers["WWW-Authenticate"],
                         f'Basic realm="https://{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/",service="ecr.amazonaws.com"')
        reply = self.request("GET", "/v2/")
        self.assertEqual((reply.status, reply.json()), (200, {}))

    def test_expired_tokens_are_denied(self):
        expired = {"Authorization": basic(make_password(time.time() - 1))}
        self.assert_error(call(self.standin.registry, "GET", "/v2/", expired), 403, "DENIED", EXPIRED_MESSAGE)
        self.assertEqual(self.request("GET", "/v2/").status, 200)
        self.assertGreaterEqual(self.standin.expire_tokens()["expired"], 1)
        self.assert_error(self.request("GET", "/v2/"), 403, "DENIED", EXPIRED_MESSAGE)
        # A token the stand-in never saw (a new GetAuthorizationToken) is good.
        fresh = {"Authorization": basic(make_password(time.time() + TWELVE_HOURS))}
        self.assertEqual(call(self.standin.registry, "GET", "/v2/", fresh).status, 200)

    def test_a_missing_repository_is_name_unknown(self):
        self.assert_error(self.request("GET", "/v2/team/nothing-here/tags/list"), 404, "NAME_UNKNOWN",
                          f"The repository with name 'team/nothing-here' does not exist in the registry "
                          f"with id '{ACCOUNT}'")

    # --- mounts ---

    def test_mounts(self):
        source, target = self.repository("mount-src"), self.repository("team/mount-dst")
        image = make_image(1000)
        backend_image(self.backend.address, source, "1", image)
        mount = f"/v2/{target}/blobs/uploads/?mount={image.layer_digest}&from={source}"
        plain = self.request("POST", mount)
        self.assertEqual(plain.status, 202, plain.body)
        self.assertRegex(plain.headers["Location"], rf"^http://{self.standin.registry}/v2/{target}/blobs/uploads/")
        self.standin.settings(mount_refusal=405)
        self.assert_error(self.request("POST", mount), 405, "UNSUPPORTED")
        self.standin.settings(mount_refusal=None, blob_mounting=True)
        mounted = self.request("POST", mount)
        self.assertEqual(mounted.status, 201, mounted.body)
        self.assertEqual(self.request("HEAD", f"/v2/{target}/blobs/{image.layer_digest}").status, 200)
        lone = backend_blob(self.backend.address, source, b"referenced by no manifest")
        unreferenced = self.request("POST", f"/v2/{target}/blobs/uploads/?mount={lone}&from={source}")
        self.assertEqual(unreferenced.status, 202, unreferenced.body)

    # --- manifests ---

    def test_manifest_get_has_no_digest_header_but_head_has(self):
        repo = self.repository("heads")
        image = make_image(1000)
        backend_image(self.backend.address, repo, "1", image)
        get = self.request("GET", f"/v2/{repo}/manifests/1", {"Accept": ACCEPT_MANIFESTS})
        self.assertEqual((get.status, get.body), (200, image.manifest))
        self.assertIsNone(get.headers["Docker-Content-Digest"])
        head = self.request("HEAD", f"/v2/{repo}/manifests/1", {"Accept": ACCEPT_MANIFESTS})
        self.assertEqual(head.status, 200)
        self.assertEqual(head.headers["Docker-Content-Digest"], image.digest)
        self.assertEqual(head.body, b"")

    def put_manifest(self, repo: str, ref: str, image: Image) -> Reply:
        return self.request("PUT", f"/v2/{repo}/manifests/{ref}", {"Content-Type": MANIFEST_TYPE}, image.manifest)

    def test_immutable_tags(self):
        repo = self.repository("immutable", imageTagMutability="IMMUTABLE")
        image = make_image(1000)
        backend_image(self.backend.address, repo, None, image)
        self.assertEqual(self.put_manifest(repo, "v1", image).status, 201)
        message = "The image tag 'v1' already exists in the 'immutable' repository and cannot be overwritten because the {} is immutable."
        self.assert_error(self.put_manifest(repo, "v1", image), 400, "TAG_INVALID", message.format("tag"))
        self.standin.settings(immutable_wording="repository")
        self.assert_error(self.put_manifest(repo, "v1", image), 400, "TAG_INVALID", message.format("repository"))
        self.assertEqual(self.put_manifest(repo, image.digest, image).status, 201)

    def test_immutable_tags_with_exclusions(self):
        dev = [{"filterType": "WILDCARD", "filter": "dev*"}]
        cases = (("IMMUTABLE_WITH_EXCLUSION", "dev-1", False), ("IMMUTABLE_WITH_EXCLUSION", "1.0", True),
                 ("MUTABLE_WITH_EXCLUSION", "dev-1", True), ("MUTABLE_WITH_EXCLUSION", "1.0", False))
        image = make_image(1000)
        for index, (mutability, tag, immutable) in enumerate(cases):
            repo = self.repository(f"exclusions-{index}", imageTagMutability=mutability,
                                   imageTagMutabilityExclusionFilters=dev)
            backend_image(self.backend.address, repo, None, image)
            self.assertEqual(self.put_manifest(repo, tag, image).status, 201)
            self.assertEqual(self.put_manifest(repo, tag, image).status, 400 if immutable else 201, (mutability, tag))
            time.sleep(0.2)  # stays under the PutImage rate limit

    def test_manifest_puts_are_throttled(self):
        repo = self.repository("throttled")
        image = make_image(1000)
        backend_image(self.backend.address, repo, None, image)
        replies: list[Reply] = []
        lock = threading.Lock()

        def put_five() -> None:
            for _ in range(5):
                reply = self.put_manifest(repo, image.digest, image)
                with lock:
                    replies.append(reply)

        threads = [threading.Thread(target=put_five) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        self.assertEqual(len(replies), 25)
        throttled = [r for r in replies if r.status == 429]
        self.assertTrue(throttled, [r.status for r in replies])
        self.assertEqual({r.status for r in replies}, {201, 429})
        for reply in throttled:
            self.assertIsNone(reply.headers["Retry-After"])
            self.assertEqual(reply.json(), {"errors": [{"code": "TOOMANYREQUESTS", "message": "Rate exceeded"}]})
        logged = [e["status"] for e in self.entries(method="PUT", contains="/manifests/")]
        self.assertEqual(logged.count(429), len(throttled))

    def test_tag_list_is_text_plain(self):
        repo = self.repository("tagged")
        backend_image(self.backend.address, repo, "1", make_image(1000))
        reply = self.request("GET", f"/v2/{repo}/tags/list")
        self.assertEqual(reply.status, 200)
        self.assertEqual(reply.headers["Content-Type"], "text/plain; charset=utf-8")
        self.assertEqual(reply.json(), {"name": repo, "tags": ["1"]})

    # --- referrers ---

    def push_referrer(self, repo: str, referrer: bytes, document: bytes) -> Reply:
        backend_blob(self.backend.address, repo, b"{}")
        backend_blob(self.backend.address, repo, document)
        return self.request("PUT", f"/v2/{repo}/manifests/{sha256(referrer)}", {"Content-Type": MANIFEST_TYPE},
                            referrer)

    def referrers(self, repo: str, subject: str, query: str = "") -> Reply:
        reply = self.request("GET", f"/v2/{repo}/referrers/{subject}{query}")
        self.assertEqual(reply.status, 200, reply.body)
        self.assertEqual(reply.headers["Content-Type"], INDEX_TYPE)
        return reply

    def test_referrers_api(self):
        repo = self.repository("referred")
        image = make_image(1000)
        backend_image(self.backend.address, repo, "1", image)
        empty = self.referrers(repo, image.digest)
        self.assertEqual(empty.json(), {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": []})
        sbom = make_referrer(image.manifest, SBOM_TYPE, b'{"bomFormat":"CycloneDX"}',
                             annotations={"dev.hoist.attestation": "sbom"})
        put = self.push_referrer(repo, sbom, b'{"bomFormat":"CycloneDX"}')
        self.assertEqual(put.status, 201, put.body)
        self.assertEqual(put.headers["OCI-Subject"], image.digest)
        self.assertEqual(put.headers["Docker-Content-Digest"], sha256(sbom))
        # No artifactType: the config's media type stands in.
        plain = make_referrer(image.manifest, None, b"signature")
        self.assertEqual(self.push_referrer(repo, plain, b"signature").headers["OCI-Subject"], image.digest)
        listed = self.referrers(repo, image.digest).json()["manifests"]
        self.assertEqual(listed, [
            {"mediaType": MANIFEST_TYPE, "digest": sha256(sbom), "size": len(sbom), "artifactType": SBOM_TYPE,
             "annotations": {"dev.hoist.attestation": "sbom"}},
            {"mediaType": MANIFEST_TYPE, "digest": sha256(plain), "size": len(plain), "artifactType": EMPTY_TYPE,
             "annotations": {"org.opencontainers.image.created": "1970-01-01T00:00:00Z"}},
        ])
        # The same referrer again: listed once.
        self.assertEqual(self.push_referrer(repo, sbom, b'{"bomFormat":"CycloneDX"}').status, 201)
        self.assertEqual(len(self.referrers(repo, image.digest).json()["manifests"]), 2)
        filtered = self.referrers(repo, image.digest, f"?artifactType={urllib.parse.quote(SBOM_TYPE, safe='')}")
        self.assertEqual(filtered.headers["OCI-Filters-Applied"], "artifactType")
        self.assertEqual([d["digest"] for d in filtered.json()["manifests"]], [sha256(sbom)])
        self.assertIsNone(self.referrers(repo, image.digest).headers["OCI-Filters-Applied"])
        # A manifest without a subject gets no OCI-Subject; a referrer is
        # read back byte for byte.
        self.assertIsNone(self.put_manifest(repo, "2", image).headers["OCI-Subject"])
        get = self.request("GET", f"/v2/{repo}/manifests/{sha256(sbom)}", {"Accept": ACCEPT_MANIFESTS})
        self.assertEqual((get.status, get.body), (200, sbom))
        self.assert_error(self.request("GET", f"/v2/{repo}/referrers/not-a-digest"), 400, "DIGEST_INVALID")
        missing = self.request("GET", f"/v2/absent/referrers/{image.digest}")
        self.assert_error(missing, 404, "NAME_UNKNOWN")

    def test_a_referrer_of_an_index_is_refused_with_405(self):
        repo = self.repository("index-subject")
        index = json.dumps({"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": []}).encode()
        referrer = make_referrer(index, SBOM_TYPE, b"{}", subject_type=INDEX_TYPE)
        self.assert_error(self.push_referrer(repo, referrer, b"{}"), 405, "UNSUPPORTED")
        self.assertEqual(self.referrers(repo, sha256(index)).json()["manifests"], [])

    def test_without_the_referrers_api(self):
        repo = self.repository("before-2024")
        self.standin.settings(referrers_api=False)
        image = make_image(1000)
        backend_image(self.backend.address, repo, "1", image)
        referrer = make_referrer(image.manifest, SBOM_TYPE, b"{}")
        put = self.push_referrer(repo, referrer, b"{}")
        self.assertEqual(put.status, 201, put.body)
        self.assertIsNone(put.headers["OCI-Subject"])
        self.assertEqual(self.request("GET", f"/v2/{repo}/referrers/{image.digest}").status, 404)

    # --- blobs ---

    def test_storage_refuses_a_second_auth_mechanism(self):
        repo = self.repository("storage")
        digest = backend_blob(self.backend.address, repo, b"some layer")
        location = self.request("GET", f"/v2/{repo}/blobs/{digest}").headers["Location"]
        refused = call(self.standin.storage, "GET", location, self.auth)
        self.assertEqual(refused.status, 400)
        self.assertEqual(refused.headers["Content-Type"], "application/xml")
        self.assertEqual(refused.body.decode(), S3_TWO_AUTHS)
        forged = call(self.standin.storage, "GET", location.replace("X-Amz-Signature=", "X-Amz-Signature=0"))
        self.assertEqual(forged.status, 403)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", forged.body)
        head = call(self.standin.storage, "HEAD", location)
        self.assertEqual((head.status, head.headers["Content-Length"]), (200, str(len(b"some layer"))))
        missing = self.request("GET", f"/v2/{repo}/blobs/{sha256(b'absent')}")
        self.assert_error(missing, 404, "BLOB_UNKNOWN")


class DockerHubTest(StandinCase):
    model = "dockerhub"

    @classmethod
    def setUpClass(cls) -> None:
        require_tools()

    def token(self) -> dict:
        reply = call(self.standin.auth, "GET", "/token?service=registry.docker.io&scope=repository:library/hello:pull")
        self.assertEqual(reply.status, 200)
        answer = reply.json()
        self.assertEqual(answer["token"], answer["access_token"])
        self.assertEqual(answer["expires_in"], 300)
        return {"Authorization": f"Bearer {answer['token']}"}

    def test_anonymous_pull_with_skopeo_through_the_cdn(self):
        image = make_image(MIB)
        skopeo(self.tmp, "copy", "--dest-tls-verify=false", f"oci:{self.layout('in', image)}",
               f"docker://{self.backend.address}/library/hello:1")
        out = self.tmp / "out"
        skopeo(self.tmp, "copy", "--src-tls-verify=false", f"docker://{self.standin.registry}/library/hello:1",
               f"oci:{out}")
        self.assertEqual(layout_digest(out), image.digest)
        self.assertIn(307, {e["status"] for e in self.entries(method="GET", contains="/blobs/")})
        self.assertEqual({e["status"] for e in self.entries("storage", "GET")}, {200})
        self.assertTrue(self.entries("auth", "GET", "/token"))

    def test_challenges_and_redirects(self):
        reply = call(self.standin.registry, "GET", "/v2/library/hello/manifests/1")
        self.assertEqual(reply.status, 401)
        self.assertEqual(reply.headers["WWW-Authenticate"],
                         f'Bearer realm="http://{self.standin.auth}/token",service="registry.docker.io",'
                         'scope="repository:library/hello:pull"')
        image = make_image(1000)
        backend_image(self.backend.address, "library/hello", "1", image)
        token = self.token()
        redirect = call(self.standin.registry, "GET", f"/v2/library/hello/blobs/{image.layer_digest}", token)
        self.assertEqual(redirect.status, 307)
        hexdigest = image.layer_digest.split(":")[1]
        self.assertRegex(redirect.headers["Location"],
                         rf"^http://{self.standin.storage}/registry-v2/docker/registry/v2/blobs/sha256/"
                         rf"{hexdigest[:2]}/{hexdigest}/data\?verify=\d+-[0-9a-f]+$")
        self.assertEqual(call(self.standin.storage, "GET", redirect.headers["Location"]).body, image.layer)
        push = call(self.standin.registry, "POST", "/v2/library/hello/blobs/uploads/", token)
        self.assertEqual(push.status, 401)
        self.assertIn('scope="repository:library/hello:pull,push"', push.headers["WWW-Authenticate"])
        self.assertEqual(push.json(), {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})

    def test_no_referrers_api(self):
        # As docker-registry 2.8: 404, so clients read the fallback tag.
        image = make_image(1000)
        backend_image(self.backend.address, "library/hello", "1", image)
        reply = call(self.standin.registry, "GET", f"/v2/library/hello/referrers/{image.digest}", self.token())
        self.assertEqual(reply.status, 404)

    def test_pull_rate_limit(self):
        backend_image(self.backend.address, "library/hello", "1", make_image(1000))
        self.standin.settings(pull_rate_limit=1)
        token = dict(self.token(), Accept=ACCEPT_MANIFESTS)
        manifest = "/v2/library/hello/manifests/1"
        self.assertEqual(call(self.standin.registry, "GET", manifest, token).status, 200)
        self.assertEqual(call(self.standin.registry, "HEAD", manifest, token).status, 200)
        limited = call(self.standin.registry, "GET", manifest, token)
        self.assertEqual(limited.status, 429)
        self.assertEqual(limited.json(), {"errors": [{"code": "TOOMANYREQUESTS", "message": HUB_RATE_LIMITED}]})
        self.assertEqual(limited.headers["ratelimit-limit"], "100;w=21600")
        self.assertEqual(limited.headers["ratelimit-remaining"], "0;w=21600")
        self.assertIsNone(limited.headers["Retry-After"])


class EcrPublicTest(StandinCase):
    model = "ecr-public"

    @classmethod
    def setUpClass(cls) -> None:
        require_tools()

    def test_anonymous_pull_and_refused_push(self):
        reply = call(self.standin.registry, "GET", "/v2/")
        self.assertEqual(reply.status, 401)
        self.assertEqual(reply.headers["WWW-Authenticate"],
                         f'Bearer realm="http://{self.standin.registry}/token/",service="public.ecr.aws",scope="aws"')
        image = make_image(MIB)
        source = self.layout("in", image)
        skopeo(self.tmp, "copy", "--dest-tls-verify=false", f"oci:{source}",
               f"docker://{self.backend.address}/team/tool:1")
        out = self.tmp / "out"
        skopeo(self.tmp, "copy", "--src-tls-verify=false", f"docker://{self.standin.registry}/team/tool:1",
               f"oci:{out}")
        self.assertEqual(layout_digest(out), image.digest)
        self.assertEqual({e["status"] for e in self.entries(method="GET", contains="/blobs/")}, {200})
        push = skopeo(self.tmp, "copy", "--dest-tls-verify=false", f"oci:{source}",
                      f"docker://{self.standin.registry}/team/other:1", check=False)
        self.assertNotEqual(push.returncode, 0)
        self.assertIn("denied: Not Authorized", push.stderr)
        self.assertIn(403, {e["status"] for e in self.entries(method="POST")})
        token = call(self.standin.registry, "GET", "/token/?scope=aws").json()["token"]
        refused = call(self.standin.registry, "POST", "/v2/team/tool/blobs/uploads/",
                       {"Authorization": f"Bearer {token}"})
        self.assertEqual(refused.status, 403)
        self.assertEqual(refused.json(), {"errors": [{"code": "DENIED", "message": "Not Authorized"}]})
        referrers = call(self.standin.registry, "GET", f"/v2/team/tool/referrers/{image.digest}",
                         {"Authorization": f"Bearer {token}"})
        self.assertEqual(referrers.status, 404)


if __name__ == "__main__":
    unittest.main(verbosity=2)
