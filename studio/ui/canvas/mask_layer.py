"""The inpainting mask (a Grayscale8 QImage, 255 = repaint) and the coloured overlay that shows it.

The overlay is an ARGB image cache updated only inside changed rectangles, so a brush dab costs a few
hundred pixels whatever the image size; opacity is applied when it is drawn, so changing it is free.
"""

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter

MASK_FORMAT = QImage.Format.Format_Grayscale8
OVERLAY_FORMAT = QImage.Format.Format_ARGB32_Premultiplied  # the format QPainter draws fastest
# Full refreshes (fill, invert, a new mask) work in bands to bound the temporary ARGB memory.
_BAND_ROWS = 512


def blank_mask(size: QSize, value: int = 0) -> QImage:
    mask = QImage(size, MASK_FORMAT)
    mask.fill(QColor(value, value, value))
    return mask


def is_blank(mask: QImage) -> bool:
    """True when no pixel is painted (the scan happens on request, never per mouse move)."""
    bits = np.frombuffer(mask.constBits(), dtype=np.uint8)
    rows = bits.reshape(mask.height(), mask.bytesPerLine())[:, : mask.width()]
    return not rows.any()


class MaskLayer:
    def __init__(self) -> None:
        self._size = QSize()
        self._mask: QImage | None = None  # None until something is painted or set
        self._overlay: QImage | None = None
        self._color = QColor(255, 48, 48)

    def image(self) -> QImage | None:
        """The live buffer; painters draw into it and then call :meth:`refresh`."""
        return self._mask

    def reset(self, size: QSize, mask: QImage | None = None) -> None:
        """Start over for an image of ``size``; ``mask`` must be that size (or None for nothing painted)."""
        self._size = QSize(size)
        self._overlay = None
        self.replace(mask)

    def replace(self, mask: QImage | None) -> None:
        self._mask = None if mask is None else QImage(mask).convertToFormat(MASK_FORMAT)
        self.refresh(QRect(0, 0, self._size.width(), self._size.height()))

    def ensure(self) -> QImage:
        """The live buffer, created empty on first use."""
        if self._mask is None:
            self._mask = blank_mask(self._size)
            self._overlay = self._blank_overlay()  # a blank mask shows nothing: nothing to recolour
        return self._mask

    def write(self, rect: QRect, pixels: QImage) -> None:
        """Put ``pixels`` (a copy of an earlier ``rect``) back, byte for byte."""
        painter = QPainter(self.ensure())
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(rect.topLeft(), pixels)
        painter.end()
        self.refresh(rect)

    def invert(self) -> None:
        self.ensure().invertPixels()
        self.refresh(QRect(0, 0, self._size.width(), self._size.height()))

    def color(self) -> QColor:
        return QColor(self._color)

    def set_color(self, color: QColor) -> None:
        self._color = QColor(color.red(), color.green(), color.blue())
        self.refresh(QRect(0, 0, self._size.width(), self._size.height()))

    def overlay(self) -> QImage | None:
        return self._overlay

    def refresh(self, rect: QRect) -> None:
        """Recolour the overlay inside ``rect`` from the mask."""
        if self._mask is None:
            self._overlay = None
            return
        if self._overlay is None:
            self._overlay = self._blank_overlay()
            rect = QRect(0, 0, self._size.width(), self._size.height())
        rect = rect & QRect(0, 0, self._size.width(), self._size.height())
        painter = QPainter(self._overlay)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        for top in range(rect.top(), rect.bottom() + 1, _BAND_ROWS):
            band = QRect(rect.left(), top, rect.width(), min(_BAND_ROWS, rect.bottom() + 1 - top))
            tile = QImage(band.size(), OVERLAY_FORMAT)
            tile.fill(self._color)
            tile.setAlphaChannel(self._mask.copy(band))
            painter.drawImage(band.topLeft(), tile)
        painter.end()

    def _blank_overlay(self) -> QImage:
        overlay = QImage(self._size, OVERLAY_FORMAT)
        overlay.fill(Qt.GlobalColor.transparent)
        return overlay
