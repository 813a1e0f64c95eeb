"""PNG metadata: AUTOMATIC1111's ``parameters`` text (the de-facto standard) plus our full recipe as JSON.

The ``parameters`` format, as A1111 writes it (``processing.create_infotext``) and reads it
(``infotext_utils.parse_generation_parameters``)::

    <prompt, may span lines>
    Negative prompt: <may span lines; the line is left out when empty>
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: ..., Model: ..., Version: ...

A value containing a comma, colon or newline is written as a JSON string.
"""

import json
import re
from pathlib import Path
from typing import Any

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from studio.core.image_io import open_image
from studio.core.recipe import Recipe
from studio.core.request import MAX_CLIP_SKIP, GenerationRequest
from studio.core.samplers import scheduler_from_label

PARAMETERS_KEY = "parameters"
RECIPE_KEY = "latent-studio"
SCHEMA = 1
APP_TAG = "latent-studio"
NEGATIVE = "Negative prompt:"

# A1111's own pattern for one ``Key: value`` pair of the last line.
_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SIZE = re.compile(r"^(\d+)x(\d+)$")
_DEFAULTS = GenerationRequest(prompt="")


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
        "CFG scale": _number(recipe.cfg_scale),
        "Seed": recipe.seed,
        "Size": f"{recipe.width}x{recipe.height}",
        "Model hash": recipe.model_hash or None,
        "Model": recipe.model or None,
        "VAE hash": recipe.vae_hash or None,
        "VAE": recipe.vae or None,
        "Batch size": recipe.batch_size if batch else None,
        "Batch pos": recipe.batch_index if batch else None,
        "Denoising strength": None if recipe.strength is None else _number(recipe.strength),
        "Mask blur": recipe.mask_feather,
        "Clip skip": recipe.clip_skip if recipe.clip_skip > 1 else None,
        "Lora hashes": recipe.lora_hashes or None,
        "TI hashes": recipe.ti_hashes or None,
        "Version": f"{APP_TAG} {recipe.app_version}".strip(),
    }
    params = ", ".join(f"{key}: {_quote(value)}" for key, value in fields.items() if value is not None)
    negative = f"\n{NEGATIVE} {recipe.negative_prompt}" if recipe.negative_prompt else ""
    if not recipe.prompt and not negative:
        return params
    return f"{recipe.prompt}{negative}\n{params}"


def parse_parameters(text: str) -> dict[str, str]:
    """Every field of a ``parameters`` text as written, keyed as A1111 does, unknown keys included.

    ``Prompt`` and ``Negative prompt`` are always present (possibly empty); the other values are strings with
    JSON quoting removed (``Size`` stays ``"512x768"``).
    """
    lines = text.strip().replace("\r\n", "\n").split("\n")
    pairs = _PARAM.findall(lines[-1])
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


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            return str(json.loads(value))
        except ValueError:
            return value
    return value


def _int(value: str | None, default: int) -> int:
    """Exact for integers (seeds beyond float precision), tolerant of ``20.0``."""
    for parse in (int, lambda text: int(float(text))):
        try:
            return parse(value)
        except (TypeError, ValueError, OverflowError):
            pass
    return default


def _float(value: str | None, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _sampler(fields: dict[str, str]) -> str:
    """The sampler label; newer A1111/Forge split "DPM++ 2M Karras" into a sampler and a ``Schedule type``."""
    sampler = fields.get("Sampler", "").strip()
    schedule = fields.get("Schedule type", "").strip()
    if sampler and schedule and schedule.lower() != "automatic" and not sampler.lower().endswith(schedule.lower()):
        return f"{sampler} {schedule}"
    return sampler


def recipe_from_parameters(text: str) -> Recipe:
    """A recipe from any A1111-style ``parameters`` text; unknown fields are ignored, missing ones defaulted.

    A missing seed becomes -1 (A1111's "random"); a missing sampler stays empty (the model's own).
    The mode is inferred as A1111 writes it: ``Mask blur`` means inpainting, ``Denoising strength`` without any
    ``Hires ...`` field (where it belongs to the hires pass) means image-to-image.
    """
    fields = parse_parameters(text)
    size = _SIZE.match(fields.get("Size", "").strip())
    width, height = (int(size[1]), int(size[2])) if size else (_DEFAULTS.width, _DEFAULTS.height)
    hires = any(key.startswith("Hires ") for key in fields)
    if "Mask blur" in fields:
        mode = "inpaint"
    elif "Denoising strength" in fields and not hires:
        mode = "img2img"
    else:
        mode = "txt2img"
    sampler = _sampler(fields)
    version = fields.get("Version", "")
    return Recipe(
        prompt=fields["Prompt"],
        negative_prompt=fields["Negative prompt"],
        seed=_int(fields.get("Seed"), -1),
        steps=_int(fields.get("Steps"), _DEFAULTS.steps),
        cfg_scale=_float(fields.get("CFG scale"), _DEFAULTS.cfg_scale),
        width=width,
        height=height,
        sampler=sampler,
        model=fields.get("Model", ""),
        model_hash=fields.get("Model hash", ""),
        mode=mode,
        strength=None if mode == "txt2img" else _float(fields.get("Denoising strength"), _DEFAULTS.strength),
        mask_feather=_int(fields["Mask blur"], _DEFAULTS.mask_feather) if mode == "inpaint" else None,
        scheduler=scheduler_from_label(sampler) or "",
        batch_size=max(1, _int(fields.get("Batch size"), 1)),
        batch_index=max(0, _int(fields.get("Batch pos"), 0)),
        clip_skip=min(MAX_CLIP_SKIP, max(1, _int(fields.get("Clip skip"), 1))),
        lora_hashes=fields.get("Lora hashes", ""),
        ti_hashes=fields.get("TI hashes", ""),
        vae=fields.get("VAE", ""),
        vae_hash=fields.get("VAE hash", ""),
        app_version=version[len(APP_TAG) :].strip() if version.startswith(APP_TAG) else "",
    )


def png_info(recipe: Recipe) -> PngInfo:
    """Both chunks; Pillow writes tEXt, or iTXt (UTF-8) when the text is not latin-1, as A1111's saves do."""
    info = PngInfo()
    info.add_text(PARAMETERS_KEY, format_parameters(recipe))
    info.add_text(RECIPE_KEY, json.dumps({"schema": SCHEMA, **recipe.to_dict()}, ensure_ascii=False))
    return info


def _recipe_from_json(text: str) -> Recipe | None:
    try:
        data = json.loads(text)
        return Recipe.from_dict(data) if isinstance(data, dict) and "schema" in data else None
    except (ValueError, TypeError):
        return None


def read_recipe(source: str | Path | Image.Image) -> Recipe | None:
    """The recipe stored in an image: our JSON chunk, else its ``parameters`` text, else None.

    A path that is not a readable image raises :class:`StudioError`.
    """
    if isinstance(source, Image.Image):
        info = dict(source.info)
    else:
        with open_image(source) as im:
            info = dict(im.info)
            if RECIPE_KEY not in info and PARAMETERS_KEY not in info and im.format == "PNG":
                info.update(im.text)  # text chunks after the pixel data, read only when needed
    ours = info.get(RECIPE_KEY)
    recipe = _recipe_from_json(ours) if isinstance(ours, str) else None
    if recipe is not None:
        return recipe
    parameters = info.get(PARAMETERS_KEY)
    if isinstance(parameters, str) and parameters.strip():
        return recipe_from_parameters(parameters)
    return None
