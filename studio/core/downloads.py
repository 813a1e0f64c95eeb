"""Downloading one model file into a model folder: with progress, cancellable, resumable, checked.

The bytes go to ``<folder>/<name>.part`` (which the library does not list); a later download of the same file
asks the server for the rest (an HTTP ``Range`` request) and appends to it. When every byte is there, the size
and the sha256 the server announced (Hugging Face sends both with its redirect: ``X-Linked-Size`` and
``X-Linked-Etag``; other servers a ``Content-Length`` and sometimes a sha256 ``ETag``) are checked, the file is
checked to be a model file (``core.downloaded_file``), and only then does it get its name, which never replaces
a file (``core.atomic.publish_new``). A cancel or a broken connection keeps the ``.part`` for the next try; a
file that fails a check is deleted. Every failure is one sentence (:class:`StudioError`).

Plain ``urllib``, so that redirects can be followed by hand: the Hugging Face token goes to the Hugging Face
host only, never to the storage it redirects to.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import shutil
import socket
import ssl
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from studio.core.atomic import NameTaken, publish_new
from studio.core.cancel import CancelToken
from studio.core.download_source import DownloadSource, hf_endpoint
from studio.core.downloaded_file import MODEL_FILE_SUFFIXES, check_downloaded
from studio.core.errors import StudioError
from studio.core.model_folders import ModelKind

log = logging.getLogger(__name__)

CHUNK = 1 << 20
TIMEOUT_S = 30
MAX_REDIRECTS = 10
PROGRESS_INTERVAL_S = 0.25  # progress reports at most this often (and always the first and the last)
SPEED_WINDOW_S = 5.0  # the speed is measured over this much recent time
PART_SUFFIX = ".part"
USER_AGENT = "LatentStudio"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REDIRECTS = (301, 302, 303, 307, 308)


class DownloadCancelled(Exception):
    """The user cancelled; the ``.part`` file is kept, so the next download resumes."""


@dataclass(frozen=True)
class DownloadProgress:
    name: str
    done: int  # bytes in the .part file
    total: int | None  # None: the server did not say
    speed: float  # bytes per second, recently
    resumed_from: int = 0

    @property
    def eta_s(self) -> float | None:
        if self.total is None or self.speed <= 0:
            return None
        return max(self.total - self.done, 0) / self.speed

    @property
    def fraction(self) -> float | None:
        return min(self.done / self.total, 1.0) if self.total else None


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    size: int
    sha256: str | None  # None for a folder (each of its files was checked on its own)
    verified: bool  # the server announced a sha256 and the file matched it (a folder: every weights file)
    note: str | None = None  # a sentence worth telling (the pickle rule, a kind that looks wrong)


def describe_size(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def describe_progress(progress: DownloadProgress) -> str:
    """``"512.0 MB of 4.27 GB · 35.2 MB/s · about 2 min left"``."""
    text = describe_size(progress.done) + (f" of {describe_size(progress.total)}" if progress.total else "")
    if progress.speed > 0:
        text += f" · {progress.speed / 1e6:.1f} MB/s"
    if progress.eta_s is not None:
        text += f" · about {describe_duration(progress.eta_s)} left"
    return text


def describe_duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def part_path(final: Path) -> Path:
    return final.with_name(final.name + PART_SUFFIX)


def hub_token() -> str | None:
    """The Hugging Face token: ``HF_TOKEN``, or the one ``hf auth login`` saved."""
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # noqa: BLE001 - no token is a normal case; a broken hub install must not stop a download
        log.info("No Hugging Face token could be read", exc_info=True)
        return os.environ.get("HF_TOKEN") or None


def download(source: DownloadSource, folder: Path, *, kind: ModelKind | None = None, name: str | None = None,
             cancel: CancelToken | None = None, on_progress: Callable[[DownloadProgress], None] | None = None,
             token: str | None = None) -> DownloadResult:
    """Download ``source`` into ``folder`` as ``name`` (default: the server's file name); blocking."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fetch = _Fetcher(source, token)
    filename = _file_name(name, source.filename) if source.filename else None
    offset = _resume_offset(folder, filename) if filename else 0
    answer = fetch.open(offset)
    if filename is None:  # known only now (a civitai-style link)
        filename = _file_name(name, _disposition_name(answer.headers) or source.url.rsplit("/", 1)[-1])
        offset = _resume_offset(folder, filename)
        if offset:
            answer.close()
            answer = fetch.open(offset)
    log.info("Downloading %s into %s as %s (from byte %d)", source.url, folder, filename, offset)
    final = folder / filename
    part = part_path(final)
    sha256, done, verified = _receive_checked(answer, part, filename, offset, cancel, on_progress)
    try:
        note = check_downloaded(part, filename, kind)
    except StudioError:
        part.unlink(missing_ok=True)
        raise
    try:
        publish_new(part, final)
    except NameTaken:
        raise StudioError(f"A file named '{filename}' appeared in {folder} meanwhile; it was not replaced, and the "
                          f"download is kept as '{part.name}'.") from None
    log.info("Downloaded %s (%d bytes, sha256 %s, %s)", final, done, sha256,
             "verified" if verified else "no hash announced")
    return DownloadResult(final, done, sha256, verified, note)


def fetch_part(source: DownloadSource, part: Path, name: str, *, size: int | None = None,
               sha256: str | None = None, cancel: CancelToken | None = None,
               on_progress: Callable[[DownloadProgress], None] | None = None,
               token: str | None = None) -> tuple[str, int, bool]:
    """Download ``source`` into the file ``part`` (resuming what is in it), checked against the ``size`` and
    ``sha256`` given (a repository's file list) or else the server's; its sha256, size and whether a hash was
    checked. ``part`` keeps its name: the caller publishes it."""
    part.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    answer = _Fetcher(source, token).open(offset)
    answer.total = size if size is not None else answer.total
    answer.sha256 = sha256 or answer.sha256
    return _receive_checked(answer, part, name, offset, cancel, on_progress)


def _receive_checked(answer: "_Answer", part: Path, filename: str, offset: int, cancel: CancelToken | None,
                    on_progress: Callable[[DownloadProgress], None] | None) -> tuple[str, int, bool]:
    """Receive ``answer`` into ``part`` and check its size and hash; a file failing a check is deleted."""
    with answer:
        digest, done, total = _receive(answer, part, filename, offset, cancel, on_progress)
    sha256 = digest.hexdigest()
    try:
        if total is not None and done != total:
            raise StudioError(f"'{filename}' has {describe_size(done)}, not the {describe_size(total)} the server "
                              "announced; it was deleted.")
        if answer.sha256 and sha256 != answer.sha256:
            raise StudioError(f"'{filename}' arrived damaged: its sha256 differs from the one the server gives; "
                              "it was deleted, download it again.")
    except StudioError:
        part.unlink(missing_ok=True)
        raise
    return sha256, done, bool(answer.sha256)


def fetch_bytes(source: DownloadSource, limit: int, *, token: str | None = None) -> bytes:
    """The whole (small) answer for ``source``, such as a Hub API listing; failures are the same sentences."""
    with _Fetcher(source, token).open(0) as answer:
        data = answer.read(limit + 1)
    if len(data) > limit:
        raise StudioError(f"{urlsplit(source.url).hostname} sent more than {describe_size(limit)} for "
                          f"'{source.label}'.")
    return data


def _file_name(wanted: str | None, server_name: str) -> str:
    """The name to save as: ``wanted`` (its suffix added from the server's name when it has none), else the
    server's name; only a plain file name with a model suffix."""
    server_name = Path(unquote(server_name).replace("\\", "/")).name
    name = Path((wanted or "").strip().replace("\\", "/")).name or server_name
    if Path(name).suffix.lower() not in MODEL_FILE_SUFFIXES:
        name += Path(server_name).suffix if wanted else ""
    suffix = Path(name).suffix.lower()
    if name.startswith(".") or suffix not in MODEL_FILE_SUFFIXES:
        raise StudioError(f"'{name}' is not a model file (expected {', '.join(MODEL_FILE_SUFFIXES)}).")
    return name


def _resume_offset(folder: Path, filename: str) -> int:
    """Bytes already in the ``.part`` file; refuses at once when the final name is taken."""
    final = folder / filename
    if final.exists():
        raise StudioError(f"'{filename}' is already in {folder}; nothing was replaced (give another name to "
                          "download it again).")
    try:
        return part_path(final).stat().st_size
    except FileNotFoundError:
        return 0


def _disposition_name(headers: Message) -> str | None:
    value = headers.get("Content-Disposition")
    if not value:
        return None
    message = Message()
    message["Content-Disposition"] = value
    return message.get_filename()


@dataclass
class _Answer:
    response: http.client.HTTPResponse | None  # None: the range asked for is past the end (the part is complete)
    headers: Message
    offset: int  # where the body starts in the file
    total: int | None
    sha256: str | None

    def read(self, n: int) -> bytes:
        return self.response.read(n) if self.response is not None else b""

    def close(self) -> None:
        if self.response is not None:
            self.response.close()

    def __enter__(self) -> "_Answer":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


class _NoRedirects(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # urllib raises HTTPError for the redirect, whose headers we read


_OPENER = build_opener(_NoRedirects)


class _Fetcher:
    """GET requests for one source, redirects followed by hand, failures turned into sentences."""

    def __init__(self, source: DownloadSource, token: str | None) -> None:
        self.source = source
        self.token = token
        self.hub_host = urlsplit(hf_endpoint()).netloc

    def open(self, offset: int) -> _Answer:
        url, linked_size, linked_sha = self.source.url, None, None
        for _ in range(MAX_REDIRECTS):
            request = Request(url, headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"})
            if offset:
                request.add_header("Range", f"bytes={offset}-")
            if self.token and urlsplit(url).netloc == self.hub_host:
                request.add_header("Authorization", f"Bearer {self.token}")
            try:
                response = _OPENER.open(request, timeout=TIMEOUT_S)
            except HTTPError as err:
                headers = err.headers
                linked_size = linked_size or _int(headers.get("X-Linked-Size"))
                linked_sha = linked_sha or _sha256(headers.get("X-Linked-Etag"))
                if err.code in _REDIRECTS and headers.get("Location"):
                    url = urljoin(url, headers["Location"])
                    err.close()
                    continue
                if err.code == 416 and offset:  # nothing after ``offset``: the part may be complete already
                    err.close()
                    total = _range_total(headers.get("Content-Range")) or linked_size
                    return _Answer(None, headers, offset, total, linked_sha)
                err.close()
                raise self._http_failure(err.code, err.reason) from None
            except (URLError, OSError, http.client.HTTPException) as exc:
                raise self._network_failure(exc, url) from exc
            return self._answer(response, offset, linked_size, linked_sha)
        raise StudioError(f"{self._host(url)} sent the download round in circles (too many redirects).")

    def _answer(self, response, offset: int, linked_size: int | None, linked_sha: str | None) -> _Answer:
        headers = response.headers
        content_type = (headers.get("Content-Type") or "").lower()
        if content_type.startswith("text/html"):
            response.close()
            raise StudioError(f"{self._host(response.url)} answered with a web page instead of the file: the link may "
                              "need a login or a licence accepted on its page, or it leads to a page, not the file.")
        start = 0
        if response.status == 206:
            start = _range_start(headers.get("Content-Range"))
            if start != offset:
                response.close()
                raise StudioError(f"{self._host(response.url)} sent another part of the file than the one asked for.")
        length = _int(headers.get("Content-Length"))
        total = linked_size or _range_total(headers.get("Content-Range")) or (start + length if length is not None else None)
        sha = linked_sha or _sha256(headers.get("ETag"))
        return _Answer(response, headers, start, total, sha)

    def _http_failure(self, code: int, reason: str) -> StudioError:
        label, host, hub = self.source.label, self._host(self.source.url), self.source.hub_repo
        if code in (401, 403) and hub:
            if self.token:
                return StudioError(f"Your Hugging Face token has no access to '{hub}': accept its terms on its page "
                                   "with the account the token belongs to.")
            return StudioError(f"'{hub}' needs a Hugging Face login: accept its terms on its page, then set HF_TOKEN "
                               "or run `hf auth login`.")
        if code in (401, 403):
            return StudioError(f"{host} refused the download (HTTP {code}): the link may need a login or an API key.")
        if code == 404:
            where = "on Hugging Face" if hub else f"at {host}"
            return StudioError(f"There is no '{label}' {where} (HTTP 404): check the name or the link.")
        if code == 429:
            return StudioError(f"{host} is limiting downloads (HTTP 429): wait a while and try again.")
        if code >= 500:
            return StudioError(f"{host} failed to answer (HTTP {code}); try again later.")
        return StudioError(f"{host} refused the download (HTTP {code} {reason}).")

    def _network_failure(self, exc: BaseException, url: str) -> StudioError:
        host = self._host(url)
        reason = exc.reason if isinstance(exc, URLError) and isinstance(exc.reason, BaseException) else exc
        log.info("Download from %s failed: %r", url, exc)
        if isinstance(reason, socket.gaierror):
            return StudioError(f"Cannot reach {host}: this computer seems to be offline (the name does not resolve).")
        if isinstance(reason, ConnectionRefusedError):
            return StudioError(f"Cannot reach {host}: the connection was refused (offline, or nothing is serving "
                               "there).")
        if isinstance(reason, TimeoutError):
            return StudioError(f"{host} did not answer within {TIMEOUT_S} s: check the connection and try again.")
        if isinstance(reason, ssl.SSLError):
            return StudioError(f"The secure connection to {host} failed ({reason.reason or reason}).")
        return StudioError(f"The download from {host} failed ({getattr(reason, 'strerror', None) or reason}).")

    @staticmethod
    def _host(url: str) -> str:
        return urlsplit(url).hostname or url


def _receive(answer: _Answer, part: Path, filename: str, offset: int, cancel: CancelToken | None,
             on_progress: Callable[[DownloadProgress], None] | None) -> tuple["hashlib._Hash", int, int | None]:
    """Write the answer's body into ``part`` from ``answer.offset``; the digest of the whole part, its size, and
    the total size the server announced."""
    start, total = answer.offset, answer.total
    if total is not None:
        _check_room(part.parent, total - start, filename)
    digest = hashlib.sha256()
    with open(part, "r+b" if part.exists() else "w+b") as f:
        f.truncate(start)  # a server that ignores Range sends everything again
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
        meter = ProgressMeter(filename, start, total, on_progress, resumed_from=start if offset else 0)
        done = start
        try:
            while True:
                if cancel is not None and cancel.cancelled:
                    raise DownloadCancelled()
                try:
                    chunk = answer.read(CHUNK)
                except (OSError, http.client.HTTPException) as exc:
                    log.info("The connection broke while downloading %s: %r", filename, exc)
                    chunk = b""
                if not chunk:
                    break
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                meter.update(done)
        finally:
            f.flush()
            os.fsync(f.fileno())
        meter.update(done, last=True)
    if total is not None and done < total:
        raise StudioError(f"The download of '{filename}' stopped at {describe_size(done)} of {describe_size(total)} "
                          "(the connection broke); download it again to resume.")
    return digest, done, total


def _check_room(folder: Path, needed: int, filename: str) -> None:
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise StudioError(f"'{filename}' needs {describe_size(needed)} more, but only {describe_size(free)} is free "
                          f"in {folder}.")


class ProgressMeter:
    """Progress reports with a speed measured over the last few seconds."""

    def __init__(self, name: str, done: int, total: int | None, report, *, resumed_from: int) -> None:
        self.name, self.total, self.report, self.resumed_from = name, total, report, resumed_from
        self.samples: deque[tuple[float, int]] = deque([(time.monotonic(), done)])
        self.last_report = float("-inf")
        self.update(done)

    def update(self, done: int, *, last: bool = False) -> None:
        now = time.monotonic()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= SPEED_WINDOW_S:
            self.samples.popleft()
        if self.report is None or (not last and now - self.last_report < PROGRESS_INTERVAL_S):
            return
        self.last_report = now
        then, before = self.samples[0]
        speed = (done - before) / (now - then) if now > then else 0.0
        self.report(DownloadProgress(self.name, done, self.total, speed, self.resumed_from))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _sha256(etag: str | None) -> str | None:
    """A sha256 from an ETag (``"<64 hex>"``, maybe weak); None for other ETags (git sha1s, md5s)."""
    value = (etag or "").strip().removeprefix("W/").strip('"').lower()
    return value if _SHA256.match(value) else None


def _range_start(content_range: str | None) -> int:
    match = re.match(r"bytes (\d+)-", content_range or "")
    return int(match[1]) if match else 0


def _range_total(content_range: str | None) -> int | None:
    match = re.match(r"bytes [\d*-]+/(\d+)", content_range or "")
    return int(match[1]) if match else None
