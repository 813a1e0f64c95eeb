"""Output files by extension: PNG with both text chunks, JPEG and WebP with the ``parameters`` text in EXIF.

AUTOMATIC1111 stores the ``parameters`` text of a JPEG or WebP in the EXIF ``UserComment`` tag (``UNICODE``
prefix, UTF-16 big-endian, as ``piexif.helper.UserComment.dump(text, encoding="unicode")`` writes it); readers
of its images look there, so that is what these files carry. The JSON recipe exists only in PNGs.
"""

import io
import logging
import os
import shutil
import tempfile
from pathlib import Path

from PIL import Image

from studio.core.errors import StudioError
from studio.core.metadata import exif_user_comment, format_parameters, png_info
from studio.core.recipe import Recipe

FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
QUALITY = 95  # JPEG and WebP
_EXIF_IFD = 0x8769
_USER_COMMENT = 0x9286
_JPEG_EXIF_LIMIT = 65_000  # an APP1 segment holds at most 64 KiB

log = logging.getLogger(__name__)


def output_format(path: Path) -> str:
    """The Pillow format a file name asks for; refuses other extensions with one sentence."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise StudioError(
            f"'{Path(path).name}' must end in .png, .jpg, .jpeg or .webp: the image format follows the extension."
        )
    return fmt


def encode(image: Image.Image, recipe: Recipe, fmt: str = "PNG") -> bytes:
    """``image`` in ``fmt`` ("PNG", "JPEG" or "WEBP"), carrying ``recipe`` as that format can."""
    buffer = io.BytesIO()
    if fmt == "PNG":
        image.save(buffer, format="PNG", pnginfo=png_info(recipe))
        return buffer.getvalue()
    exif = Image.Exif()
    comment = exif_user_comment(format_parameters(recipe))
    if fmt == "WEBP" or len(comment) <= _JPEG_EXIF_LIMIT:
        exif.get_ifd(_EXIF_IFD)[_USER_COMMENT] = comment
    else:  # the image matters more than its recipe: write it without
        log.warning("The recipe (%d bytes) does not fit in a JPEG's EXIF block; the JPEG is written without it",
                    len(comment))
    image.convert("RGB").save(buffer, format=fmt, quality=QUALITY, exif=exif)
    return buffer.getvalue()


def check_writable_file(path: Path, expected_bytes: int) -> None:
    """Raise :class:`StudioError` unless an image of about ``expected_bytes`` can be written to ``path``.

    Checked before a generation, so that a bad ``--out`` costs nothing: an unknown extension, a folder given as
    the file, a file where a folder should be, a folder that refuses new files, a disk without room.
    """
    path = Path(path)
    if path.is_dir():
        raise StudioError(f"'{path}' is a folder; give a file name inside it, such as '{path / 'image.png'}'.")
    output_format(path)
    _check_folder(path.parent, path, expected_bytes)


def check_writable_folder(folder: Path, expected_bytes: int) -> None:
    """Like :func:`check_writable_file`, for images to be saved into ``folder``."""
    _check_folder(Path(folder), Path(folder), expected_bytes)


def _check_folder(folder: Path, target: Path, expected_bytes: int) -> None:
    while not folder.exists() and folder != folder.parent:  # missing folders are created: the nearest one must allow it
        folder = folder.parent
    if not folder.is_dir():
        raise StudioError(f"'{target}' cannot be written: '{folder.name}' is a file, not a folder.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".studio-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise StudioError(f"'{target}' cannot be written: {exc.strerror or type(exc).__name__}.") from exc
    if free < expected_bytes:
        raise StudioError(
            f"'{target}' cannot be written: the disk has {free // 1024} KiB free and the images need up to "
            f"{expected_bytes // 1024} KiB."
        )
