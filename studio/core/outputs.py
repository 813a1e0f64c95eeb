"""Saving generated images: A1111-style names (``00042-1234.png``), metadata chunks, atomic writes."""

import re
import threading
from pathlib import Path

from PIL import Image

from studio.core.atomic import atomic_write_bytes
from studio.core.image_formats import encode, output_format
from studio.core.paths import outputs_dir
from studio.core.recipe import Recipe

_NUMBERED = re.compile(r"^(\d{5,})-")
# Choosing a number and writing the file happen under one lock, so two saves never pick the same name.
_lock = threading.Lock()


def _next_number(folder: Path) -> int:
    """One more than the highest ``NNNNN-`` prefix in ``folder`` (0 for an empty or missing folder)."""
    if not folder.is_dir():
        return 0
    numbers = (int(m[1]) for entry in folder.iterdir() if (m := _NUMBERED.match(entry.name)))
    return max(numbers, default=-1) + 1


def save_image(image: Image.Image, recipe: Recipe, folder: str | Path | None = None) -> Path:
    """Write ``image`` as a PNG carrying ``recipe`` into ``folder`` (default: the outputs folder); return its path."""
    data = encode(image, recipe, "PNG")  # encoded outside the lock
    folder = Path(folder) if folder is not None else outputs_dir()
    with _lock:
        path = folder / f"{_next_number(folder):05d}-{recipe.seed}.png"
        return atomic_write_bytes(path, data)


def write_image(path: str | Path, image: Image.Image, recipe: Recipe) -> Path:
    """Write ``image`` with ``recipe`` to exactly ``path`` (a file the user chose), atomically replacing it, in the
    format its extension names (PNG, JPEG or WebP)."""
    path = Path(path)
    return atomic_write_bytes(path, encode(image, recipe, output_format(path)))
