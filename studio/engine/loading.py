"""Loading a model from a local diffusers folder, a Hugging Face hub id, or a single-file checkpoint.

Everything goes through :func:`load_pipeline`. Single-file checkpoints load with no network: their family
is detected from the file's keys and a config-only folder shipped with the app is passed as ``config=``.
"""

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import DiffusionPipeline
from huggingface_hub.errors import LocalEntryNotFoundError

from studio.core.errors import StudioError
from studio.core.hashing import file_hash
from studio.core.model_folders import LibraryFolder
from studio.core.model_info import ModelFamily
from studio.core.model_scan import scan
from studio.core.sources import SINGLE_FILE_SUFFIXES, check_source
from studio.engine import families, quantized
from studio.engine.devices import DeviceChoice

log = logging.getLogger(__name__)


@dataclass
class LoadedPipeline:
    pipe: DiffusionPipeline
    name: str
    family: ModelFamily
    inpaint_unet: bool  # a dedicated inpainting model (the family plug-in says which)
    model_hash: str
    plugin: families.FamilyPlugin


def load_pipeline(
    source: str,
    device: DeviceChoice,
    *,
    config_dir: Path | None = None,
    allow_pickle: bool = False,
    library: Callable[[], Sequence[LibraryFolder]] = tuple,
) -> LoadedPipeline:
    """Load ``source`` (folder, checkpoint file or hub id) at ``device``'s dtype, into system RAM: the engine's
    memory plan (``engine.placement``) then puts it on the device, whole or in part.

    ``config_dir`` overrides the shipped config folder for single-file checkpoints (used for models whose
    architecture differs from the stock ones). ``allow_pickle`` lets ``.ckpt`` files load; they can run code.
    A file of a family whose files lack components (Flux transformers; SD 3.5 files, which lack at least the
    tokenizers) takes them from a diffusers folder of its family found in ``library()`` (the model library's
    folders), unless ``config_dir`` names one.
    """
    path = Path(source).expanduser()
    if path.is_dir():
        loaded = _load_folder(path, device)
    elif path.is_file():
        loaded = _load_single_file(path, device, config_dir, allow_pickle, library)
    else:
        check_source(source)  # raises unless it is a hub id
        loaded = _load_hub(source, device)
    loaded.pipe.set_progress_bar_config(disable=True)
    return loaded


def _finish(pipe: DiffusionPipeline, name: str, model_hash: str) -> LoadedPipeline:
    plugin, family = families.plugin_for(pipe, name)
    return LoadedPipeline(
        pipe=pipe,
        name=name,
        family=family,
        inpaint_unet=plugin.dedicated_inpaint(pipe),
        model_hash=model_hash,
        plugin=plugin,
    )


def _weights_hash(folder: Path) -> str:
    """A folder's hash is its denoiser's weights' hash (UNet or transformer), which tells two models apart."""
    for pattern in ("unet/*.safetensors", "unet/*.bin", "transformer/*.safetensors"):
        files = sorted(folder.glob(pattern))
        if files:
            return file_hash(files[0])
    return ""


def _load_folder(folder: Path, device: DeviceChoice) -> LoadedPipeline:
    _check_folder(folder)
    try:
        pipe = DiffusionPipeline.from_pretrained(folder, dtype=device.dtype, local_files_only=True)
    except Exception as exc:  # any failure here means a broken folder; the log has the details
        log.exception("Loading folder %s failed", folder)
        if _is_shape_mismatch(exc):
            raise StudioError(
                f"The model folder '{folder.name}' could not be loaded: its weights do not match its configuration; "
                "details are in the log."
            ) from exc
        if isinstance(exc, ImportError):  # e.g. Qwen-Image-Edit's Qwen2-VL processor without torchvision
            raise StudioError(f"The model folder '{folder.name}' needs a library that is not installed here "
                              f"({_short(exc)}).") from exc
        raise StudioError(f"The model folder '{folder.name}' is incomplete or damaged ({_short(exc)}).") from exc
    return _finish(pipe, folder.name, _weights_hash(folder))


def check_model(source: str, *, allow_pickle: bool = False) -> None:
    """What can be known about ``source`` without loading its weights: core's checks (kind, pickle rule), then a
    checkpoint's header and family or a folder's layout; raises :class:`StudioError` if it cannot load. Cheap,
    so a loaded model can be kept until the new one has passed it (two large models may not fit in memory)."""
    check_source(source, allow_pickle=allow_pickle)
    path = Path(source).expanduser()
    if path.is_dir():
        _check_folder(path)
    elif path.is_file():
        _check_single_file(path, allow_pickle)


def _check_folder(folder: Path) -> None:
    """A diffusers folder names its components in ``model_index.json``; each needs its subfolder."""
    index = folder / "model_index.json"
    if not index.is_file():
        raise StudioError(f"'{folder}' is not a diffusers model folder (it has no model_index.json).")
    try:
        components = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StudioError(f"The model folder '{folder.name}' has a damaged model_index.json.") from exc
    if not isinstance(components, dict):
        raise StudioError(f"The model folder '{folder.name}' has a damaged model_index.json.")
    missing = [
        name for name, entry in components.items()
        if not name.startswith("_") and isinstance(entry, list) and entry[:1] != [None] and not (folder / name).is_dir()
    ]
    if missing:
        raise StudioError(f"The model folder '{folder.name}' is incomplete: it has no {', '.join(missing)} folder.")
    bnb = next((kind for kind in map(_bitsandbytes_kind, folder.glob("*/config.json")) if kind), None)
    if bnb:
        quantized.check_bitsandbytes(folder.name, bnb)


def _bitsandbytes_kind(config: Path) -> str:
    """"nf4"/"fp4" when a component's ``config.json`` says it was saved quantized by bitsandbytes (4-bit), "int8"
    for 8-bit; "" otherwise (unreadable configs are the loader's to report)."""
    try:
        quant = json.loads(config.read_text(encoding="utf-8")).get("quantization_config") or {}
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        return ""
    if not isinstance(quant, dict) or quant.get("quant_method") != "bitsandbytes":
        return ""
    return str(quant.get("bnb_4bit_quant_type", "nf4")) if quant.get("load_in_4bit") else "int8"


def _check_single_file(path: Path, allow_pickle: bool) -> tuple[ModelFamily, bool]:
    """``(family, inpaint_unet)`` from the file's header; raises for files that are not a supported model."""
    check_source(str(path), allow_pickle=allow_pickle)
    if path.suffix.lower() in SINGLE_FILE_SUFFIXES:
        quantized.check_file(path)  # before the family: a format that cannot load is the clearer sentence
        return families.detect_checkpoint(path)
    return _detect_pickle(path)


def _load_single_file(path: Path, device: DeviceChoice, config_dir: Path | None, allow_pickle: bool,
                      library: Callable[[], Sequence[LibraryFolder]]) -> LoadedPipeline:
    family, inpaint = _check_single_file(path, allow_pickle)
    plugin = families.plugin_of_family(family)
    if config_dir is None and plugin.library_base:
        config_dir = next((entry.path for entry in scan(library()) if entry.family is family and entry.path.is_dir()
                           and plugin.fits_base(entry.path, path, inpaint)), None)
    try:
        pipe = plugin.load_single_file(path, family, inpaint, config_dir, device.dtype)
    except StudioError:
        raise
    except Exception as exc:  # any failure here means a broken or unsupported file; details in the log
        log.exception("Loading checkpoint %s failed", path)
        if _is_shape_mismatch(exc):
            raise StudioError(
                f"The checkpoint '{path.name}' could not be loaded: its weights do not have the shapes of a standard "
                f"{family.label} model; details are in the log."
            ) from exc
        raise StudioError(f"The checkpoint '{path.name}' could not be loaded ({_short(exc)}).") from exc
    return _finish(pipe, path.stem, file_hash(path))


def _detect_pickle(path: Path) -> tuple[ModelFamily, bool]:
    try:
        state = torch.load(path, map_location="meta", weights_only=False, mmap=True)
        state = state.get("state_dict", state)
        shapes = {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}
    except Exception as exc:  # a damaged or foreign pickle raises anything; details in the log
        log.exception("Reading pickle checkpoint %s failed", path)
        raise StudioError(f"'{path.name}' is not a readable checkpoint ({_short(exc)}).") from exc
    return families.detect_keys(shapes, path.name)


def _load_hub(repo_id: str, device: DeviceChoice) -> LoadedPipeline:
    """Use the hub cache when the model is there (works offline); download what the pipeline needs otherwise."""
    try:
        folder = DiffusionPipeline.download(repo_id, local_files_only=True)
    except (OSError, LocalEntryNotFoundError):
        log.info("%s is not cached; downloading", repo_id)
        try:
            folder = DiffusionPipeline.download(repo_id, use_safetensors=True)
        except Exception as exc:  # network, auth, missing repo: all mean "could not get it"
            log.exception("Downloading %s failed", repo_id)
            raise StudioError(
                f"The model '{repo_id}' is not downloaded yet and could not be fetched from the hub ({_short(exc)})."
            ) from exc
    loaded = _load_folder(Path(folder), device)
    loaded.name = repo_id
    return loaded


def _is_shape_mismatch(exc: BaseException) -> bool:
    """diffusers' "Cannot load <name> because <weight> expected shape ..." (where the name is often empty)."""
    return isinstance(exc, ValueError) and "expected shape" in str(exc)


def _short(exc: BaseException, limit: int = 160) -> str:
    """The first line of an error, cut at a word (with an ellipsis) when it is long."""
    text = str(exc).strip().splitlines()[0].strip() if str(exc).strip() else type(exc).__name__
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"
