"""Pixels between QImage and Pillow, safe in any thread: every image returned owns its memory."""

import io

import numpy as np
from PIL import Image
from PySide6.QtGui import QImage


def array_to_qimage(rgb: np.ndarray) -> QImage:
    """An HxWx3 uint8 RGB array as a QImage.

    QImage only borrows the buffer it is given, so the result is copied before the array can go away.
    """
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width, _ = rgb.shape
    return QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888).copy()


def pil_to_qimage(image: Image.Image) -> QImage:
    return array_to_qimage(np.asarray(image.convert("RGB")))


def qimage_to_pil(image: QImage) -> Image.Image:
    """Pixel for pixel: a Grayscale8 image (a mask) becomes mode "L", anything else mode "RGB" (alpha dropped)."""
    if image.format() == QImage.Format.Format_Grayscale8:
        channels = 1
    else:
        image = image.convertToFormat(QImage.Format.Format_RGB888)
        channels = 3
    width, height = image.width(), image.height()
    rows = np.frombuffer(image.constBits(), np.uint8, height * image.bytesPerLine()).reshape(height, -1)
    pixels = rows[:, : width * channels].reshape((height, width, channels) if channels == 3 else (height, width))
    return Image.fromarray(pixels.copy())  # uint8 HxW is "L", HxWx3 is "RGB"


def qimage_to_png(image: QImage) -> bytes:
    """A working copy as PNG, encoded fast (compression level 1): for the app's own files, not for outputs."""
    out = io.BytesIO()
    qimage_to_pil(image).save(out, "PNG", compress_level=1)
    return out.getvalue()
