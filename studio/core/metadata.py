"""PNG metadata: AUTOMATIC1111's ``parameters`` text (the de-facto standard) plus our full recipe as JSON.

The ``parameters`` format, as A1111 writes it (``processing.create_infotext``) and reads it
(``infotext_utils.parse_generation_parameters``)::

    <prompt, may span lines>
    Negative prompt: <may span lines; the line is left out when empty>
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: ..., Model: ..., Version: ...

A value containing a comma, colon or newline is written as a JSON string.

Text read from a file is untrusted: a chunk over :data:`MAX_CHUNK_CHARS` is not read (the reason is logged), the
``parameters`` text is parsed in one pass (A1111's own regex takes quadratic time on a long line without
colons), at most :data:`MAX_FIELDS` fields are kept, and every value goes through
:func:`studio.core.recipe.check_recipe`.
"""

import json
import logging
import math
import re
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from studio.core.control import format_control, parse_control
from studio.core.hires import HiresPass
from studio.core.image_io import open_image
from studio.core.image_prompt import image_prompt_fields, image_prompt_from, is_ip_adapter_unit
from studio.core.recipe import CheckedRecipe, Recipe, check_recipe, required_fields
from studio.core.request import MAX_CLIP_SKIP, GenerationRequest
from studio.core.samplers import sampler_label, scheduler_from_label
from studio.core.tiles import TiledRefine

PARAMETERS_KEY = "parameters"
RECIPE_KEY = "latent-studio"
SCHEMA = 1
APP_TAG = "latent-studio"
NEGATIVE = "Negative prompt:"
MAX_CHUNK_CHARS = 262_144  # per text chunk; real ones are a few kB (a 1 MB chunk is refused, not parsed)
MAX_FIELDS = 256  # ``Key: value`` pairs kept from the last line

log = logging.getLogger(__name__)

# The pieces of A1111's pattern for one ``Key: value`` pair of the last line,
# r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)', each matched once per position (see _pairs).
_SPACE = re.compile(r"\s*")
_KEY = re.compile(r"[\w \-/]*")
_WORD = re.compile(r"\w")
_QUOTED = re.compile(r'"(?:\\.|[^\\"])+"')
_UNQUOTED = re.compile(r"[^,]*")
# EXIF UserComment (JPEG, WebP): an 8-byte character-code prefix, then the text (Exif 2.3, table 9).
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_UNICODE_PREFIX = b"UNICODE\0"
_ASCII_PREFIX = b"ASCII\0\0\0"
_SIZE = re.compile(r"^(\d+)x(\d+)$")
_DEFAULTS = GenerationRequest(prompt="")
_USDU = "Ultimate SD upscale"


def _quote(value: Any) -> str:
    text = str(value)
    if "," in text or ":" in text or "\n" in text:
        return json.dumps(text, ensure_ascii=False)
    return text


def _number(value: float) -> str:
    """``7.0`` as ``7`` and ``0.75`` as ``0.75``, as A1111's texts usually show them."""
    return str(int(value)) if float(value).is_integer() else str(float(value))


def format_parameters(recipe: Recipe) -> str:
    """The A1111-compatible ``parameters`` text for one image."""
    batch = recipe.batch_size > 1
    fields: dict[str, Any] = {
        "Steps": recipe.steps,
        "Sampler": recipe.sampler or None,
        **_guidance_fields(recipe),
        "Seed": recipe.seed,
        "Size": f"{recipe.width}x{recipe.height}",
        "Model hash": recipe.model_hash or None,
        "Model": recipe.model or None,
        "VAE hash": recipe.vae_hash or None,
        "VAE": recipe.vae or None,
        "Decoder": recipe.decoder or None,
        "OpenVINO weights": recipe.openvino_weights or None,
        "OpenVINO precision": recipe.openvino_precision or None,
        "Batch size": recipe.batch_size if batch else None,
        "Batch pos": recipe.batch_index if batch else None,
        "Denoising strength": None if recipe.strength is None else _number(recipe.strength),
        **(_hires_fields(recipe.hires) if recipe.hires is not None else {}),
        **(_tiled_refine_fields(recipe.tiled_refine) if recipe.tiled_refine is not None else {}),
        "Mask blur": recipe.mask_feather,
        "Clip skip": recipe.clip_skip if recipe.clip_skip > 1 else None,
        "Lora hashes": recipe.lora_hashes or None,
        "TI hashes": recipe.ti_hashes or None,
        **{f"ControlNet {i}": format_control(unit) for i, unit in enumerate(recipe.control)},
        **(image_prompt_fields(recipe.image_prompt) if recipe.image_prompt is not None else {}),
        "Version": f"{APP_TAG} {recipe.app_version}".strip(),
    }
    params = ", ".join(f"{key}: {_quote(value)}" for key, value in fields.items() if value is not None)
    negative = f"\n{NEGATIVE} {recipe.negative_prompt}" if recipe.negative_prompt else ""
    if not recipe.prompt and not negative:
        return params
    return f"{recipe.prompt}{negative}\n{params}"


# Families whose guidance value is distilled guidance: Forge writes it as "Distilled CFG Scale", with CFG scale 1.
_DISTILLED_GUIDANCE = {"flux"}


def _guidance_fields(recipe: Recipe) -> dict[str, Any]:
    if recipe.model_family in _DISTILLED_GUIDANCE:
        return {"CFG scale": 1, "Distilled CFG Scale": _number(recipe.cfg_scale)}
    return {"CFG scale": _number(recipe.cfg_scale)}


def _hires_fields(hires: HiresPass) -> dict[str, Any]:
    """A hires pass as A1111 writes it: ``Hires upscale`` or ``Hires resize``, ``Hires steps`` when not 0
    (0 means as many as the first pass), the second pass's strength as ``Denoising strength``, and the hires
    prompt, negative prompt and sampler when they are set."""
    resized = hires.width is not None and hires.height is not None
    return {
        "Denoising strength": _number(hires.strength),
        "Hires upscale": None if resized else _number(hires.scale),
        "Hires resize": f"{hires.width}x{hires.height}" if resized else None,
        "Hires steps": hires.steps or None,
        "Hires upscaler": hires.upscaler,
        "Hires prompt": hires.prompt,
        "Hires negative prompt": hires.negative_prompt,
        "Hires sampler": sampler_label(hires.scheduler) if hires.scheduler else None,
    }


def _tiled_refine_fields(tiling: TiledRefine) -> dict[str, Any]:
    """A tiled refine as A1111's Ultimate SD upscale script writes it (its ``padding``: our overlap)."""
    return {
        f"{_USDU} upscaler": tiling.upscaler,
        f"{_USDU} tile_width": tiling.tile_width,
        f"{_USDU} tile_height": tiling.tile_height,
        f"{_USDU} padding": tiling.overlap,
    }


def _tiled_refine_from(fields: dict[str, str]) -> dict[str, Any] | None:
    """The tiled refine of a ``parameters`` text with Ultimate SD upscale fields (as a dict to be checked)."""
    if f"{_USDU} upscaler" not in fields:
        return None
    defaults = TiledRefine()
    tile = fields.get(f"{_USDU} tile_size")  # the script's older versions wrote one size
    return {
        "upscaler": fields[f"{_USDU} upscaler"].strip() or defaults.upscaler,
        "tile_width": _int(fields.get(f"{_USDU} tile_width", tile or "0")),
        "tile_height": _int(fields.get(f"{_USDU} tile_height", tile or "0")),
        "overlap": _int(fields.get(f"{_USDU} padding", str(defaults.overlap))),
    }


def _hires_from(fields: dict[str, str]) -> HiresPass | None:
    """The hires pass of a ``parameters`` text with any ``Hires ...`` field, else None."""
    if not any(key.startswith("Hires ") for key in fields):
        return None
    defaults = HiresPass()
    size = _SIZE.match(fields.get("Hires resize", "").strip())
    width, height = (int(size[1]), int(size[2])) if size and int(size[1]) and int(size[2]) else (None, None)
    sampler = fields.get("Hires sampler", "")

    def number(key: str, parse, default: float) -> float:
        value = parse(fields[key]) if key in fields else default
        return value if isinstance(value, (int, float)) and math.isfinite(value) else default

    return HiresPass(
        scale=number("Hires upscale", _float, defaults.scale),
        strength=number("Denoising strength", _float, 0.7),  # A1111's default
        steps=max(0, int(number("Hires steps", _int, 0))),
        upscaler=fields.get("Hires upscaler", "").strip() or defaults.upscaler,
        width=width,
        height=height,
        prompt=fields.get("Hires prompt"),
        negative_prompt=fields.get("Hires negative prompt"),
        scheduler=scheduler_from_label(sampler) if sampler else None,
    )


def parse_parameters(text: str) -> dict[str, str]:
    """Every field of a ``parameters`` text as written, keyed as A1111 does, unknown keys included.

    ``Prompt`` and ``Negative prompt`` are always present (possibly empty); the other values are strings with
    JSON quoting removed (``Size`` stays ``"512x768"``).
    """
    lines = text.strip().replace("\r\n", "\n").split("\n")
    pairs = _pairs(lines[-1])
    if len(pairs) >= 3:
        lines.pop()
    else:
        pairs = []
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
    for line in lines:
        if not in_negative and line.lstrip().startswith(NEGATIVE):
            in_negative = True
            line = line.lstrip()[len(NEGATIVE) :]
        (negative if in_negative else prompt).append(line)
    fields = {"Prompt": "\n".join(prompt).strip(), "Negative prompt": "\n".join(negative).strip()}
    for key, value in pairs:
        if key not in ("Prompt", "Negative prompt"):  # a stray "Prompt:" pair cannot replace the prompt
            fields[key] = _unquote(value.strip())
    return fields


def _pairs(line: str) -> list[tuple[str, str]]:
    """What ``_PARAM.findall(line)`` gives with A1111's pattern, in time linear in ``len(line)``.

    The pattern fails at every start inside a run of key characters that is not followed by a colon, so the
    scan jumps past the run instead of retrying at each of its characters; each piece is matched once.
    """
    pairs: list[tuple[str, str]] = []
    pos, end = 0, len(line)
    while pos < end and len(pairs) < MAX_FIELDS:
        start = _SPACE.match(line, pos).end()
        if start == end:
            break
        if not _WORD.match(line, start):
            pos = start + 1
            continue
        key_end = _KEY.match(line, start).end()
        if key_end - start < 2 or key_end == end or line[key_end] != ":":
            pos = key_end
            continue
        value_start = _SPACE.match(line, key_end + 1).end()
        quoted = _QUOTED.match(line, value_start)
        if quoted and (quoted.end() == end or line[quoted.end()] == ","):
            value_end = quoted.end()
        else:
            value_end = _UNQUOTED.match(line, value_start).end()
        pairs.append((line[start:key_end], line[value_start:value_end]))
        pos = value_end + 1
    return pairs


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            return value
    return value


def _int(value: str) -> int | str:
    """Exact for integers (seeds beyond float precision), tolerant of ``20.0``; the text itself if neither."""
    if len(value) > 40:  # int() of a long digit string is slow, and no recipe number is that long
        return value
    for parse in (int, lambda text: int(float(text))):
        try:
            return parse(value)
        except (TypeError, ValueError, OverflowError):
            pass
    return value


def _float(value: str) -> float | str:
    try:
        return float(value) if len(value) <= 40 else value
    except ValueError:
        return value


def _sampler(fields: dict[str, str]) -> str:
    """The sampler label; newer A1111/Forge split "DPM++ 2M Karras" into a sampler and a ``Schedule type``."""
    sampler = fields.get("Sampler", "").strip()
    schedule = fields.get("Schedule type", "").strip()
    if sampler and schedule and schedule.lower() != "automatic" and not sampler.lower().endswith(schedule.lower()):
        return f"{sampler} {schedule}"
    return sampler


def recipe_from_parameters(text: str) -> Recipe:
    """A recipe from any A1111-style ``parameters`` text; unknown fields are ignored, missing ones defaulted."""
    return check_parameters(text).recipe


def check_parameters(text: str) -> CheckedRecipe:
    """Like :func:`recipe_from_parameters`, naming the fields whose values were unusable (defaults instead).

    A missing seed becomes -1 (A1111's "random"); a missing sampler stays empty (the model's own).
    The mode is inferred as A1111 writes it: ``Mask blur`` means inpainting, ``Denoising strength`` without any
    ``Hires ...`` field (where it belongs to the hires pass) means image-to-image.
    """
    fields = parse_parameters(text)
    hires = any(key.startswith("Hires ") for key in fields)
    if "Mask blur" in fields:
        mode = "inpaint"
    elif "Denoising strength" in fields and not hires:
        mode = "img2img"
    else:
        mode = "txt2img"
    sampler = _sampler(fields)
    version = fields.get("Version", "")
    data: dict[str, object] = {
        "prompt": fields["Prompt"],
        "negative_prompt": fields["Negative prompt"],
        "sampler": sampler,
        "model": fields.get("Model", ""),
        "model_hash": fields.get("Model hash", ""),
        "mode": mode,
        "scheduler": scheduler_from_label(sampler) or "",
        "lora_hashes": fields.get("Lora hashes", ""),
        "ti_hashes": fields.get("TI hashes", ""),
        "vae": fields.get("VAE", ""),
        "vae_hash": fields.get("VAE hash", ""),
        "decoder": fields.get("Decoder", ""),
        "openvino_weights": fields.get("OpenVINO weights", ""),
        "openvino_precision": fields.get("OpenVINO precision", ""),
        "app_version": version[len(APP_TAG) :].strip() if version.startswith(APP_TAG) else "",
    }
    numbers = {"seed": ("Seed", _int), "steps": ("Steps", _int), "cfg_scale": ("CFG scale", _float),
               "batch_size": ("Batch size", _int), "batch_index": ("Batch pos", _int), "clip_skip": ("Clip skip", _int)}
    if mode != "txt2img":
        numbers["strength"] = ("Denoising strength", _float)
    if mode == "inpaint":
        numbers["mask_feather"] = ("Mask blur", _int)
    if "Distilled CFG Scale" in fields:  # Forge's Flux: the guidance is the distilled one
        numbers["cfg_scale"] = ("Distilled CFG Scale", _float)
        data["model_family"] = "flux"
    for name, (key, parse) in numbers.items():
        if key in fields:
            data[name] = parse(fields[key])
    if "Size" in fields:
        size = _SIZE.match(fields["Size"].strip())
        data["width"], data["height"] = (int(size[1]), int(size[2])) if size else (fields["Size"],) * 2
    hires = _hires_from(fields) if mode == "txt2img" else None
    if hires is not None:
        data["hires"] = asdict(hires)  # checked like every other field
    units = [parse_control(fields[key]) for key in fields if re.fullmatch(r"ControlNet \d+", key)]
    image_prompt = image_prompt_from(fields, units)
    if image_prompt is not None:
        data["image_prompt"] = image_prompt
    units = [unit for unit in units if not is_ip_adapter_unit(unit)]
    if units:
        data["control"] = units
    tiled_refine = _tiled_refine_from(fields) if mode == "img2img" else None
    if tiled_refine is not None:
        data["tiled_refine"] = tiled_refine
    fallback = {"strength": _DEFAULTS.strength} if mode != "txt2img" else {}
    if mode == "inpaint":
        fallback["mask_feather"] = _DEFAULTS.mask_feather
    checked = check_recipe(data, fallback)
    recipe = checked.recipe
    recipe = replace(recipe, batch_size=max(1, recipe.batch_size), batch_index=max(0, recipe.batch_index),
                     clip_skip=min(MAX_CLIP_SKIP, max(1, recipe.clip_skip)))
    return CheckedRecipe(recipe, checked.skipped)


def png_info(recipe: Recipe) -> PngInfo:
    """Both chunks; Pillow writes tEXt, or iTXt (UTF-8) when the text is not latin-1, as A1111's saves do."""
    info = PngInfo()
    info.add_text(PARAMETERS_KEY, format_parameters(recipe))
    info.add_text(RECIPE_KEY, json.dumps({"schema": SCHEMA, **recipe.to_dict()}, ensure_ascii=False))
    return info


def exif_user_comment(text: str) -> bytes:
    """``text`` as an EXIF UserComment value, the way A1111 stores ``parameters`` in JPEG and WebP files."""
    return _UNICODE_PREFIX + text.encode("utf-16-be")


def _user_comment(im: Image.Image) -> str | None:
    """The text of an image's EXIF UserComment (A1111's ``parameters`` in JPEG and WebP), or None."""
    try:
        data = im.getexif().get_ifd(_EXIF_IFD).get(_USER_COMMENT)
    except Exception:  # noqa: BLE001 - damaged EXIF is only "no recipe"; Pillow raises many kinds
        log.info("Unreadable EXIF data", exc_info=True)
        return None
    if not isinstance(data, bytes) or len(data) > 4 * MAX_CHUNK_CHARS:
        return None
    if data.startswith(_UNICODE_PREFIX):
        return data[8:].decode("utf-16-be", errors="replace")
    if data.startswith(_ASCII_PREFIX):
        return data[8:].decode("ascii", errors="replace")
    return None


def _long_int(text: str) -> int | str:
    """JSON integers: a digit string too long to be a recipe number stays text (and is skipped as such)."""
    return int(text) if len(text) <= 40 else text


def _checked_json(text: str) -> CheckedRecipe | None:
    """Our JSON chunk, or None when it is not one (not JSON, not an object, no schema, required fields missing)."""
    try:
        data = json.loads(text, parse_int=_long_int)
    except (ValueError, RecursionError) as exc:  # RecursionError: arrays nested thousands deep
        log.info("The recipe chunk is not valid JSON (%s)", type(exc).__name__)
        return None
    if not isinstance(data, dict) or "schema" not in data or not required_fields() <= data.keys():
        return None
    return check_recipe(data)


def _chunk(info: dict, key: str) -> str | None:
    """The text chunk ``key``, or None when absent or over :data:`MAX_CHUNK_CHARS` (refused, and logged)."""
    text = info.get(key)
    if not isinstance(text, str):
        return None
    if len(text) > MAX_CHUNK_CHARS:
        log.warning("The '%s' metadata is %d characters long, more than the %d read: ignored",
                    key, len(text), MAX_CHUNK_CHARS)
        return None
    return text


def read_recipe(source: str | Path | Image.Image) -> Recipe | None:
    """The recipe stored in an image (see :func:`read_checked_recipe`), or None."""
    checked = read_checked_recipe(source)
    return None if checked is None else checked.recipe


def read_checked_recipe(source: str | Path | Image.Image) -> CheckedRecipe | None:
    """The recipe stored in an image: our JSON chunk, else its ``parameters`` text, else None; with the fields
    whose stored values were unusable.

    A path that is not a readable image raises :class:`StudioError`.
    """
    if isinstance(source, Image.Image):
        info = dict(source.info)
    else:
        with open_image(source) as im:
            info = dict(im.info)
            if RECIPE_KEY not in info and PARAMETERS_KEY not in info and im.format == "PNG":
                info.update(im.text)  # text chunks after the pixel data, read only when needed
            if im.format in ("JPEG", "WEBP") and (comment := _user_comment(im)) is not None:
                info.setdefault(PARAMETERS_KEY, comment)
    ours = _chunk(info, RECIPE_KEY)
    checked = _checked_json(ours) if ours is not None else None
    if checked is not None:
        return checked
    parameters = _chunk(info, PARAMETERS_KEY)
    if parameters is not None and parameters.strip():
        return check_parameters(parameters)
    return None
