"""Pixels into QImages, safe to build in any thread: every QImage returned owns its memory."""

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
