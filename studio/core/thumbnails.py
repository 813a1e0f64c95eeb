"""Gallery thumbnails, cached on disk under ``<root>/cache/thumbnails/``.

A thumbnail is named by the image's path, size and modification time, so an image changed in place gets a new
one. Made with Pillow's JPEG draft mode (decoding at a fraction of the size) where it applies, saved as JPEG.
Blocking: called off the GUI thread.
"""

from __future__ import annotations

import hashlib
import io
import logging
from pathlib import Path

from PIL import Image

from studio.core.atomic import atomic_write_bytes
from studio.core.image_io import open_image
from studio.core.paths import cache_dir

log = logging.getLogger(__name__)

SIZE = 128  # pixels on the longer side
QUALITY = 85


def thumbnails_dir() -> Path:
    return cache_dir() / "thumbnails"


def cache_path(folder: Path, path: Path, mtime_ns: int, size: int) -> Path:
    key = hashlib.sha1(f"{Path(path).resolve()}\0{mtime_ns}\0{size}".encode("utf-8", "surrogatepass")).hexdigest()
    return folder / key[:2] / f"{key}.jpg"


def thumbnail(path: Path, mtime_ns: int, size: int, folder: Path | None = None) -> Image.Image:
    """The RGB thumbnail of ``path`` (at most :data:`SIZE` on its longer side): from the cache, else made and
    cached. A path that is not a readable image raises :class:`StudioError`."""
    cached = cache_path(folder or thumbnails_dir(), path, mtime_ns, size)
    try:
        with Image.open(cached) as im:
            im.load()
            return im.convert("RGB")
    except (OSError, SyntaxError, ValueError):  # not made yet, or damaged: made again
        pass
    small = _make(path)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=QUALITY)
    try:
        atomic_write_bytes(cached, buffer.getvalue())
    except OSError as exc:  # a full or read-only disk costs speed, not the thumbnail
        log.info("Cannot cache the thumbnail of %s: %s", path, exc)
    return small


def _make(path: Path) -> Image.Image:
    with open_image(path) as im:
        im.draft("RGB", (SIZE, SIZE))  # JPEG only: decodes at 1/2, 1/4 or 1/8 of the size
        im.thumbnail((SIZE, SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            backdrop = Image.new("RGB", im.size, (255, 255, 255))
            backdrop.paste(im.convert("RGBA"), mask=im.convert("RGBA").getchannel("A"))
            return backdrop
        return im.convert("RGB")
