"""Control images kept for recipes: ``<root>/control-images/<key>.png``, named by their content.

A recipe names its control images by key (:func:`store`), so restoring it gives the control layer back with its
image; the images live outside the outputs folder, so nothing that lists outputs (history) shows them. The same
image stored twice is one file; a file is written once (atomically) and never replaced.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from pathlib import Path

from PIL import Image

from studio.core.atomic import NameTaken, atomic_create_bytes
from studio.core.errors import StudioError
from studio.core.image_io import open_image
from studio.core.paths import studio_home

log = logging.getLogger(__name__)

FOLDER = "control-images"
_KEY = re.compile(r"^[0-9a-f]{20}$")


def store_dir() -> Path:
    path = studio_home() / FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def image_key(image: Image.Image) -> str:
    """The content key of ``image``: its mode, size and pixels hashed."""
    digest = hashlib.sha256(f"{image.mode}:{image.width}x{image.height}:".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()[:20]


def store(image: Image.Image) -> str:
    """Keep ``image`` (as a PNG, its transparency too) and return its key."""
    key = image_key(image)
    path = store_dir() / f"{key}.png"
    if not path.is_file():
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        try:
            atomic_create_bytes(path, buffer.getvalue())
        except NameTaken:  # stored at the same moment by another run: the same pixels
            pass
    return key


def load(key: str) -> Image.Image:
    """The stored image for ``key``; :class:`StudioError` when it is not there (a recipe from another machine)."""
    path = store_dir() / f"{key}.png"
    if not _KEY.match(key) or not path.is_file():
        raise StudioError("The recipe's control image is not on this computer; add the image to the control layer again.")
    with open_image(path) as im:
        im.load()
        return im.copy()
