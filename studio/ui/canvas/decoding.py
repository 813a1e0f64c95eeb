"""Turning files and bytes into QImages. Runs on worker threads: it touches no widget and no QPixmap.

Images go through ``studio.core.image_io`` (Pillow: EXIF orientation, transparency on white, 16-bit,
clear error sentences); Qt's own reader stands in while that module is absent.
"""

from pathlib import Path

from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter

from studio.core.errors import StudioError

try:
    from studio.core import image_io
except ImportError:  # pragma: no cover - depends on which modules have landed
    image_io = None

DISPLAY_FORMAT = QImage.Format.Format_RGB32


def decode_file(path: str | Path) -> QImage:
    if image_io is not None:
        return _from_pil(image_io.load_image(path))
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise StudioError(f"'{path.name}' is empty or missing.")
    return flatten(_qt_read(QImageReader(str(path)), path.name))


def decode_bytes(data: bytes, name: str) -> QImage:
    if image_io is not None:
        return _from_pil(image_io.image_from_bytes(data, name))
    if not data:
        raise StudioError(f"'{name}' is empty.")
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    return flatten(_qt_read(QImageReader(buffer), name))


def decode_mask(path: str | Path, size: QSize) -> QImage:
    """A Grayscale8 mask (255 = repaint) that must be ``size``; a wrong size is a StudioError."""
    path = Path(path)
    if image_io is not None:
        mask = image_io.load_mask(path, (size.width(), size.height()))
        data = mask.tobytes()
        return QImage(data, mask.width, mask.height, mask.width, QImage.Format.Format_Grayscale8).copy()
    mask = _qt_read(QImageReader(str(path)), path.name).convertToFormat(QImage.Format.Format_Grayscale8)
    if mask.size() != size:
        raise StudioError(
            f"The mask '{path.name}' is {mask.width()}x{mask.height()} but the image is "
            f"{size.width()}x{size.height()}; they must be the same size."
        )
    return mask


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


def _qt_read(reader: QImageReader, label: str) -> QImage:
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        if reader.error() == QImageReader.ImageReaderError.UnsupportedFormatError:
            raise StudioError(f"'{label}' is not an image file the app can read.")
        raise StudioError(f"'{label}' is damaged or incomplete and cannot be read.")
    return image
