"""User settings: a versioned JSON file under the app's root folder.

Reading never fails: a damaged file is moved aside (kept for inspection) and the defaults are used, with a
notice for the user; a field of the wrong type (or a number that is not finite: JSON's NaN, Infinity) falls back to
its own default and the rest is kept. Files written by older versions are upgraded step by step through
:data:`MIGRATIONS`.
"""

import json
import logging
import math
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from studio.core.atomic import atomic_write_text, clean_stale_temps, set_aside
from studio.core.backends import DEFAULT_OPENVINO_CACHE_GB
from studio.core.paths import studio_home

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
MAX_RECENT_MODELS = 10

# MIGRATIONS[n] turns a version-n dict into a version-(n+1) dict. Version 1 is the first one, so it is empty.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}


@dataclass
class Settings:
    prompt: str = ""
    negative_prompt: str = ""
    random_seed: bool = True
    seed: int = 0
    steps: int = 25
    cfg_scale: float = 7.0
    width: int = 512
    height: int = 512
    scheduler: str = ""  # "" keeps the model's own scheduler
    batch_size: int = 1
    runs: int = 1  # queued jobs per Generate ("run N times")
    strength: float = 0.75  # image-to-image and inpainting
    mask_feather: int = 8
    inpaint_padding: int = 32  # context around the mask for "only the masked region"
    clip_skip: int = 1
    hires_enabled: bool = False  # hires fix (text to image): a second, upscaled pass
    hires_scale: float = 2.0
    hires_strength: float = 0.5
    hires_steps: int = 0  # 0: as many as the first pass
    hires_upscaler: str = "Latent"
    model: str = ""  # folder, checkpoint file or hub id
    recent_models: list[str] = field(default_factory=list)
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    window_state: str = ""  # base64 of QMainWindow.saveState(): where the docks are, their sizes, which are closed
    splitter_sizes: list[int] = field(default_factory=list)
    model_folders: list[str] = field(default_factory=list)  # extra library folders (A1111/ComfyUI models/ too)
    model_vaes: dict[str, str] = field(default_factory=dict)  # model source -> the VAE chosen for it
    backend: str = "torch"  # what runs the UNet and VAE: "torch" or "openvino" (core.backends)
    openvino_offered: bool = False  # the window has offered OpenVINO once (a model ran on the CPU)
    # PyTorch's UNet and VAE in NHWC: per call faster on this CPU, but not measurably over a whole run, +2.4 GB of peak
    # memory on SD 1.5, and pixels within 1 level of diffusers' instead of equal: opt-in.
    channels_last: bool = False
    memory_plan: str = "auto"  # where a model's weights live on a GPU (core.memory_plan.PLAN_CHOICES)
    openvino_cache_gb: float = DEFAULT_OPENVINO_CACHE_GB  # size limit of <root>/cache/openvino/ (0: none)
    draft_decode: bool = False  # the final decode by the tiny autoencoder (TAESD): faster, a softer draft
    openvino_weights: str = "fp32"  # "int8": OpenVINO's weights compressed by NNCF (core.backends), other pixels
    openvino_precision: str = "fp32"  # "fast": OpenVINO computes in bf16/fp16 where the hardware has it, other pixels


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    notice: str | None = None  # one sentence for the user when the file could not be used as it was


def push_recent(recent: list[str], source: str) -> list[str]:
    """``recent`` with ``source`` first, without duplicates, at most MAX_RECENT_MODELS long."""
    return list(dict.fromkeys([source, *recent]))[:MAX_RECENT_MODELS]


def settings_path() -> Path:
    return studio_home() / "settings.json"


def load_settings(path: Path | None = None) -> LoadedSettings:
    path = path or settings_path()
    clean_stale_temps(path.parent)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return LoadedSettings(Settings())
    except OSError as exc:
        log.warning("Cannot read settings %s: %s", path, exc)
        return LoadedSettings(Settings(), f"The settings file could not be read ({exc.strerror}); using defaults.")
    try:
        data = json.loads(raw.decode("utf-8"))  # bytes that are not UTF-8 are damage like any other
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        data = _migrate(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nesting too deep for the parser
        kept = set_aside(path)
        log.warning("Settings file %s is damaged (%s); using defaults, kept it as %s", path, exc, kept)
        where = f" (kept as {kept.name})" if kept else ""
        return LoadedSettings(Settings(), f"The settings file was damaged and has been reset to defaults{where}.")
    return LoadedSettings(_from_dict(data))


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    data = {"version": SCHEMA_VERSION, **asdict(settings)}
    return atomic_write_text(path or settings_path(), json.dumps(data, indent=2, ensure_ascii=False))


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    version = data.get("version", 1)
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"bad schema version {version!r}")
    if version > SCHEMA_VERSION:
        log.warning("Settings were written by a newer version (schema %d); reading what this one knows", version)
    while version < SCHEMA_VERSION:
        data = MIGRATIONS[version](data)
        version += 1
    return data


def _from_dict(data: dict[str, Any]) -> Settings:
    """Keep each known field whose value has the right type; anything else gets its default."""
    values = {}
    for f in fields(Settings):
        if f.name not in data:
            continue
        value = data[f.name]
        if _valid(value, f.type):
            values[f.name] = float(value) if f.type is float else value
        else:
            log.warning("Ignoring setting %s=%r (expected %s)", f.name, value, f.type)
    return Settings(**values)


def _valid(value: Any, kind: Any) -> bool:
    if typing.get_origin(kind) is dict:
        key, item = typing.get_args(kind)
        return isinstance(value, dict) and all(_valid(k, key) and _valid(v, item) for k, v in value.items())
    if typing.get_origin(kind) is list:
        (item,) = typing.get_args(kind)
        return isinstance(value, list) and all(_valid(v, item) for v in value)
    if isinstance(value, bool) or kind is bool:
        return type(value) is kind  # bool is an int in Python, but not a valid seed or a valid flag value
    if kind is float:
        return isinstance(value, (int, float)) and math.isfinite(value)
    return isinstance(value, kind)
