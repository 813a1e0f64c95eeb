"""What a user pasted to download a model: a Hugging Face file or any direct link, as one URL to fetch.

Understood forms:

- ``org/repo/file.safetensors`` (a file in a Hugging Face repository, at ``main``; sub-folders allowed);
- ``https://huggingface.co/org/repo/resolve/REV/file`` and the page address ``.../blob/REV/file``;
- any other ``http(s)://`` link, such as civitai's ``/api/download/models/N``, whose file name may only come
  with the answer (its ``Content-Disposition``).

A bare ``org/repo`` (optionally ``org/repo@revision``) is a whole diffusers repository, downloaded as a folder
(``core.repo_download``). The Hugging Face address is ``HF_ENDPOINT`` when set (huggingface_hub's convention; the
tests point it at a local server).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from studio.core.errors import StudioError
from studio.core.sources import is_hub_id

HF_ENDPOINT = "https://huggingface.co"
_HF_FILE = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)/(?P<file>[^:?#]+\.\w+)$")
_HF_REPO = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+)(?:@(?P<rev>[\w./-]+))?$")
_HF_URL_PATH = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/(?:resolve|blob)/(?P<rev>[^/]+)/(?P<file>.+)$")


@dataclass(frozen=True)
class DownloadSource:
    url: str
    filename: str | None  # None: known only from the server's answer
    hub_repo: str | None = None  # "org/repo" for a Hugging Face file (its token is sent there)

    @property
    def label(self) -> str:
        if self.hub_repo:
            return f"{self.hub_repo}/{self.filename}" if self.filename else self.hub_repo
        return self.url


@dataclass(frozen=True)
class HubRepo:
    """A whole Hugging Face repository at one revision."""

    repo: str
    revision: str = "main"

    @property
    def label(self) -> str:
        return self.repo if self.revision == "main" else f"{self.repo}@{self.revision}"

    def file(self, path: str) -> DownloadSource:
        return _hub_file(self.repo, self.revision, path)


def hf_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "").rstrip("/") or HF_ENDPOINT


def parse_source(text: str) -> DownloadSource | HubRepo:
    """What ``text`` names: one file to fetch, or a whole repository; raises :class:`StudioError` with one
    sentence for anything else."""
    text = text.strip()
    if not text:
        raise StudioError("Paste a Hugging Face id (org/repo), a file in it (org/repo/file.safetensors) or a "
                          "download link.")
    if "://" in text:
        return _from_url(text)
    repo = _HF_REPO.match(text)
    if repo and is_hub_id(repo["repo"]):
        return HubRepo(repo["repo"], repo["rev"] or "main")
    match = _HF_FILE.match(text.replace("\\", "/"))
    if not match:
        raise StudioError(f"'{text}' is neither a Hugging Face id or file (org/repo, org/repo/file.safetensors) "
                          "nor a link.")
    return _hub_file(match["repo"], "main", match["file"])


def _from_url(text: str) -> DownloadSource:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StudioError(f"'{text}' is not a download link (http or https).")
    hub = urlsplit(hf_endpoint())
    match = _HF_URL_PATH.match(parts.path)
    if match and parts.netloc == hub.netloc:
        return _hub_file(unquote(match["repo"]), unquote(match["rev"]), unquote(match["file"]))
    name = unquote(parts.path.rsplit("/", 1)[-1])
    return DownloadSource(text, name if "." in name else None)


def _hub_file(repo: str, revision: str, file: str) -> DownloadSource:
    url = f"{hf_endpoint()}/{repo}/resolve/{quote(revision, safe='')}/{quote(file)}"
    return DownloadSource(url, file.rsplit("/", 1)[-1], hub_repo=repo)
