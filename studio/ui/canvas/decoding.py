"""Turning files and bytes into QImages. Runs on worker threads: it touches no widget and no QPixmap.

Decoding goes through ``studio.core.image_io`` (Pillow: EXIF orientation, transparency on white,
16-bit, one clear sentence per bad input); this module only converts to Qt.
"""

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage, QPainter

from studio.core import image_io

DISPLAY_FORMAT = QImage.Format.Format_RGB32


def decode_file(path: str | Path) -> QImage:
    return _from_pil(image_io.load_image(path))


def decode_bytes(data: bytes, name: str) -> QImage:
    return _from_pil(image_io.image_from_bytes(data, name))


def decode_mask(path: str | Path, size: QSize) -> QImage:
    """A Grayscale8 mask (255 = repaint) that must be ``size``; a wrong size is a StudioError."""
    mask = image_io.load_mask(path, (size.width(), size.height()))
    data = mask.tobytes()
    return QImage(data, mask.width, mask.height, mask.width, QImage.Format.Format_Grayscale8).copy()


def flatten(image: QImage) -> QImage:
    """An opaque RGB32 copy, transparency composited on white (as the Pillow loader does)."""
    if not image.hasAlphaChannel():
        return image.convertToFormat(DISPLAY_FORMAT)
    flat = QImage(image.size(), DISPLAY_FORMAT)
    flat.fill(QColor(255, 255, 255))
    painter = QPainter(flat)
    painter.drawImage(0, 0, image)
    painter.end()
    return flat


def _from_pil(im: Image.Image) -> QImage:
    data = im.convert("RGB").tobytes()
    # convertToFormat makes an image that owns its pixels, independent of ``data``.
    return QImage(data, im.width, im.height, 3 * im.width, QImage.Format.Format_RGB888).convertToFormat(DISPLAY_FORMAT)
