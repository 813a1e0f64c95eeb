"""Scanning model folders: one :class:`ModelEntry` per file (or diffusers folder), from headers and sidecars.

Plain Python and cheap: a ``.safetensors`` file costs one header read (never its tensor data), other files one
``stat``; a header is read once per version of a file (``core.file_cache``), so a rescan of unchanged folders
(the engine's, before every generation) reads none. What each entry knows: its kind (from the folder, or from the
header in a folder of mixed files), the family it is for (from the header's keys or training metadata, see
``model_header``), its size, a preview image beside it (``NAME.preview.png``, ``NAME.png``, also
``.jpg``/``.jpeg``/``.webp``), trigger words (kohya's ``ss_tag_frequency`` metadata, or the ``trainedWords`` of a
``NAME.civitai.info`` sidecar) and whether it is a few-step model or LoRA (``core.fewstep``). Hashes are not
computed here (they read the whole file): the session computes them in the background (``core.hashing``).
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from studio.core.disk_usage import folder_size
from studio.core.downloads import PART_SUFFIX
from studio.core.errors import StudioError
from studio.core.fewstep import Detection, detect, detect_source
from studio.core.file_cache import FileCache
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.model_header import Header, guess_family, guess_kind, read_header
from studio.core.model_info import ModelFamily

log = logging.getLogger(__name__)

MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin")
PREVIEW_SUFFIXES = (".preview.png", ".png", ".preview.jpg", ".jpg", ".jpeg", ".webp")
MAX_TRIGGER_WORDS = 20
_SIDECAR_LIMIT = 4 * 1024 * 1024  # a .civitai.info larger than this is not one
_FEWSTEP_KINDS = (ModelKind.CHECKPOINT, ModelKind.LORA, ModelKind.DIFFUSION_MODEL)


@dataclass(frozen=True)
class ModelEntry:
    kind: ModelKind
    name: str  # the path below its library folder, without suffix, "/"-separated: what <lora:NAME> names
    path: Path
    family: ModelFamily | None = None
    size: int = 0
    mtime_ns: int = 0
    preview: Path | None = None
    triggers: tuple[str, ...] = ()
    problem: str | None = None  # one sentence when the file could not be read (it is listed, not used)
    fewstep: Detection | None = None  # a few-step checkpoint or LoRA (LCM, Turbo...) and its settings

    @property
    def family_label(self) -> str:
        return self.family.label if self.family else "unknown"


def scan(folders: Iterable[LibraryFolder]) -> list[ModelEntry]:
    """Every model under ``folders`` (sub-folders too), sorted by kind and name; the first of two equal names wins."""
    found: dict[tuple[ModelKind, str], ModelEntry] = {}
    for folder in folders:
        for entry in scan_folder(folder):
            found.setdefault((entry.kind, entry.name.lower()), entry)
    return sorted(found.values(), key=lambda e: (list(ModelKind).index(e.kind), e.name.lower()))


def scan_folder(folder: LibraryFolder) -> Iterator[ModelEntry]:
    for path in walk_models(folder.path):
        try:
            entry = read_entry(path, folder)
        except OSError as exc:  # vanished or unreadable while scanning: skip it, the next scan sees the truth
            log.info("Skipping %s: %s", path, exc)
            continue
        if entry is not None:
            yield entry


def read_entry(path: Path, folder: LibraryFolder) -> ModelEntry | None:
    """The entry for one file or diffusers folder below ``folder``; None when it is no model."""
    relative = path.relative_to(folder.path)
    name = relative.as_posix() if path.is_dir() else relative.with_suffix("").as_posix()
    if path.is_dir():
        return ModelEntry(ModelKind.CHECKPOINT, name, path, _diffusers_family(path),
                          folder_size(path, follow_links=True), path.stat().st_mtime_ns, _preview(path),
                          fewstep=detect_source(str(path)))
    stat = path.stat()
    facts = _FACTS.get(path, stat, folder.kind, lambda: _header_facts(path, folder.kind))
    if facts is None:
        return None
    triggers = _sidecar_words(path) or facts.triggers
    return ModelEntry(facts.kind, name, path, facts.family, stat.st_size, stat.st_mtime_ns, _preview(path), triggers,
                      facts.problem, facts.fewstep)


@dataclass(frozen=True)
class _HeaderFacts:
    """What an entry takes from its file's header: small, so that thousands can be cached (headers are not)."""

    kind: ModelKind
    family: ModelFamily | None
    triggers: tuple[str, ...]
    problem: str | None
    fewstep: Detection | None


_FACTS: FileCache[_HeaderFacts | None] = FileCache()


def _header_facts(path: Path, folder_kind: ModelKind | None) -> _HeaderFacts | None:
    """None for a file of a mixed folder whose header does not say what it is."""
    header, problem = None, None
    if path.suffix.lower() == ".safetensors":
        try:
            header = read_header(path)
        except StudioError as exc:
            problem = str(exc)
    kind = folder_kind
    if kind is None:  # a mixed folder: only files whose header says what they are
        guessed = guess_kind(header.shapes) if header else None
        if guessed is None:
            return None
        kind = ModelKind(guessed)
    family = guess_family(kind.value, header) if header else None
    triggers = _tag_frequency(header) if header else ()
    fewstep = detect(path.stem, header.metadata if header else None) if kind in _FEWSTEP_KINDS else None
    return _HeaderFacts(kind, family, triggers, problem, fewstep)


def find_entry(entries: Iterable[ModelEntry], kind: ModelKind, name: str) -> ModelEntry | None:
    """The entry called ``name`` (a stem, or a sub-folder path; case-insensitive, ``\\`` or ``/``)."""
    wanted = name.replace("\\", "/").strip("/").lower()
    matches = [e for e in entries if e.kind is kind]
    exact = next((e for e in matches if e.name.lower() == wanted), None)
    return exact or next((e for e in matches if e.name.lower().rsplit("/", 1)[-1] == wanted), None)


def _is_pipeline_folder(path: Path) -> bool:
    return (path / "model_index.json").is_file()


def walk_models(root: Path, suffixes: tuple[str, ...] = MODEL_SUFFIXES,
                is_folder_model: Callable[[Path], bool] = _is_pipeline_folder) -> Iterator[Path]:
    """Model files (by ``suffixes``) and model folders (``is_folder_model``: diffusers pipelines by default) below
    ``root``, depth first, sorted by name; hidden entries, broken links and ``.part`` folders skipped."""
    try:
        with os.scandir(root) as items:
            entries = sorted(items, key=lambda e: e.name)
    except OSError:
        return
    for item in entries:
        if item.name.startswith("."):
            continue
        path = Path(item.path)
        try:
            if item.is_dir():
                if item.name.endswith(PART_SUFFIX):
                    continue  # a diffusers folder still downloading (core.repo_download)
                if is_folder_model(path):
                    yield path
                else:
                    yield from walk_models(path, suffixes, is_folder_model)
            elif item.is_file() and item.name.lower().endswith(suffixes):
                yield path
        except OSError:
            continue


def _preview(path: Path) -> Path | None:
    stem = path.name if path.is_dir() else path.stem
    for suffix in PREVIEW_SUFFIXES:
        candidate = path.with_name(stem + suffix)
        if candidate.is_file():
            return candidate
    return None


def _tag_frequency(header: Header) -> tuple[str, ...]:
    """The most frequent training tags from kohya's ``ss_tag_frequency`` ({dataset: {tag: count}})."""
    raw = header.metadata.get("ss_tag_frequency")
    if not raw:
        return ()
    try:
        datasets = json.loads(raw)
        counts: Counter = Counter()
        for tags in datasets.values():
            for tag, count in tags.items():
                counts[str(tag).strip()] += int(count)
    except (ValueError, TypeError, AttributeError):
        return ()
    return tuple(tag for tag, _ in counts.most_common(MAX_TRIGGER_WORDS) if tag)


def _sidecar_words(path: Path) -> tuple[str, ...]:
    """``trainedWords`` from a Civitai ``NAME.civitai.info`` JSON file beside the model."""
    sidecar = path.with_name(path.stem + ".civitai.info")
    try:
        if not sidecar.is_file() or sidecar.stat().st_size > _SIDECAR_LIMIT:
            return ()
        data = json.loads(sidecar.read_text(encoding="utf-8"))
        words = data.get("trainedWords") or []
        return tuple(str(w).strip() for w in words if str(w).strip())[:MAX_TRIGGER_WORDS]
    except (OSError, ValueError, AttributeError, UnicodeDecodeError):
        return ()


# Transformer families by their pipeline's class name (the engine's family plug-ins tell loaded pipelines apart).
# First match wins: Flux.2's names (Flux2KleinPipeline...) before Flux.1's.
_TRANSFORMER_PIPELINES = (("Flux2", ModelFamily.FLUX2), ("Flux", ModelFamily.FLUX),
                          ("StableDiffusion3", ModelFamily.SD3), ("Chroma", ModelFamily.CHROMA),
                          ("QwenImage", ModelFamily.QWEN_IMAGE), ("ZImage", ModelFamily.Z_IMAGE))


def _diffusers_family(folder: Path) -> ModelFamily | None:
    try:
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
        pipeline = str(index.get("_class_name", ""))
        for prefix, family in _TRANSFORMER_PIPELINES:
            if pipeline.startswith(prefix):
                return family
        if "text_encoder_2" in index:
            return ModelFamily.SDXL
        unet = json.loads((folder / "unet" / "config.json").read_text(encoding="utf-8"))
        return ModelFamily.SD2 if unet.get("use_linear_projection") else ModelFamily.SD1
    except (OSError, ValueError, AttributeError):
        return None
