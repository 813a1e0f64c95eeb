"""Downloading a whole Hugging Face repository as a diffusers folder, with the single-file downloader.

The Hub API lists the repository's files with their sizes and (for LFS files) sha256s
(``/api/models/REPO/revision/REV?blobs=true``, what ``huggingface_hub``'s ``model_info(files_metadata=True)``
asks; read here with the downloader's own HTTP client, so the token, ``HF_ENDPOINT`` and the failure sentences
are the same). A repository without ``model_index.json`` is no diffusers pipeline and is refused. Of the rest,
``model_index.json`` and the folders of the components it names are downloaded, each component's files chosen by
:func:`choose_files`:

- configs, tokenizer files and everything else that is not weights: all of them;
- weights: ``.safetensors`` when the component has them, else PyTorch ``.bin``/``.ckpt``/``.pt``/``.pth``; never
  ONNX, Flax (``.msgpack``), TensorFlow (``.h5``) or OpenVINO copies;
- variants (``.fp16``, ``.bf16``, ``.non_ema``…): the plain weights when there are any; otherwise one variant
  (fp16 first), saved under the plain name when it is a single file, so the folder loads without ``variant=``.

Every file goes into a staging folder ``<name>.part/`` beside the final one, each file itself as ``FILE.part``
until it is complete and checked, so a cancel keeps everything and the next download resumes file by file. When
every file is there, the staging folder is renamed to ``<name>`` unless that name exists (nothing is replaced).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from studio.core.cancel import CancelToken
from studio.core.download_source import DownloadSource, HubRepo, hf_endpoint
from studio.core.downloads import (
    PART_SUFFIX,
    DownloadProgress,
    DownloadResult,
    ProgressMeter,
    download,
    fetch_bytes,
    fetch_part,
    part_path,
)
from studio.core.errors import StudioError
from studio.core.model_folders import ModelKind

log = logging.getLogger(__name__)

MODEL_INDEX = "model_index.json"
LISTING_LIMIT = 32 * 1024 * 1024  # a file list (or a model_index.json) larger than this is not one
PREFERRED_VARIANT = "fp16"
_VARIANT = re.compile(r"\.(fp16|fp32|bf16|non_ema|ema)(?=[.-])")
_SHARDED = re.compile(r"-\d{5}-of-\d{5}\.|\.index\.")
_TORCH = re.compile(r"\.(bin|ckpt|pt|pth)(\.|$)")
_OTHER_WEIGHTS = re.compile(r"\.(onnx|onnx_data|msgpack|h5|pb|xml)$|^(openvino|flax)_")


@dataclass(frozen=True)
class RepoFile:
    path: str  # in the repository
    size: int | None
    sha256: str | None  # LFS files only
    local: str = ""  # where it goes in the folder (default: ``path``)

    @property
    def target(self) -> str:
        return self.local or self.path

    @property
    def weights(self) -> bool:
        return _weights_format(self.path) is not None


def download_model(source: DownloadSource | HubRepo, folder: Path, *, kind: ModelKind | None = None,
                   name: str | None = None, cancel: CancelToken | None = None,
                   on_progress: Callable[[DownloadProgress], None] | None = None,
                   token: str | None = None) -> DownloadResult:
    """What :func:`~studio.core.download_source.parse_source` named: a whole repository or one file."""
    if isinstance(source, HubRepo):
        return download_repo(source, folder, name=name, cancel=cancel, on_progress=on_progress, token=token)
    return download(source, folder, kind=kind, name=name, cancel=cancel, on_progress=on_progress, token=token)


def download_repo(repo: HubRepo, folder: Path, *, name: str | None = None, cancel: CancelToken | None = None,
                  on_progress: Callable[[DownloadProgress], None] | None = None,
                  token: str | None = None) -> DownloadResult:
    """Download ``repo`` into ``folder/<name>/`` (default: the repository's name); blocking."""
    name = _folder_name(name or repo.repo.rsplit("/", 1)[-1])
    final, staging = Path(folder) / name, Path(folder) / (name + PART_SUFFIX)
    if final.exists():
        raise StudioError(f"'{name}' is already in {folder}; nothing was replaced (give another name to download "
                          "it again).")
    files = list_files(repo, token)
    if MODEL_INDEX not in files:
        example = next((p for p in files if p.endswith(".safetensors") and "/" not in p), "model.safetensors")
        raise StudioError(f"'{repo.label}' is not a diffusers pipeline (it has no {MODEL_INDEX}): name one of its "
                          f"files instead, such as {repo.repo}/{example}.")
    index = _json(fetch_bytes(repo.file(MODEL_INDEX), LISTING_LIMIT, token=token), MODEL_INDEX, repo)
    plan = choose_files(index, files)
    log.info("Downloading %s into %s: %s", repo.label, final, ", ".join(f.path for f in plan))
    sizes = [f.size for f in plan]
    total = sum(sizes) if None not in sizes else None
    done = sum(_size_in(staging / f.target) for f in plan)
    meter = ProgressMeter(name, done, total, on_progress, resumed_from=done)
    finished = 0
    for file in plan:
        target = staging / file.target
        if not target.exists():
            before = finished
            fetch_part(repo.file(file.path), part_path(target), file.path, size=file.size, sha256=file.sha256,
                       cancel=cancel, on_progress=lambda p: meter.update(before + p.done), token=token)
            os.replace(part_path(target), target)  # inside the staging folder: nobody else's name
        finished += target.stat().st_size
    meter.update(finished, last=True)
    if final.exists():
        raise StudioError(f"A folder named '{name}' appeared in {folder} meanwhile; it was not replaced, and the "
                          f"download is kept as '{staging.name}'.")
    os.rename(staging, final)
    verified = all(f.sha256 for f in plan if f.weights)
    log.info("Downloaded %s (%d files, %d bytes, %s)", final, len(plan), finished,
             "sha256 checked" if verified else "some weights without a hash")
    return DownloadResult(final, finished, None, verified)


def list_files(repo: HubRepo, token: str | None = None) -> dict[str, RepoFile]:
    """The repository's files by path, with sizes and LFS sha256s (the Hub API)."""
    url = (f"{hf_endpoint()}/api/models/{repo.repo}/revision/{quote(repo.revision, safe='')}?blobs=true")
    info = _json(fetch_bytes(DownloadSource(url, None, hub_repo=repo.repo), LISTING_LIMIT, token=token),
                 "file list", repo)
    siblings = info.get("siblings") if isinstance(info, dict) else None
    files = {}
    for sibling in siblings or ():
        lfs = sibling.get("lfs") or {}
        files[sibling["rfilename"]] = RepoFile(sibling["rfilename"], sibling.get("size", lfs.get("size")),
                                               lfs.get("sha256"))
    return files


def choose_files(index: dict, files: dict[str, RepoFile]) -> list[RepoFile]:
    """What a diffusers pipeline needs of ``files`` (the rule in the module docstring), model_index.json first."""
    components = sorted(key for key, value in index.items()
                        if not key.startswith("_") and isinstance(value, list) and value and value[0] is not None)
    chosen = [files[MODEL_INDEX]]
    for component in components:
        inside = [f for path, f in sorted(files.items()) if path.startswith(component + "/")]
        chosen += [f for f in inside if not f.weights] + _choose_weights(component, [f for f in inside if f.weights])
    return chosen


def _choose_weights(component: str, weights: list[RepoFile]) -> list[RepoFile]:
    if not weights:
        return []
    for wanted in ("safetensors", "torch"):
        usable = [f for f in weights if _weights_format(f.path) == wanted]
        if usable:
            break
    else:
        raise StudioError(f"The '{component}' of this repository has no PyTorch weights (only ONNX, Flax or "
                          "similar copies), so it cannot be used here.")
    plain = [f for f in usable if not _VARIANT.search(f.path)]
    if plain:
        return plain
    variants = sorted({_VARIANT.search(f.path)[1] for f in usable}, key=lambda v: (v != PREFERRED_VARIANT, v))
    picked = [f for f in usable if _VARIANT.search(f.path)[1] == variants[0]]
    if len(picked) == 1 and not _SHARDED.search(picked[0].path):
        file = picked[0]
        return [RepoFile(file.path, file.size, file.sha256, local=_VARIANT.sub("", file.path, count=1))]
    return picked  # sharded: its index names the variant's shards, so the names stay


def _weights_format(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if _OTHER_WEIGHTS.search(name):  # first: OpenVINO's weights are a .bin
        return "other"
    if ".safetensors" in name:
        return "safetensors"
    if _TORCH.search(name):
        return "torch"
    return None


def _folder_name(name: str) -> str:
    name = name.strip()
    if not name or name != Path(name).name or name.startswith(".") or name.endswith(PART_SUFFIX):
        raise StudioError(f"'{name}' cannot be a folder name: use a plain name without '/' or a leading dot.")
    return name


def _size_in(target: Path) -> int:
    for path in (target, part_path(target)):
        try:
            return path.stat().st_size
        except FileNotFoundError:
            continue
    return 0


def _json(data: bytes, what: str, repo: HubRepo):
    try:
        return json.loads(data)
    except ValueError:
        raise StudioError(f"The {what} of '{repo.label}' is not valid JSON.") from None
