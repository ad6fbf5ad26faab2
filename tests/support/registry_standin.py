#!/usr/bin/env python3
"""A stand-in for real container registries, for hoist's tests.

Usage:
    python3 tests/support/registry_standin.py --model ecr --backend 127.0.0.1:5000 \\
        --aws-endpoint http://127.0.0.1:7000 --region ap-northeast-2 --account 123456789012 \\
        --ready-file /tmp/x/ready.json

An HTTP/1.1 proxy in front of a real distribution registry (Debian's
`docker-registry`, no auth, the "backend"). It answers clients the way a
real service does wherever that service departs from the OCI distribution
spec, and relays everything else. Models (--model):

  ecr         Amazon ECR private registry (the default): Basic auth with
              GetAuthorizationToken passwords (checked for account and
              expiry), repositories that must exist in the AWS emulator
              (DescribeRepositories), upload PATCHes answered 201 with a
              Range that stops after the first part, the 5 MiB part minimum,
              blob mounting as the account setting allows, manifest GETs
              without Docker-Content-Digest, blob GETs redirected to an S3
              stand-in, immutable tags, the PutImage rate limit, tag lists
              served as text/plain, the OCI 1.1 referrers API (OCI-Subject
              on a manifest PUT with a subject, GET .../referrers/<digest>,
              405 for a referrer whose subject is an index).
  dockerhub   Docker Hub: anonymous Bearer tokens from an auth.docker.io
              stand-in, pushes refused, blob GETs redirected to a CDN
              stand-in, the pull rate limit.
  ecr-public  Amazon ECR Public: anonymous Bearer tokens from /token/,
              pushes refused.

dockerhub and ecr-public relay GET .../referrers/<digest> to the backend,
which has no referrers API (docker-registry 2.8 answers 404): clients take
the fallback tag there.

Each modelled behaviour names its public source in a comment beside it.

Listeners bind 127.0.0.1:0. Once they accept connections, --ready-file is
written (atomically) with {"registry": "127.0.0.1:P", "storage":
"127.0.0.1:Q", "auth": "127.0.0.1:R"} (storage: the S3 stand-in for ecr, the
CDN for dockerhub; auth: Docker Hub's token service; keys are absent where a
model has no such listener). Runs until SIGTERM or SIGINT, then exits 0.

Real registries serve HTTPS; the stand-in serves plain HTTP on loopback, so
every absolute URL it hands out has the scheme http and the Host the client
used.

Control endpoint on the registry listener (never forwarded, never logged):
  GET  /_standin/log            every client request so far, in arrival order:
                                {"listener", "method", "path", "status",
                                 "authorization", "bytes"}
  POST /_standin/settings       merges a JSON object into the settings
                                (DEFAULT_SETTINGS) and answers them all;
                                setting pull_rate_limit restarts its count
  POST /_standin/expire-tokens  every ECR token seen so far is expired from
                                now on; answers {"expired": N}
  setting expire_tokens_after N the same, by itself, once N more requests
                                have passed with a good token (the 12 hours
                                pass in the middle of a run)
  setting referrers_api false   ECR as before June 2024: no OCI-Subject, and
                                GET .../referrers/<digest> relayed (404), so
                                clients write the fallback tag
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import contextlib
import dataclasses
import datetime
import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import secrets
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOOPBACK = "127.0.0.1"
PIECE = 1024 * 1024  # bodies move in pieces of at most this many bytes
MIN_PART = 5 * 1024 * 1024  # ECR's smallest layer part but the last
MAX_MOUNT_MANIFESTS = 200  # manifests read to decide whether a blob may be mounted
REPOSITORY_CACHE_SECONDS = 1.0
CLIENT_TIMEOUT = 120  # seconds a client socket may stay silent
BACKEND_TIMEOUT = 120
EMULATOR_TIMEOUT = 30
DRAIN_LIMIT = 256 * 1024 * 1024  # unread request bodies up to this are read and dropped
MAX_CHUNK_LINE = 4096
MAX_TRAILER_LINES = 64
TLS_HANDSHAKE = b"\x16"  # the first byte of a TLS ClientHello
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "application/xml"
API_VERSION_HEADER = ("Docker-Distribution-Api-Version", "registry/2.0")
PUSH_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "trailers", "transfer-encoding", "upgrade",
})
# Request headers never passed to the backend (it has no auth; framing is redone).
NOT_FORWARDED = HOP_BY_HOP | {"authorization", "content-length", "expect", "host"}
# Response headers the stand-in sets itself.
NOT_RELAYED = HOP_BY_HOP | {"content-length", "date", "server"}

DEFAULT_SETTINGS = {
    "blob_mounting": False,
    "mount_refusal": None,
    "put_image_per_second": 10,
    "immutable_wording": "tag",
    "pull_rate_limit": None,
    "expire_tokens_after": None,
    "referrers_api": True,
}
SETTING_CHECKS = {
    "blob_mounting": lambda v: isinstance(v, bool),
    "mount_refusal": lambda v: v is None or (type(v) is int and v in (403, 404, 405)),
    "put_image_per_second": lambda v: type(v) is int and v >= 0,
    "immutable_wording": lambda v: v in ("tag", "repository"),
    "pull_rate_limit": lambda v: v is None or (type(v) is int and v >= 0),
    "expire_tokens_after": lambda v: v is None or (type(v) is int and v >= 0),
    "referrers_api": lambda v: isinstance(v, bool),
}

# --- ECR ---------------------------------------------------------------------
ECR_TARGET = "AmazonEC2ContainerRegistry_V20150921.DescribeRepositories"
ECR_TOKEN_USER = "AWS"
# The Basic challenge ECR sends (mayflower/docker-ls#28 shows it).
ECR_CHALLENGE = 'Basic realm="https://{host}/",service="ecr.amazonaws.com"'
# Docker's "denied: Your authorization token has expired. Reauthenticate and
# try again." (aws/containers-roadmap); a token lasts 12 hours (ECR API
# reference, GetAuthorizationToken).
ECR_EXPIRED = "Your authorization token has expired. Reauthenticate and try again."
# ECR's NAME_UNKNOWN wording (quoted in actions/starter-workflows#2647 and
# fabric8io/docker-maven-plugin#369).
ECR_NAME_UNKNOWN = "The repository with name '{repo}' does not exist in the registry with id '{account}'"
# dotnet/sdk-container-builds#424.
ECR_PART_TOO_SMALL = "Layer part size must be at least 5 MiB (LayerPartTooSmallException)"
# ECR API reference, UploadLayerPart: InvalidLayerPartException when a part
# does not start right after the last byte received.
ECR_PART_OUT_OF_ORDER = ("The layer part must start at byte {expected}, the byte after the last one received "
                         "(InvalidLayerPartException)")
# aws/containers-roadmap#2380 (the tag wording), GoogleContainerTools/kaniko#3481
# (the repository wording, used before ECR changed it in 2025).
ECR_TAG_INVALID = ("The image tag '{tag}' already exists in the '{repo}' repository and cannot be overwritten "
                   "because the {what} is immutable.")
# containerd#10447: ECR throttles PutImage with this body and no Retry-After;
# ECR service quotas: PutImage, 10 per second.
ECR_RATE_EXCEEDED = "Rate exceeded"
MOUNT_REFUSALS = {
    403: ("DENIED", "Not authorized to mount the blob from the source repository"),
    404: ("BLOB_UNKNOWN", "The blob to mount does not exist in the source repository"),
    405: ("UNSUPPORTED", "The operation is unsupported."),
}
# ECR supports OCI Image and Distribution spec 1.1, reference types
# included, since 27 June 2024
# (https://aws.amazon.com/about-aws/whats-new/2024/06/amazon-ecr-oci-image-distribution-version-1-1;
# ECR user guide, "Private images in Amazon ECR",
# https://docs.aws.amazon.com/AmazonECR/latest/userguide/images.html: "With
# Amazon ECR support for OCI v1.1, you can store and manage reference
# artifacts that are defined by the OCI Referrers API"). The API's answers
# are the distribution spec's ("Pushing Manifests with Subject", "Listing
# Referrers").
OCI_INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # read whole to see a subject; larger ones are relayed unread
# aws/containers-roadmap#2783: ECR answers 405 Method Not Allowed to a
# referrer whose subject is an image index (`oras copy -r`); no body is
# quoted there, so the stand-in gives the UNSUPPORTED one it gives elsewhere.
ECR_REFERRER_REFUSED = ("UNSUPPORTED", "The operation is unsupported.")
# The S3 stand-in's presigned URLs (SigV4 query parameters, as S3 presigns).
S3_ACCESS_KEY = "ASIASTANDIN000000000"
PRESIGN_SECONDS = 3600
# open-policy-agent/opa#6580: S3 refuses a presigned GET that also carries
# an Authorization header, which clients forward after ECR's redirect.
S3_TWO_AUTHS = ("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query "
                "string parameter or the Authorization header should be specified")
S3_BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. "
                    "Check your key and signing method.")

# --- Docker Hub (docs.docker.com "Registry authentication", "Docker Hub usage
# and limits / pull rate limits") ---------------------------------------------
HUB_SERVICE = "registry.docker.io"
HUB_TOKEN_SECONDS = 300
HUB_CDN_PREFIX = "/registry-v2/docker/registry/v2/blobs/"
HUB_RATE_LIMITED = ("You have reached your pull rate limit. You may increase the limit by authenticating and "
                    "upgrading: https://www.docker.com/increase-rate-limit")
# The anonymous quota Docker Hub reports: 100 pulls per 6 hours (21600 s).
HUB_RATE_HEADERS = (("ratelimit-limit", "100;w=21600"), ("ratelimit-remaining", "0;w=21600"))

# --- ECR Public ----------------------------------------------------------------
PUBLIC_SERVICE = "public.ecr.aws"
PUBLIC_TOKEN_SECONDS = 12 * 3600

# --- routes of the distribution API -----------------------------------------------
DIGEST = r"[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+"
ROUTES = (
    ("manifest", re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")),
    ("blob", re.compile(rf"^/v2/(?P<name>.+)/blobs/(?P<ref>{DIGEST})$")),
    ("upload_start", re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/?$")),
    ("upload", re.compile(r"^/v2/(?P<name>.+)/blobs/uploads/(?P<ref>[^/]+)$")),
    ("tags", re.compile(r"^/v2/(?P<name>.+)/tags/list$")),
    ("referrers", re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<ref>[^/]+)$")),
)


@dataclasses.dataclass(frozen=True)
class Route:
    kind: str
    name: str
    ref: str | None


def parse_route(path: str) -> Route | None:
    """Which distribution API route `path` (unquoted, no query) names."""
    for kind, pattern in ROUTES:
        match = pattern.match(path)
        if match:
            return Route(kind, match.group("name"), match.groupdict().get("ref"))
    return None


def is_registry_path(path: str) -> bool:
    return path == "/v2" or path.startswith("/v2/")


def is_digest(ref: str) -> bool:
    return re.fullmatch(DIGEST, ref) is not None


def errors_body(code: str, message: str) -> dict:
    return {"errors": [{"code": code, "message": message}]}


def s3_error(code: str, message: str, extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message>{extra}</Error>").encode()


def wildcard_match(pattern: str, text: str) -> bool:
    """ECR's tag filters: `*` matches any run of characters, all else itself."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, text) is not None


def target_of(location: str) -> str:
    """The path and query of a Location, absolute or relative."""
    parts = urllib.parse.urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def with_query(target: str, name: str, value: str) -> str:
    separator = "&" if "?" in target else "?"
    return f"{target}{separator}{name}={urllib.parse.quote(value, safe=':')}"


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def rfc3339_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


CLIENT_BODY = object()  # Exchange.forward: send on the client's own body


class BadRequest(Exception):
    """The client's request cannot be read (framing)."""


class ClientGone(Exception):
    """The client's connection broke while its body was read."""


class UpstreamError(Exception):
    """The backend or the AWS emulator could not be asked."""


# --- shared state ------------------------------------------------------------------

class RequestLog:
    """What /_standin/log answers: one entry per client request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict] = []

    def begin(self, listener: str, method: str, target: str, authorization: bool) -> dict:
        entry = {"listener": listener, "method": method, "path": target, "status": None,
                 "authorization": authorization, "bytes": 0}
        with self._lock:
            self._entries.append(entry)
        return entry

    def update(self, entry: dict, **fields) -> None:
        with self._lock:
            entry.update(fields)

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [dict(entry) for entry in self._entries]


class Settings:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict(DEFAULT_SETTINGS)

    def __getitem__(self, key: str):
        with self._lock:
            return self._values[key]

    def merge(self, changes: dict) -> dict:
        """Applies `changes` (all or nothing); ValueError names a bad one."""
        for key, value in changes.items():
            check = SETTING_CHECKS.get(key)
            if check is None or not check(value):
                raise ValueError(f"bad setting {key!r}: {value!r}")
        with self._lock:
            self._values.update(changes)
            return dict(self._values)


class SlidingWindow:
    """Admits at most `limit` events in any one second."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._times: collections.deque[float] = collections.deque()

    def admit(self, limit: int) -> bool:
        now = time.monotonic()
        with self._lock:
            while self._times and self._times[0] <= now - 1.0:
                self._times.popleft()
            if len(self._times) >= limit:
                return False
            self._times.append(now)
            return True


class Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def increment(self) -> int:
        with self._lock:
            self._count += 1
            return self._count

    def reset(self) -> None:
        with self._lock:
            self._count = 0


# --- request bodies ------------------------------------------------------------------

class RequestBody:
    """A client's request body, framed by Content-Length or chunked, read in
    pieces; `received` counts its bytes. `on_first_read` (the deferred
    100 Continue) runs before the first byte is asked for."""

    def __init__(self, rfile, headers, on_first_read=None) -> None:
        self._rfile = rfile
        self._on_first_read = on_first_read
        self.chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        self.length = None if self.chunked else self._content_length(headers)
        self.received = 0
        self.complete = not self.chunked and self.length == 0
        self._chunk_left = 0

    @staticmethod
    def _content_length(headers) -> int:
        value = headers.get("Content-Length", "0").strip() or "0"
        if not value.isdigit():
            raise BadRequest(f"bad Content-Length {value!r}")
        return int(value)

    @property
    def present(self) -> bool:
        return self.chunked or bool(self.length)

    @property
    def awaiting_continue(self) -> bool:
        """The client waits for 100 Continue and has sent no byte yet."""
        return self._on_first_read is not None

    def read(self, limit: int = PIECE) -> bytes:
        """Up to `limit` bytes; b"" once the body is over."""
        if self.complete:
            return b""
        if self._on_first_read is not None:
            self._on_first_read()
            self._on_first_read = None
        try:
            data = self._read_chunked(limit) if self.chunked else self._read_sized(limit)
        except OSError as error:
            raise ClientGone(str(error)) from error
        self.received += len(data)
        return data

    def pieces(self):
        """The rest of the body, piece by piece."""
        while True:
            piece = self.read()
            if not piece:
                return
            yield piece

    def drain(self, limit: int) -> bool:
        """Reads and drops the rest of the body, if it is at most `limit`
        bytes and well framed."""
        if self.length is not None and self.length - self.received > limit:
            return False
        start = self.received
        try:
            for _ in self.pieces():
                if self.received - start > limit:
                    return False
        except (BadRequest, ClientGone):
            return False
        return True

    def abandon(self) -> None:
        """No more reads: the connection is to close after the answer."""
        self.complete = True
        self._on_first_read = None

    def _read_sized(self, limit: int) -> bytes:
        want = min(limit, self.length - self.received)
        data = self._rfile.read(want)
        if len(data) < want:
            raise ClientGone("the body ended early")
        if self.received + len(data) == self.length:
            self.complete = True
        return data

    def _read_chunked(self, limit: int) -> bytes:
        if self._chunk_left == 0:
            self._chunk_left = self._chunk_size()
            if self._chunk_left == 0:
                self._skip_trailers()
                self.complete = True
                return b""
        data = self._rfile.read(min(limit, self._chunk_left))
        if not data:
            raise ClientGone("the body ended early")
        self._chunk_left -= len(data)
        if self._chunk_left == 0 and self._rfile.readline(MAX_CHUNK_LINE) not in (b"\r\n", b"\n"):
            raise BadRequest("a chunk does not end with CRLF")
        return data

    def _chunk_size(self) -> int:
        line = self._rfile.readline(MAX_CHUNK_LINE)
        if not line:
            raise ClientGone("the body ended early")
        size = line.split(b";", 1)[0].strip()
        try:
            return int(size, 16)
        except ValueError:
            raise BadRequest(f"bad chunk size {size!r}") from None

    def _skip_trailers(self) -> None:
        for _ in range(MAX_TRAILER_LINES):
            if self._rfile.readline(MAX_CHUNK_LINE) in (b"\r\n", b"\n", b""):
                return
        raise BadRequest("too many trailer lines")


# --- upstreams ---------------------------------------------------------------------

class Backend:
    """The distribution registry behind the stand-in."""

    def __init__(self, address: str) -> None:
        self.host, self.port = split_address(address)

    @contextlib.contextmanager
    def exchange(self, method: str, target: str, headers: dict | None = None, body=None, length: int | None = None):
        """Sends one request and yields the response (its body unread).
        `body` is bytes or an iterable of pieces; without `length` an
        iterable goes out chunked."""
        fields = dict(headers or {})
        if length is not None:
            fields["Content-Length"] = str(length)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=BACKEND_TIMEOUT)
        try:
            try:
                conn.request(method, target, body=body, headers=fields)
                response = conn.getresponse()
            except (OSError, http.client.HTTPException) as error:
                raise UpstreamError(f"backend {method} {target}: {error}") from error
            yield response
        finally:
            conn.close()

    def fetch(self, method: str, target: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
        """A small request of the stand-in's own: (status, headers, body)."""
        with self.exchange(method, target, headers) as response:
            body = response.read()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, body


class RepositoryDirectory:
    """ECR's repositories, as the AWS emulator's DescribeRepositories tells."""

    def __init__(self, endpoint: str, region: str, account: str) -> None:
        parts = urllib.parse.urlsplit(endpoint)
        self._host, self._port = parts.hostname, parts.port or 80
        self._region, self._account = region, account
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, dict | None]] = {}

    def describe(self, name: str) -> dict | None:
        """The repository (as DescribeRepositories lists it) or None. One
        found is kept for at most a second; one missing is asked again every
        time, since a client may create it (CreateRepository) and push at once."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(name)
        if cached and now - cached[0] < REPOSITORY_CACHE_SECONDS:
            return cached[1]
        found = self._ask(name)
        if found is not None:
            with self._lock:
                self._cache[name] = (now, found)
        return found

    def _ask(self, name: str) -> dict | None:
        body = json.dumps({"repositoryNames": [name], "registryId": self._account})
        headers = {
            "X-Amz-Target": ECR_TARGET,
            "Content-Type": "application/x-amz-json-1.1",
            # Not a real signature: moto reads the region from the scope.
            "Authorization": (f"AWS4-HMAC-SHA256 Credential=testing/20260101/{self._region}/ecr/aws4_request, "
                              "SignedHeaders=host, Signature=0"),
        }
        conn = http.client.HTTPConnection(self._host, self._port, timeout=EMULATOR_TIMEOUT)
        try:
            conn.request("POST", "/", body=body, headers=headers)
            response = conn.getresponse()
            status, data = response.status, response.read()
        except (OSError, http.client.HTTPException) as error:
            raise UpstreamError(f"AWS emulator: {error}") from error
        finally:
            conn.close()
        return self._repository_from(status, data)

    @staticmethod
    def _repository_from(status: int, data: bytes) -> dict | None:
        try:
            answer = json.loads(data or b"{}")
        except ValueError:
            answer = {}
        if status == 200 and answer.get("repositories"):
            return answer["repositories"][0]
        if status == 400 and "RepositoryNotFoundException" in str(answer.get("__type", "")):
            return None
        raise UpstreamError(f"DescribeRepositories answered {status}: {data[:200]!r}")


# --- tokens ------------------------------------------------------------------------

GOOD, UNAUTHORIZED, EXPIRED = "good", "unauthorized", "expired"


def decode_ecr_password(password: str) -> dict | None:
    """The JSON object inside an ECR password (base64, standard alphabet), or
    None. Real ones carry payload, datakey, version, type and expiration;
    the stand-in reads only expiration and accountId."""
    try:
        claims = json.loads(base64.b64decode(password, validate=True))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("expiration"), (int, float)):
        return None
    return claims


class EcrTokens:
    """Which ECR passwords are good; every one seen can be expired at once."""

    def __init__(self, account: str) -> None:
        self._account = account
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        self._expired: set[str] = set()
        # Good requests left before every token seen expires (None: never).
        self._countdown: int | None = None

    def expire_after(self, requests: int | None) -> None:
        """Expires every token seen once `requests` more good ones passed."""
        with self._lock:
            self._countdown = requests

    def check(self, authorization: str | None) -> str:
        password = self._password(authorization)
        claims = decode_ecr_password(password) if password else None
        if claims is None or str(claims.get("accountId")) != self._account:
            return UNAUTHORIZED
        with self._lock:
            self._seen.add(password)
            if self._countdown == 0 and password not in self._expired:
                self._expired |= self._seen
                self._countdown = None
            expired = password in self._expired
            if self._countdown and not expired:
                self._countdown -= 1
        return EXPIRED if expired or claims["expiration"] <= time.time() else GOOD

    def expire_all(self) -> int:
        with self._lock:
            fresh = self._seen - self._expired
            self._expired |= fresh
            return len(fresh)

    @staticmethod
    def _password(authorization: str | None) -> str | None:
        """The password of `Basic base64(AWS:password)`, or None."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, colon, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password if colon and user == ECR_TOKEN_USER else None


class BearerTokens:
    """Opaque anonymous tokens handed out by a token service."""

    def __init__(self, lifetime: float) -> None:
        self._lifetime = lifetime
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._expiry[token] = time.time() + self._lifetime
        return token

    def valid(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        with self._lock:
            expiry = self._expiry.get(token.strip())
        return expiry is not None and expiry > time.time()


# --- ECR upload sessions --------------------------------------------------------------

@dataclasses.dataclass
class UploadSession:
    repo: str
    backend_target: str  # the backend's current Location (path and query)
    received: int = 0
    parts: list[int] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def add_part(self, size: int, backend_location: str | None) -> None:
        if backend_location:
            self.backend_target = target_of(backend_location)
        if size:
            self.received += size
            self.parts.append(size)

    def range_header(self) -> str:
        """ECR's Range stops after the first part (aws/containers-roadmap#2831,
        crashappsec/chalk PR #682), though every part is stored."""
        return f"0-{self.parts[0] - 1}" if self.parts else "0-0"

    def small_parts(self, closing_part: bool) -> bool:
        """Whether a part but the last is under 5 MiB; the PUT's own bytes,
        when there are any, make the last part."""
        leading = self.parts if closing_part else self.parts[:-1]
        return any(size < MIN_PART for size in leading)


class UploadSessions:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, UploadSession] = {}

    def open(self, repo: str, backend_location: str) -> tuple[str, UploadSession]:
        session_id = str(uuid.uuid4())
        session = UploadSession(repo, target_of(backend_location))
        with self._lock:
            self._sessions[session_id] = session
        return session_id, session

    def get(self, session_id: str, repo: str) -> UploadSession | None:
        with self._lock:
            session = self._sessions.get(session_id)
        return session if session and session.repo == repo else None

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)


# --- presigned storage URLs -------------------------------------------------------------

class Presigner:
    """SigV4-shaped presigned URLs of the S3 stand-in; the signature is an
    HMAC of the path with a key of this process."""

    def __init__(self, region: str) -> None:
        self._key = os.urandom(32)
        self._region = region

    def sign(self, path: str) -> str:
        return hmac.new(self._key, path.encode(), hashlib.sha256).hexdigest()

    def url(self, address: str, path: str) -> str:
        now = datetime.datetime.now(datetime.timezone.utc)
        query = urllib.parse.urlencode([
            ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            ("X-Amz-Credential", f"{S3_ACCESS_KEY}/{now:%Y%m%d}/{self._region}/s3/aws4_request"),
            ("X-Amz-Date", f"{now:%Y%m%dT%H%M%SZ}"),
            ("X-Amz-Expires", str(PRESIGN_SECONDS)),
            ("X-Amz-SignedHeaders", "host"),
            ("X-Amz-Signature", self.sign(path)),
        ])
        return f"http://{address}{urllib.parse.quote(path, safe='/:')}?{query}"

    def problem(self, path: str, query: dict) -> tuple[str, str] | None:
        """None when the URL is good, else S3's (code, message)."""
        if not hmac.compare_digest(query.get("X-Amz-Signature", ""), self.sign(path)):
            return "SignatureDoesNotMatch", S3_BAD_SIGNATURE
        try:
            signed = datetime.datetime.strptime(query.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ")
            lifetime = int(query.get("X-Amz-Expires", "0"))
        except ValueError:
            return "AuthorizationQueryParametersError", "X-Amz-Date or X-Amz-Expires is malformed"
        expiry = signed.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=lifetime)
        if expiry < datetime.datetime.now(datetime.timezone.utc):
            return "AccessDenied", "Request has expired"
        return None


# --- the HTTP side -------------------------------------------------------------------

class Exchange(BaseHTTPRequestHandler):
    """One client connection; helpers to read, forward and answer."""

    protocol_version = "HTTP/1.1"
    timeout = CLIENT_TIMEOUT
    listener = "registry"
    _continue_pending = False

    # -- framing --

    def handle_one_request(self) -> None:
        # skopeo tries https first, even with tls-verify off, and falls back
        # to http on an error: close a TLS ClientHello at once rather than
        # wait for a request line that never comes.
        try:
            first = self.rfile.peek(1)[:1]
        except OSError:
            first = b""
        if first == TLS_HANDSHAKE:
            self.close_connection = True
            return
        super().handle_one_request()

    def handle_expect_100(self) -> bool:
        # 100 Continue goes out when the body is first read, so an answer
        # given without the body (401, 404, ...) spares the client sending it.
        self._continue_pending = True
        return True

    def _send_continue(self) -> None:
        self.send_response_only(100)
        self.end_headers()

    def log_message(self, format, *args) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        pass

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _serve(self) -> None:
        pending, self._continue_pending = self._continue_pending, False
        self.answered = False
        self.entry = None
        if not self.request_path.startswith("/_standin/"):
            self.entry = self.standin.log.begin(self.listener, self.command, self.path,
                                                "Authorization" in self.headers)
        self.body = RequestBody(self.rfile, {})  # until the real one is framed
        try:
            self.body = RequestBody(self.rfile, self.headers, self._send_continue if pending else None)
            self.route()
        except ClientGone:
            self.close_connection = True
        except BadRequest as error:
            self._fail(400, "BAD_REQUEST", str(error))
        except UpstreamError as error:
            self._fail(502, "UNKNOWN", str(error))
        except OSError:  # the client went away while we wrote
            self.close_connection = True
        except Exception:  # noqa: BLE001 - a bug in the stand-in: say so, keep serving
            traceback.print_exc()
            self._fail(500, "UNKNOWN", "stand-in error (see its stderr)")
        finally:
            if self.entry is not None:
                self.standin.log.update(self.entry, bytes=self.body.received)

    def route(self) -> None:
        raise NotImplementedError

    def _fail(self, status: int, code: str, message: str) -> None:
        """Answers an error unless an answer went out already; either way
        the connection ends, as its state is unknown."""
        self.close_connection = True
        self.body.abandon()
        if not self.answered:
            self.send_error_json(status, code, message)

    # -- the request --

    @property
    def standin(self) -> "Standin":
        return self.server.standin

    @property
    def host(self) -> str:
        """The Host the client used, for absolute URLs."""
        return self.headers.get("Host") or f"{LOOPBACK}:{self.server.server_address[1]}"

    @property
    def request_path(self) -> str:
        return urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)

    @property
    def query(self) -> dict[str, str]:
        pairs = urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query, keep_blank_values=True)
        return dict(pairs)

    def read_json(self) -> object:
        data = b"".join(self.body.pieces())
        try:
            return json.loads(data or b"null")
        except ValueError:
            raise BadRequest("the body is not JSON") from None

    # -- answers --

    def _settle_body(self) -> None:
        """Before an answer: read what is left of a small body, or close
        the connection after this answer."""
        if self.body.complete:
            return
        if self.body.awaiting_continue or not self.body.drain(DRAIN_LIMIT):
            self.close_connection = True
            self.body.abandon()

    def send_head(self, status: int, headers) -> None:
        self._settle_body()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.answered = True
        if self.entry is not None:
            self.standin.log.update(self.entry, status=status)

    def send(self, status: int, body: bytes = b"", headers=(), content_type: str | None = None) -> None:
        fields = list(headers)
        if content_type:
            fields.append(("Content-Type", content_type))
        fields.append(("Content-Length", str(len(body))))
        self.send_head(status, fields)
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, document: object, headers=()) -> None:
        self.send(status, json.dumps(document).encode(), headers, JSON_TYPE)

    def send_error_json(self, status: int, code: str, message: str, headers=()) -> None:
        self.send_json(status, errors_body(code, message), headers)

    # -- the backend --

    def forward_headers(self, drop=(), extra: dict | None = None) -> dict:
        """The client's headers for the backend (repeated ones joined), with
        the client's Host, so the backend's absolute URLs name the stand-in."""
        skip = NOT_FORWARDED | {name.lower() for name in drop}
        fields: dict[str, str] = {}
        for name, value in self.headers.items():
            if name.lower() not in skip:
                fields[name] = f"{fields[name]}, {value}" if name in fields else value
        fields["Host"] = self.host
        fields.update(extra or {})
        return fields

    def forward(self, method: str | None = None, target: str | None = None, drop=(), extra=None,
                body=CLIENT_BODY, length: int | None = None):
        """The request sent on to the backend: same method, target and
        body unless told otherwise; the body is streamed, never held."""
        if body is CLIENT_BODY:
            body, length = (self.body.pieces(), self.body.length) if self.body.present else (None, None)
        return self.standin.backend.exchange(method or self.command, target or self.path,
                                             self.forward_headers(drop, extra), body, length)

    def relay(self, response, drop=(), content_type: str | None = None, extra=()) -> None:
        """Answers with the backend's response, its body streamed."""
        skip = NOT_RELAYED | {name.lower() for name in drop}
        if content_type:
            skip |= {"content-type"}
        fields = [(k, v) for k, v in response.getheaders() if k.lower() not in skip]
        fields += list(extra)
        if content_type:
            fields.append(("Content-Type", content_type))
        length = response.getheader("Content-Length")
        if self.command == "HEAD" or response.status in (204, 304):
            self.send_head(response.status, fields + [("Content-Length", length or "0")])
        elif length is not None:
            self.send_head(response.status, fields + [("Content-Length", length)])
            self._copy_sized(response, int(length))
        else:
            self.send_head(response.status, fields + [("Transfer-Encoding", "chunked")])
            self._copy_chunked(response)

    def _copy_sized(self, response, length: int) -> None:
        remaining = length
        while remaining > 0:
            piece = response.read(min(PIECE, remaining))
            if not piece:
                self.close_connection = True  # the backend stopped short
                return
            self.wfile.write(piece)
            remaining -= len(piece)

    def _copy_chunked(self, response) -> None:
        while True:
            piece = response.read(PIECE)
            if not piece:
                break
            self.wfile.write(f"{len(piece):X}\r\n".encode() + piece + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def proxy(self, drop=(), content_type: str | None = None) -> None:
        with self.forward() as response:
            self.relay(response, drop=drop, content_type=content_type)


class RegistryHandler(Exchange):
    listener = "registry"

    def route(self) -> None:
        if self.request_path.startswith("/_standin/"):
            self.control()
        else:
            self.standin.model.handle(self)

    def control(self) -> None:
        action = (self.command, self.request_path)
        if action == ("GET", "/_standin/log"):
            self.send_json(200, self.standin.log.snapshot())
        elif action == ("POST", "/_standin/settings"):
            self.change_settings()
        elif action == ("POST", "/_standin/expire-tokens"):
            self.send_json(200, {"expired": self.standin.ecr_tokens.expire_all()})
        else:
            self.send_error_json(404, "NOT_FOUND", f"no control endpoint {self.command} {self.request_path}")

    def change_settings(self) -> None:
        changes = self.read_json()
        if not isinstance(changes, dict):
            self.send_error_json(400, "BAD_REQUEST", "settings must be a JSON object")
            return
        try:
            merged = self.standin.settings.merge(changes)
        except ValueError as error:
            self.send_error_json(400, "BAD_REQUEST", str(error))
            return
        if "pull_rate_limit" in changes:
            self.standin.manifest_pulls.reset()
        if "expire_tokens_after" in changes:
            self.standin.ecr_tokens.expire_after(changes["expire_tokens_after"])
        self.send_json(200, merged)


# --- model: Amazon ECR ------------------------------------------------------------------

class EcrModel:
    def __init__(self, standin: "Standin", directory: RepositoryDirectory, region: str, account: str) -> None:
        self.standin = standin
        self.directory = directory
        self.region = region
        self.account = account
        self.sessions = UploadSessions()
        self.put_images = SlidingWindow()
        self.routes = {
            ("manifest", "GET"): self.manifest_get,
            ("manifest", "PUT"): self.manifest_put,
            ("blob", "GET"): self.blob_get,
            ("upload_start", "POST"): self.upload_start,
            ("upload", "GET"): self.upload_status,
            ("upload", "PATCH"): self.upload_patch,
            ("upload", "PUT"): self.upload_put,
            ("upload", "DELETE"): self.upload_delete,
            ("tags", "GET"): self.tags_list,
            ("referrers", "GET"): self.referrers_get,
        }
        self.referrers = Referrers()

    def handle(self, x: Exchange) -> None:
        if not is_registry_path(x.request_path):
            x.proxy()
            return
        verdict = self.standin.ecr_tokens.check(x.headers.get("Authorization"))
        if verdict == UNAUTHORIZED:
            self.challenge(x)
        elif verdict == EXPIRED:
            x.send_error_json(403, "DENIED", ECR_EXPIRED)
        elif x.request_path in ("/v2", "/v2/"):
            x.send_json(200, {}, [API_VERSION_HEADER])
        else:
            self.repository_request(x)

    def challenge(self, x: Exchange) -> None:
        x.send_error_json(401, "UNAUTHORIZED", "Not Authorized",
                          [("WWW-Authenticate", ECR_CHALLENGE.format(host=x.host))])

    def repository_request(self, x: Exchange) -> None:
        route = parse_route(x.request_path)
        if route is None:
            x.proxy()
            return
        repository = self.directory.describe(route.name)
        if repository is None:
            message = ECR_NAME_UNKNOWN.format(repo=route.name, account=self.account)
            x.send_error_json(404, "NAME_UNKNOWN", message)
            return
        handler = self.routes.get((route.kind, x.command))
        if handler is None:
            x.proxy()
        else:
            handler(x, route, repository)

    # -- manifests --

    def manifest_get(self, x: Exchange, route: Route, repository: dict) -> None:
        # ECR's GET of a manifest carries no Docker-Content-Digest; its HEAD
        # does (ChangemakerStudios/Docker.Registry.DotNet#34,
        # distribution/distribution#3792).
        x.proxy(drop=("Docker-Content-Digest",))

    def manifest_put(self, x: Exchange, route: Route, repository: dict) -> None:
        # PutImage: 10 per second (ECR service quotas); throttled with no
        # Retry-After (containerd#10447).
        if not self.put_images.admit(self.standin.settings["put_image_per_second"]):
            x.send_error_json(429, "TOOMANYREQUESTS", ECR_RATE_EXCEEDED)
            return
        tag = route.ref
        if not is_digest(tag) and tag_is_immutable(repository, tag) and self.tag_exists(x, route.name, tag):
            # Refused even when the PUT carries the very same manifest
            # (aws/containers-roadmap#2380).
            what = self.standin.settings["immutable_wording"]
            x.send_error_json(400, "TAG_INVALID", ECR_TAG_INVALID.format(tag=tag, repo=route.name, what=what))
            return
        if x.body.length is None or x.body.length > MAX_MANIFEST_BYTES:
            x.proxy()
            return
        self.put_with_subject(x, route)

    def put_with_subject(self, x: Exchange, route: Route) -> None:
        """A manifest PUT read whole: one with a subject is answered as the
        referrers API has it; the rest is relayed as it was."""
        body = b"".join(x.body.pieces())
        manifest = parse_json_object(body)
        subject = manifest.get("subject") if manifest else None
        if not isinstance(subject, dict) or not self.standin.settings["referrers_api"]:
            with x.forward(body=body, length=len(body)) as response:
                x.relay(response)
            return
        if subject.get("mediaType") == OCI_INDEX_TYPE:
            x.send_error_json(405, *ECR_REFERRER_REFUSED)  # aws/containers-roadmap#2783
            return
        with x.forward(body=body, length=len(body)) as response:
            if response.status != 201:
                x.relay(response)
                return
            media_type = manifest.get("mediaType") or x.headers.get("Content-Type", "").split(";")[0].strip()
            self.referrers.add(route.name, str(subject.get("digest")), referrer_descriptor(manifest, media_type, body))
            # "Pushing Manifests with Subject": a registry with the API
            # answers OCI-Subject: <subject digest>.
            x.relay(response, extra=[("OCI-Subject", str(subject.get("digest")))])

    def referrers_get(self, x: Exchange, route: Route, repository: dict) -> None:
        # "Listing Referrers": 200 with an OCI index (empty when none), never
        # 404; 400 for a malformed digest; the artifactType filter applied and
        # said so in OCI-Filters-Applied.
        if not self.standin.settings["referrers_api"]:
            x.proxy()
            return
        if not is_digest(route.ref):
            x.send_error_json(400, "DIGEST_INVALID", "invalid digest")
            return
        descriptors = self.referrers.of(route.name, route.ref)
        headers = []
        wanted = x.query.get("artifactType")
        if wanted:
            descriptors = [d for d in descriptors if d.get("artifactType") == wanted]
            headers.append(("OCI-Filters-Applied", "artifactType"))
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX_TYPE, "manifests": descriptors}
        x.send(200, json.dumps(index).encode(), headers, OCI_INDEX_TYPE)

    def tag_exists(self, x: Exchange, repo: str, tag: str) -> bool:
        status, _, _ = self.standin.backend.fetch(
            "HEAD", f"/v2/{repo}/manifests/{tag}", {"Accept": ", ".join(MANIFEST_TYPES), "Host": x.host})
        return status == 200

    def tags_list(self, x: Exchange, route: Route, repository: dict) -> None:
        # ECR serves the tag list as text/plain (gardener/cc-utils#1603).
        x.proxy(content_type="text/plain; charset=utf-8")

    # -- blobs --

    def blob_get(self, x: Exchange, route: Route, repository: dict) -> None:
        # ECR answers a blob GET with a redirect to a presigned S3 URL of its
        # layer bucket (open-policy-agent/opa#6580 shows one).
        if not blob_exists(x, route.name, route.ref):
            x.send_error_json(404, "BLOB_UNKNOWN", "blob unknown to registry")
            return
        path = f"/prod-{self.region}-starport-layer-bucket/{self.account}/{route.name}/{route.ref}"
        location = self.standin.presigner.url(self.standin.addresses["storage"], path)
        x.send(307, headers=[("Location", location)])

    # -- uploads --

    def session_headers(self, x: Exchange, repo: str, session_id: str) -> list[tuple[str, str]]:
        # One absolute Location for the whole session, as ECR gives
        # (regclient#81 logs).
        return [("Location", f"http://{x.host}/v2/{repo}/blobs/uploads/{session_id}"),
                ("Docker-Upload-UUID", session_id)]

    def answer_upload_start(self, x: Exchange, repo: str, response) -> None:
        """A backend 202 becomes a stand-in session; anything else is relayed."""
        if response.status != 202:
            x.relay(response)
            return
        response.read()
        session_id, _ = self.sessions.open(repo, response.getheader("Location") or "")
        x.send(202, headers=self.session_headers(x, repo, session_id))

    def upload_start(self, x: Exchange, route: Route, repository: dict) -> None:
        query = x.query
        if "mount" in query:
            self.mount(x, route.name, query["mount"], query.get("from", ""))
        elif "digest" in query:
            with x.forward() as response:  # a monolithic upload, as is
                self.answer_upload_start(x, route.name, response)
        else:
            self.plain_upload_start(x, route.name)

    def plain_upload_start(self, x: Exchange, repo: str) -> None:
        with x.forward("POST", f"/v2/{repo}/blobs/uploads/") as response:
            self.answer_upload_start(x, repo, response)

    def mount(self, x: Exchange, repo: str, digest: str, source: str) -> None:
        # ECR user guide, "blob mounting" (since January 2026): only with the
        # account's BLOB_MOUNTING setting, only within one account and
        # region, only for blobs a manifest of the source repository
        # references; otherwise a mount request opens a plain upload.
        refusal = self.standin.settings["mount_refusal"]
        if refusal is not None:
            code, message = MOUNT_REFUSALS[refusal]
            x.send_error_json(refusal, code, message)
        elif self.standin.settings["blob_mounting"] and self.mountable(x, source, digest):
            with x.forward("POST", x.path) as response:
                self.answer_upload_start(x, repo, response)
        else:
            self.plain_upload_start(x, repo)

    def mountable(self, x: Exchange, source: str, digest: str) -> bool:
        return bool(source) and self.directory.describe(source) is not None and \
            blob_referenced(self.standin.backend, x.host, source, digest)

    def upload_status(self, x: Exchange, route: Route, repository: dict) -> None:
        session = self.sessions.get(route.ref, route.name)
        if session is None:
            x.send_error_json(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
            return
        headers = self.session_headers(x, route.name, route.ref) + [("Range", session.range_header())]
        x.send(204, headers=headers)

    def upload_patch(self, x: Exchange, route: Route, repository: dict) -> None:
        session = self.sessions.get(route.ref, route.name)
        if session is None:
            x.send_error_json(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
            return
        with session.lock:
            self.store_part(x, route, session)

    def store_part(self, x: Exchange, route: Route, session: UploadSession) -> None:
        start = session.received
        content_range = x.headers.get("Content-Range")
        if content_range is not None and not range_follows(content_range, start, x.body.length):
            x.send_error_json(416, "BLOB_UPLOAD_INVALID", ECR_PART_OUT_OF_ORDER.format(expected=start))
            return
        extra = {}
        if content_range is not None and x.body.length:
            extra["Content-Range"] = f"{start}-{start + x.body.length - 1}"
        with x.forward("PATCH", session.backend_target, drop=("Content-Range",), extra=extra) as response:
            if response.status != 202:
                x.relay(response)
                return
            response.read()
            session.add_part(x.body.received, response.getheader("Location"))
        # 201, not 202, for every part, streamed or ranged (openai/tart#273,
        # jdx/mise PR #11376, aws/containers-roadmap#2831).
        headers = self.session_headers(x, route.name, route.ref) + [("Range", session.range_header())]
        x.send(201, headers=headers)

    def upload_put(self, x: Exchange, route: Route, repository: dict) -> None:
        session = self.sessions.get(route.ref, route.name)
        if session is None:
            x.send_error_json(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
            return
        digest = x.query.get("digest", "")
        if not is_digest(digest):
            x.send_error_json(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
            return
        with session.lock:
            self.close_upload(x, route, session, digest)

    def close_upload(self, x: Exchange, route: Route, session: UploadSession, digest: str) -> None:
        first = x.body.read()
        # Every part but the last must be at least 5 MiB
        # (dotnet/sdk-container-builds#424). UploadLayerPart also caps a part
        # at 10 MiB (ECR service quotas), but that quota is the API's:
        # `docker push` sends a whole layer in one streamed PATCH through
        # the registry endpoint, so PATCH sizes are not capped here.
        if session.small_parts(closing_part=bool(first)):
            self.cancel(session, route.ref)
            x.send_error_json(400, "BLOB_UPLOAD_INVALID", ECR_PART_TOO_SMALL)
            return
        body = itertools.chain([first], x.body.pieces()) if first else None
        target = with_query(session.backend_target, "digest", digest)
        with x.forward("PUT", target, body=body, length=x.body.length if first else None) as response:
            if response.status != 201:
                x.relay(response)
                return
            response.read()
        self.sessions.drop(route.ref)
        x.send(201, headers=[("Docker-Content-Digest", digest),
                             ("Location", f"http://{x.host}/v2/{route.name}/blobs/{digest}")])

    def cancel(self, session: UploadSession, session_id: str) -> None:
        self.sessions.drop(session_id)
        self.standin.backend.fetch("DELETE", session.backend_target)

    def upload_delete(self, x: Exchange, route: Route, repository: dict) -> None:
        session = self.sessions.get(route.ref, route.name)
        if session is None:
            x.send_error_json(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
            return
        self.cancel(session, route.ref)
        x.send(204)


class Referrers:
    """The manifests with a subject pushed so far: (repository, subject
    digest) -> their descriptors, in push order, one per digest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_subject: dict[tuple[str, str], dict[str, dict]] = {}

    def add(self, repo: str, subject: str, descriptor: dict) -> None:
        with self._lock:
            self._by_subject.setdefault((repo, subject), {})[descriptor["digest"]] = descriptor

    def of(self, repo: str, subject: str) -> list[dict]:
        with self._lock:
            return list(self._by_subject.get((repo, subject), {}).values())


def parse_json_object(body: bytes) -> dict | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def referrer_descriptor(manifest: dict, media_type: str, body: bytes) -> dict:
    """A referrers-list entry (distribution spec, "Listing Referrers"):
    artifactType, else an image manifest's config mediaType; annotations
    copied."""
    descriptor = {"mediaType": media_type, "digest": "sha256:" + hashlib.sha256(body).hexdigest(),
                  "size": len(body)}
    artifact_type = manifest.get("artifactType")
    if not artifact_type and media_type != OCI_INDEX_TYPE:
        config = manifest.get("config")
        artifact_type = config.get("mediaType") if isinstance(config, dict) else None
    if artifact_type:
        descriptor["artifactType"] = artifact_type
    if manifest.get("annotations"):
        descriptor["annotations"] = manifest["annotations"]
    return descriptor


def range_follows(content_range: str, start: int, length: int | None) -> bool:
    """Whether Content-Range "A-B" starts at `start` (and spans `length`
    bytes when that is known)."""
    match = re.fullmatch(r"\s*(?:bytes[ =])?(\d+)-(\d+)\s*", content_range)
    if match is None:
        return False
    first, last = int(match.group(1)), int(match.group(2))
    return first == start and last >= first and (length is None or last - first + 1 == length)


def tag_is_immutable(repository: dict, tag: str) -> bool:
    """ECR's tag mutability settings, exclusion filters included."""
    mutability = repository.get("imageTagMutability", "MUTABLE")
    filters = [f.get("filter", "") for f in repository.get("imageTagMutabilityExclusionFilters") or []]
    excluded = any(wildcard_match(pattern, tag) for pattern in filters)
    if mutability == "IMMUTABLE":
        return True
    if mutability == "IMMUTABLE_WITH_EXCLUSION":
        return not excluded
    if mutability == "MUTABLE_WITH_EXCLUSION":
        return excluded
    return False


def blob_exists(x: Exchange, repo: str, digest: str) -> bool:
    status, _, _ = x.standin.backend.fetch("HEAD", f"/v2/{repo}/blobs/{digest}", {"Host": x.host})
    return status == 200


def blob_referenced(backend: Backend, host: str, repo: str, digest: str) -> bool:
    """Whether a manifest of `repo` (its tags, and an index's manifests one
    level down) names `digest` as its config or a layer."""
    status, _, body = backend.fetch("GET", f"/v2/{repo}/tags/list", {"Host": host})
    tags = (json.loads(body).get("tags") or []) if status == 200 else []
    budget = MAX_MOUNT_MANIFESTS
    for tag in tags:
        if budget <= 0:
            return False
        manifest = read_manifest(backend, host, repo, tag)
        budget -= 1
        if digest in manifest_blobs(manifest):
            return True
        for child in manifest.get("manifests") or []:
            if budget <= 0:
                return False
            budget -= 1
            if digest in manifest_blobs(read_manifest(backend, host, repo, str(child.get("digest")))):
                return True
    return False


def read_manifest(backend: Backend, host: str, repo: str, ref: str) -> dict:
    status, _, body = backend.fetch("GET", f"/v2/{repo}/manifests/{ref}",
                                    {"Accept": ", ".join(MANIFEST_TYPES), "Host": host})
    try:
        manifest = json.loads(body) if status == 200 else {}
    except ValueError:
        return {}
    return manifest if isinstance(manifest, dict) else {}


def manifest_blobs(manifest: dict) -> set[str]:
    blobs = {layer.get("digest") for layer in manifest.get("layers") or []}
    config = manifest.get("config")
    if isinstance(config, dict):
        blobs.add(config.get("digest"))
    return blobs


class StorageHandler(Exchange):
    """The S3 stand-in behind ECR's blob redirects."""

    listener = "storage"

    def route(self) -> None:
        if self.command not in ("GET", "HEAD"):
            self.send(405, s3_error("MethodNotAllowed", "The specified method is not allowed against this resource."),
                      content_type=XML_TYPE)
        elif "Authorization" in self.headers:
            # open-policy-agent/opa#6580: S3 takes one auth mechanism only.
            self.send(400, s3_error("InvalidArgument", S3_TWO_AUTHS, "<ArgumentName>Authorization</ArgumentName>"),
                      content_type=XML_TYPE)
        else:
            self.serve_object()

    def serve_object(self) -> None:
        path = self.request_path
        found = self.object_of(path)
        if found is None:
            self.send(404, s3_error("NoSuchKey", "The specified key does not exist."), content_type=XML_TYPE)
            return
        problem = self.standin.presigner.problem(path, self.query)
        if problem is not None:
            self.send(403, s3_error(*problem), content_type=XML_TYPE)
            return
        stream_blob(self, *found)

    def object_of(self, path: str) -> tuple[str, str] | None:
        """(repository, digest) of a layer bucket path."""
        model = self.standin.model
        prefix = f"/prod-{model.region}-starport-layer-bucket/{model.account}/"
        if not path.startswith(prefix):
            return None
        repo, _, digest = path[len(prefix):].rpartition("/")
        return (repo, digest) if repo and is_digest(digest) else None


def stream_blob(x: Exchange, repo: str, digest: str) -> None:
    """A blob from the backend, as a storage service serves it."""
    headers = {"Host": x.host}
    if "Range" in x.headers:
        headers["Range"] = x.headers["Range"]
    with x.standin.backend.exchange(x.command, f"/v2/{repo}/blobs/{digest}", headers) as response:
        if response.status not in (200, 206):
            response.read()
            x.send(404, s3_error("NoSuchKey", "The specified key does not exist."), content_type=XML_TYPE)
            return
        x.relay(response, drop=("Docker-Content-Digest", "Docker-Distribution-Api-Version", "Cache-Control"),
                content_type="application/octet-stream")


# --- model: Docker Hub ---------------------------------------------------------------------

class HubModel:
    def __init__(self, standin: "Standin") -> None:
        self.standin = standin
        self.tokens = BearerTokens(HUB_TOKEN_SECONDS)
        self._blob_repos: dict[str, str] = {}  # digest -> repository, for the CDN
        self._lock = threading.Lock()

    def handle(self, x: Exchange) -> None:
        if not is_registry_path(x.request_path):
            x.proxy()
            return
        route = parse_route(x.request_path)
        push = x.command in PUSH_METHODS
        if not self.tokens.valid(x.headers.get("Authorization")) or push:
            # Anonymous tokens may pull, never push.
            self.challenge(x, route.name if route else None, push)
        elif route and route.kind == "manifest" and x.command == "GET" and self.rate_limited():
            x.send_error_json(429, "TOOMANYREQUESTS", HUB_RATE_LIMITED, HUB_RATE_HEADERS)
        elif route and route.kind == "blob" and x.command == "GET":
            self.redirect_blob(x, route)
        else:
            x.proxy()

    def challenge(self, x: Exchange, repo: str | None, push: bool) -> None:
        realm = f"http://{self.standin.addresses['auth']}/token"
        value = f'Bearer realm="{realm}",service="{HUB_SERVICE}"'
        if repo:
            value += f',scope="repository:{repo}:{"pull,push" if push else "pull"}"'
        x.send_error_json(401, "UNAUTHORIZED", "authentication required", [("WWW-Authenticate", value)])

    def rate_limited(self) -> bool:
        # A pull is a GET of a manifest; HEADs do not count (Docker docs,
        # "Docker Hub usage and limits").
        limit = self.standin.settings["pull_rate_limit"]
        return limit is not None and self.standin.manifest_pulls.increment() > limit

    def redirect_blob(self, x: Exchange, route: Route) -> None:
        # Docker Hub sends blob downloads to its CDN
        # (production.cloudflare.docker.com).
        if not blob_exists(x, route.name, route.ref):
            x.send_error_json(404, "BLOB_UNKNOWN", "blob unknown to registry")
            return
        algorithm, _, hexdigest = route.ref.partition(":")
        with self._lock:
            self._blob_repos[route.ref] = route.name
        path = f"{HUB_CDN_PREFIX}{algorithm}/{hexdigest[:2]}/{hexdigest}/data"
        verify = f"{int(time.time()) + 1200}-{secrets.token_hex(16)}"
        x.send(307, headers=[("Location", f"http://{self.standin.addresses['storage']}{path}?verify={verify}")])

    def repository_of(self, digest: str) -> str | None:
        with self._lock:
            return self._blob_repos.get(digest)


class CdnHandler(Exchange):
    """The CDN stand-in behind Docker Hub's blob redirects: serves anything."""

    listener = "storage"

    def route(self) -> None:
        match = re.fullmatch(rf"{HUB_CDN_PREFIX}([a-z0-9]+)/[0-9a-f]{{2}}/([0-9a-f]+)/data", self.request_path)
        digest = f"{match.group(1)}:{match.group(2)}" if match else ""
        repo = self.standin.model.repository_of(digest) if match else None
        if self.command not in ("GET", "HEAD") or repo is None:
            self.send(404, b"not found", content_type="text/plain")
        else:
            stream_blob(self, repo, digest)


class HubAuthHandler(Exchange):
    """auth.docker.io: anonymous tokens for anyone."""

    listener = "auth"

    def route(self) -> None:
        if self.command != "GET" or self.request_path != "/token":
            self.send(404, b"404 page not found\n", content_type="text/plain")
            return
        token = self.standin.model.tokens.issue()
        self.send_json(200, {"token": token, "access_token": token, "expires_in": HUB_TOKEN_SECONDS,
                             "issued_at": rfc3339_now()})


# --- model: Amazon ECR Public --------------------------------------------------------------

class PublicModel:
    def __init__(self, standin: "Standin") -> None:
        self.standin = standin
        self.tokens = BearerTokens(PUBLIC_TOKEN_SECONDS)

    def handle(self, x: Exchange) -> None:
        if x.request_path in ("/token", "/token/"):
            # ECR Public hands out anonymous pull tokens (no expires_in).
            x.send_json(200, {"token": self.tokens.issue()})
        elif not is_registry_path(x.request_path):
            x.proxy()
        elif not self.tokens.valid(x.headers.get("Authorization")):
            # ECR Public's challenge names https://public.ecr.aws/token/.
            value = f'Bearer realm="http://{x.host}/token/",service="{PUBLIC_SERVICE}",scope="aws"'
            x.send_error_json(401, "UNAUTHORIZED", "Not Authorized", [("WWW-Authenticate", value)])
        elif x.command in PUSH_METHODS:
            x.send_error_json(403, "DENIED", "Not Authorized")
        else:
            x.proxy()


# --- the process -------------------------------------------------------------------------

class Listener(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, handler, standin: "Standin") -> None:
        super().__init__((LOOPBACK, 0), handler)
        self.standin = standin

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.server_address[1]}"


class Standin:
    """Everything the listeners share."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.backend = Backend(args.backend)
        self.settings = Settings()
        self.log = RequestLog()
        self.ecr_tokens = EcrTokens(args.account)
        self.manifest_pulls = Counter()
        self.presigner = Presigner(args.region)
        self.addresses: dict[str, str] = {}
        self.model, self.handlers = self._model(args)

    def _model(self, args: argparse.Namespace):
        """The model and its listeners' handlers (name -> handler class)."""
        if args.model == "ecr":
            directory = RepositoryDirectory(args.aws_endpoint, args.region, args.account)
            model = EcrModel(self, directory, args.region, args.account)
            return model, {"registry": RegistryHandler, "storage": StorageHandler}
        if args.model == "dockerhub":
            return HubModel(self), {"registry": RegistryHandler, "storage": CdnHandler, "auth": HubAuthHandler}
        return PublicModel(self), {"registry": RegistryHandler}

    def start(self) -> list[Listener]:
        listeners = {name: Listener(handler, self) for name, handler in self.handlers.items()}
        self.addresses = {name: listener.address for name, listener in listeners.items()}
        for listener in listeners.values():
            threading.Thread(target=listener.serve_forever, daemon=True).start()
        for listener in listeners.values():
            with socket.create_connection((LOOPBACK, listener.server_address[1]), timeout=5):
                pass
        return list(listeners.values())


def write_ready_file(path: str, addresses: dict[str, str]) -> None:
    temporary = f"{path}.tmp{os.getpid()}"
    with open(temporary, "w") as out:
        json.dump(addresses, out)
    os.replace(temporary, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("ecr", "dockerhub", "ecr-public"), default="ecr")
    parser.add_argument("--backend", required=True, help="the distribution registry, 127.0.0.1:PORT")
    parser.add_argument("--aws-endpoint", help="the AWS emulator (ecr model), http://127.0.0.1:PORT")
    parser.add_argument("--region", default="ap-northeast-2")
    parser.add_argument("--account", default="123456789012")
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args(argv)
    if args.model == "ecr" and not args.aws_endpoint:
        parser.error("--model ecr needs --aws-endpoint")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    standin = Standin(args)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    listeners = standin.start()
    write_ready_file(args.ready_file, standin.addresses)
    stop.wait()
    for listener in listeners:
        listener.shutdown()
        listener.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
