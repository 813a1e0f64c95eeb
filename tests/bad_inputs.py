"""The bad-input corpus: each function makes one kind of crafted or broken file, the way an attacker, another
tool or a damaged disk would, so tests can show what the app does with it (one sentence, nothing lost)."""

import json
from pathlib import Path

from PIL import Image
from PIL.PngImagePlugin import PngInfo

from studio.core.recipe import Recipe

# A1111's own pattern for one ``Key: value`` pair (modules/infotext_utils.py): the reference the linear scanner
# must agree with, and the one that takes quadratic time.
A1111_PARAM = r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)'

GOOD = Recipe(prompt="a lighthouse at dusk", negative_prompt="blurry", seed=1234, steps=25, cfg_scale=7.0,
              width=512, height=768, sampler="Euler a", model="v1-5", scheduler="euler_a", app_version="0.1.0")
PARAMETERS_LINE = "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 5, Size: 512x512"


def png_with_text(path: Path, chunks: dict[str, str], *, size: tuple[int, int] = (16, 16)) -> Path:
    """A small PNG carrying ``chunks`` as text chunks (tEXt, or iTXt beyond latin-1)."""
    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    Image.new("RGB", size, "gray").save(path, pnginfo=info)
    return path


def slow_parameters(chars: int) -> str:
    """A ``parameters`` text whose last line is one long run of key characters without a colon: A1111's regex
    retries at every character and scans to the run's end each time (quadratic; 30 KB took 43 s in the window)."""
    return "a cat\n" + ("a b-c/" * (chars // 6 + 1))[:chars]


def many_commas_parameters(chars: int) -> str:
    """Another worst case: a last line of short failed keys (``a,a,a,...``), one retry per character."""
    return "a cat\n" + PARAMETERS_LINE + ", " + ("ab," * (chars // 3 + 1))[:chars]


def open_quotes_parameters(chars: int) -> str:
    """Values that open a JSON string and never close it, so each tries to read to the end of the line."""
    return "a cat\n" + ", ".join(f'K{i}: "x' for i in range(chars // 8 + 1))[:chars]


def recipe_json(**overrides) -> str:
    """Our JSON recipe chunk for :data:`GOOD` with ``overrides`` put in as given (any JSON value)."""
    return json.dumps({"schema": 1, **GOOD.to_dict(), **overrides})


def deeply_nested_json(depth: int = 100_000) -> str:
    """A recipe chunk whose ``model`` is ``[[[[...]]]]`` ``depth`` levels deep (json.loads: RecursionError)."""
    return recipe_json(model=0).replace('"model": 0', '"model": ' + "[" * depth + "]" * depth)


# Stored values of the wrong type or beyond any use, as JSON text put into a recipe: name -> (field, JSON value).
WRONG_VALUES = {
    "text for a number": ("cfg_scale", '"abc"'),
    "number too large for a float": ("steps", "1e999"),
    "integer with hundreds of digits": ("seed", "9" * 500),
    "lone surrogate": ("prompt", '"a cat \\ud800"'),
    "list for a number": ("width", "[512, 512]"),
    "boolean for a number": ("steps", "true"),
    "object for text": ("sampler", '{"name": "Euler"}'),
    "NaN": ("cfg_scale", "NaN"),
}


def recipe_json_with(field: str, json_value: str) -> str:
    return recipe_json(**{field: "__VALUE__"}).replace('"__VALUE__"', json_value)


TERMINAL_ATTACK = "a cat\x1b]0;owned\x07\x1b[2J\x9b31m\u202egnp.exe\nSteps: 20, Sampler: Euler\x1b[8m, CFG scale: 7"


def all_black_mask(path: Path, size: tuple[int, int]) -> Path:
    Image.new("L", size, 0).save(path)
    return path


def wide_image(path: Path, size: tuple[int, int] = (16000, 50)) -> Path:
    """A panorama strip whose fitted size exceeds the request's side limit unless the fit caps it."""
    Image.new("RGB", size, (40, 90, 160)).save(path)
    return path
