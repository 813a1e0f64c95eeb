"""Saving generated images: A1111-style names (``00042-1234.png``), metadata chunks, atomic writes.

An output never replaces another file, even one another process (a second window, a ``studio generate`` run)
is saving at the same moment: each name is claimed atomically, and a taken name moves on to the next number.
"""

import re
import threading
from pathlib import Path

from PIL import Image

from studio.core.atomic import NameTaken, atomic_create_bytes, atomic_write_bytes, clean_stale_temps
from studio.core.image_formats import encode, output_format
from studio.core.paths import outputs_dir
from studio.core.recipe import Recipe

_NUMBERED = re.compile(r"^(\d{5,})-")
# Choosing a number and claiming the name happen under one lock, so saves in one process never collide; across
# processes the claim itself (atomic_create) decides.
_lock = threading.Lock()
_cleaned: set[Path] = set()  # folders already rid of temporary files from killed saves, in this process


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
        if folder not in _cleaned:
            clean_stale_temps(folder)
            _cleaned.add(folder)
        number = _next_number(folder)
        while True:
            try:
                return atomic_create_bytes(folder / f"{number:05d}-{recipe.seed}.png", data)
            except NameTaken:  # another process took it since the folder was listed
                number += 1


def write_image(path: str | Path, image: Image.Image, recipe: Recipe) -> Path:
    """Write ``image`` with ``recipe`` to exactly ``path`` (a file the user chose), atomically replacing it, in the
    format its extension names (PNG, JPEG or WebP)."""
    path = Path(path)
    return atomic_write_bytes(path, encode(image, recipe, output_format(path)))
