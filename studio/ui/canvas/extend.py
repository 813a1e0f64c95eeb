"""Growing the canvas for outpainting: the new border gets plausible colours, not copied detail.

The border is the image mirrored at its edges, then blurred strongly, so the model starts from the
right palette and light without repeating recognisable shapes. The original pixels are kept exactly.
The mirroring and blurring happen on a reduced copy (at most ~1024 px a side) and only the new border
is painted at full size, so growing a huge image costs little more than copying it.
"""

import math

import numpy as np
from PIL import Image, ImageFilter
from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QRegion

from studio.ui.canvas.decoding import DISPLAY_FORMAT
from studio.ui.canvas.mask_layer import blank_mask

BLUR_FRACTION = 0.25  # blur radius as a fraction of the widest new border
WORK_SIDE = 1024  # the reduced copy's longest side at most


def extend_image(image: QImage, left: int, top: int, right: int, bottom: int) -> QImage:
    w, h = image.width(), image.height()
    radius = max(2.0, BLUR_FRACTION * max(left, top, right, bottom))
    factor = max(1, int(radius // 4), math.ceil(max(w, h) / WORK_SIDE))
    small = image.scaled(
        max(1, round(w / factor)),
        max(1, round(h / factor)),
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )
    kx, ky = w / small.width(), h / small.height()  # full-size pixels per reduced pixel
    pl, pt, pr, pb = (math.ceil(left / kx), math.ceil(top / ky), math.ceil(right / kx), math.ceil(bottom / ky))
    padded = np.pad(_to_array(small), ((pt, pb), (pl, pr), (0, 0)), mode="symmetric")
    background = _to_qimage(np.asarray(Image.fromarray(padded).filter(ImageFilter.GaussianBlur(radius / factor))))

    out = QImage(w + left + right, h + top + bottom, DISPLAY_FORMAT)
    painter = QPainter(out)
    painter.setClipRegion(QRegion(out.rect()).subtracted(QRegion(QRect(left, top, w, h))))
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    target = QRectF(left - pl * kx, top - pt * ky, background.width() * kx, background.height() * ky)
    painter.drawImage(target, background)
    painter.setClipping(False)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
    painter.drawImage(left, top, image)
    painter.end()
    return out


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
