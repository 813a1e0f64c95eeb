"""The full recipe of one generated image: what is written into its PNG and read back from it.

A recipe read from a file is untrusted (any program, or a person with a hex editor, may have written it), so
:func:`check_recipe` is the one place that turns read values into a :class:`Recipe`: each field must have its
declared type and a usable value, or it is left out, given its default, and named in ``skipped``.
"""

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields
from enum import Enum
from typing import Any

from studio.core.control import ControlInput
from studio.core.errors import StudioError
from studio.core.hires import HiresPass
from studio.core.image_prompt import ImagePrompt
from studio.core.text import is_valid_text
from studio.core.tiles import TiledRefine

MAX_PROMPT_CHARS = 65_536  # prompts and negative prompts
MAX_TEXT_CHARS = 1_024  # every other text field (names, hashes, labels)
MAX_INT = 2**64  # seeds are up to 64 bits in some tools
MAX_FLOAT = 1e6
MAX_ITEMS = 256  # entries of a list field (LoRAs, control layers...)
_PROMPTS = {"prompt", "negative_prompt"}


@dataclass(frozen=True)
class Recipe:
    prompt: str
    negative_prompt: str
    seed: int
    steps: int
    cfg_scale: float
    width: int
    height: int
    sampler: str  # A1111 label, e.g. "Euler a" or "DPM++ 2M Karras"
    model: str  # a short display name: file stem, folder name or hub id
    model_hash: str = ""  # A1111 style: first 10 hex digits of the checkpoint's sha256
    mode: str = "txt2img"
    strength: float | None = None  # image-to-image and inpainting only
    mask_feather: int | None = None  # inpainting only
    model_family: str = ""
    scheduler: str = ""  # our stable name, empty for the model's own
    batch_size: int = 1
    batch_index: int = 0
    clip_skip: int = 1  # A1111's "Clip skip" (1 = the last layer, written only when above 1)
    lora_hashes: str = ""  # A1111's "Lora hashes": "NAME: first 12 hex digits of the addnet hash, ..."
    ti_hashes: str = ""  # A1111's "TI hashes": "NAME: first 12 hex digits of the file's sha256, ..."
    vae: str = ""  # a VAE chosen instead of the model's own (A1111's "VAE"), and its "VAE hash" (10 digits)
    vae_hash: str = ""
    decoder: str = ""  # "TAESD": a draft, decoded by the tiny autoencoder instead of the VAE ("Decoder")
    openvino_weights: str = ""  # "int8": OpenVINO ran NNCF int8-compressed weights ("OpenVINO weights")
    openvino_precision: str = ""  # "bf16"/"f16": OpenVINO computed in that precision ("OpenVINO precision")
    app_version: str = ""
    hires: HiresPass | None = None  # text-to-image with a second pass; width/height are the first pass's
    control: tuple[ControlInput, ...] = ()  # ControlNet layers, images by key in the control store (no image)
    image_prompt: ImagePrompt | None = None  # its image by key in the control store (no image)
    tiled_refine: TiledRefine | None = None  # an upscaled picture refined in tiles; width/height are the picture's

    def to_dict(self) -> dict[str, Any]:
        """The fields as JSON values; control units, when there are any, as a list without their images, and
        the image prompt without its image (a recipe names them by key)."""
        data = asdict(self)
        units = data.pop("control")
        if units:
            data["control"] = [{k: v for k, v in unit.items() if k != "image"} for unit in units]
        if data["image_prompt"] is not None:
            data["image_prompt"].pop("image")
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Recipe":
        """Build from a dict, ignoring unknown keys (recipes written by newer versions) and unusable values."""
        return check_recipe(data).recipe


@dataclass(frozen=True)
class CheckedRecipe:
    """A recipe read from a file, and the fields whose stored values could not be used (defaults instead)."""

    recipe: Recipe
    skipped: tuple[str, ...] = ()


# Defaults for the fields a Recipe requires, used when a stored value is unusable.
_REQUIRED_FALLBACK: dict[str, Any] = {
    "prompt": "", "negative_prompt": "", "seed": -1, "steps": 25, "cfg_scale": 7.0, "width": 512, "height": 512,
    "sampler": "", "model": "",
}


def required_fields() -> set[str]:
    """The fields a stored recipe must have to count as one (the others have defaults)."""
    return {f.name for f in fields(Recipe) if f.default is MISSING}


def check_recipe(data: Mapping[str, Any], fallback: Mapping[str, Any] | None = None) -> CheckedRecipe:
    """A :class:`Recipe` from read values: unknown keys are ignored, missing ones take their defaults, and a value
    of the wrong type or out of bounds (``"abc"`` for a number, ``1e999``, a lone surrogate, a nested list) is
    replaced by ``fallback``'s value for it, else the default, and listed in ``skipped``."""
    hints = typing.get_type_hints(Recipe)
    values: dict[str, Any] = {}
    skipped: list[str] = []
    for f in fields(Recipe):
        default = (fallback or {}).get(f.name, _REQUIRED_FALLBACK.get(f.name, f.default))
        if f.name not in data:
            values[f.name] = default
            continue
        value = _checked(f.name, hints[f.name], data[f.name])
        if value is _UNUSABLE:
            skipped.append(f.name)
            value = default
        values[f.name] = value
    return CheckedRecipe(Recipe(**values), tuple(skipped))


_UNUSABLE = object()


def _checked(name: str, kind: Any, value: Any) -> Any:
    """``value`` if it is a usable ``kind``: ``int``, ``float``, ``str``, ``bool``, an Enum, a frozen record (a
    dataclass, checked field by field: all usable or none), ``tuple[X, ...]``, or one of them ``| None``."""
    if isinstance(kind, types.UnionType):
        if value is None:
            return None
        (kind,) = (k for k in typing.get_args(kind) if k is not type(None))
    if dataclasses.is_dataclass(kind):
        return _checked_record(kind, value)
    if typing.get_origin(kind) in (tuple, list):
        return _checked_items(name, kind, value)
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except (ValueError, TypeError):
            return _UNUSABLE
    if kind is bool:
        return value if isinstance(value, bool) else _UNUSABLE
    if kind is str:
        limit = MAX_PROMPT_CHARS if name in _PROMPTS else MAX_TEXT_CHARS
        return value if isinstance(value, str) and len(value) <= limit and is_valid_text(value) else _UNUSABLE
    if isinstance(value, bool):  # a bool is an int to Python, never a number in a recipe
        return _UNUSABLE
    if kind is int:
        return value if isinstance(value, int) and abs(value) <= MAX_INT else _UNUSABLE
    if kind is float:
        ok = isinstance(value, (int, float)) and math.isfinite(value) and abs(value) <= MAX_FLOAT
        return float(value) if ok else _UNUSABLE
    return _UNUSABLE



def checked_record(kind: type, value: Any) -> Any | None:
    """A frozen record of type ``kind`` from read values (a dict), checked as recipe fields are; None if unusable."""
    record = _checked_record(kind, value)
    return None if record is _UNUSABLE else record


def _checked_record(kind: type, value: Any) -> Any:
    if not isinstance(value, Mapping):
        return _UNUSABLE
    hints = typing.get_type_hints(kind)
    values = {}
    for f in fields(kind):
        if f.name not in value:
            if f.default is MISSING and f.default_factory is MISSING:
                return _UNUSABLE
            continue
        checked = _checked(f.name, hints[f.name], value[f.name])
        if checked is _UNUSABLE:
            return _UNUSABLE
        values[f.name] = checked
    try:
        return kind(**values)
    except (TypeError, ValueError, StudioError):  # the record's own validation refused the combination
        return _UNUSABLE


def _checked_items(name: str, kind: Any, value: Any) -> Any:
    args = typing.get_args(kind)
    if not isinstance(value, (list, tuple)) or len(value) > MAX_ITEMS or len(args) != 2 or args[1] is not Ellipsis:
        return _UNUSABLE
    items = [_checked(name, args[0], item) for item in value]
    return _UNUSABLE if any(item is _UNUSABLE for item in items) else typing.get_origin(kind)(items)
