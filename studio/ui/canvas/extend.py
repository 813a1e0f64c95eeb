"""Growing the canvas for outpainting: the new border gets plausible colours, not copied detail.

The border is the image mirrored at its edges, then blurred strongly, so the model starts from the
right palette and light without repeating recognisable shapes. The original pixels are kept exactly.
"""

import numpy as np
from PIL import Image, ImageFilter
from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QColor, QImage, QPainter

from studio.ui.canvas.decoding import DISPLAY_FORMAT
from studio.ui.canvas.mask_layer import blank_mask

BLUR_FRACTION = 0.25  # blur radius as a fraction of the widest new border


def extend_image(image: QImage, left: int, top: int, right: int, bottom: int) -> QImage:
    rgb = _to_array(image)
    h, w = rgb.shape[:2]
    padded = np.pad(rgb, ((top, bottom), (left, right), (0, 0)), mode="symmetric")
    radius = max(2.0, BLUR_FRACTION * max(left, top, right, bottom))
    blurred = Image.fromarray(padded).filter(ImageFilter.GaussianBlur(radius))
    out = np.array(blurred)
    out[top : top + h, left : left + w] = rgb
    return _to_qimage(out)


def extend_mask(mask: QImage | None, size: QSize, left: int, top: int, right: int, bottom: int) -> QImage:
    """The old mask in place, every new pixel set to 255."""
    grown = blank_mask(QSize(size.width() + left + right, size.height() + top + bottom), 255)
    painter = QPainter(grown)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    if mask is None:
        painter.fillRect(QRect(left, top, size.width(), size.height()), QColor(0, 0, 0))
    else:
        painter.drawImage(left, top, mask)
    painter.end()
    return grown


def _to_array(image: QImage) -> np.ndarray:
    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(rgb.constBits(), dtype=np.uint8).reshape(rgb.height(), rgb.bytesPerLine())
    return rows[:, : 3 * rgb.width()].reshape(rgb.height(), rgb.width(), 3).copy()


def _to_qimage(rgb: np.ndarray) -> QImage:
    data = np.ascontiguousarray(rgb).tobytes()
    h, w = rgb.shape[:2]
    return QImage(data, w, h, 3 * w, QImage.Format.Format_RGB888).convertToFormat(DISPLAY_FORMAT)
