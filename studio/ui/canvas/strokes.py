"""Brush and eraser strokes: round dabs stamped along the pointer's path.

Dabs are placed every quarter of a diameter along each segment between two pointer events, so a
fast stroke is a continuous line at any zoom. Dabs combine with max (brush) or min (eraser), so
overlapping soft dabs never build up beyond the brush's own profile.
"""

import math

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QRadialGradient

from studio.ui.canvas.mask_layer import MaskLayer

SPACING = 0.25  # of the dab's diameter
MIN_PRESSURE = 0.05


class BrushStroke:
    def __init__(self, layer: MaskLayer, size: float, hardness: float, erase: bool) -> None:
        self._layer = layer
        self.layer = layer  # which layer the stroke paints (the mask or the scribble layer)
        self._size = size
        self._hardness = hardness
        self.erase = erase
        self._mask = layer.ensure()
        # A shallow copy: the first dab makes the live buffer detach, so this keeps the old pixels.
        self._before = QImage(self._mask)
        self._bounds = QRect()
        self._last: QPointF | None = None
        self._last_pressure = 1.0
        self._to_next = 0.0  # distance left along the path before the next dab

    def move_to(self, pos: QPointF, pressure: float = 1.0) -> QRect:
        """Extend the stroke to ``pos`` (image coordinates); returns the mask rectangle it changed."""
        pressure = max(pressure, MIN_PRESSURE)
        dabs: list[tuple[QPointF, float]] = []
        if self._last is None:
            dabs.append((pos, pressure))
            self._to_next = self._spacing(pressure)
        else:
            dx, dy = pos.x() - self._last.x(), pos.y() - self._last.y()
            length = math.hypot(dx, dy)
            travelled = 0.0
            while length > 0 and travelled + self._to_next <= length:
                travelled += self._to_next
                t = travelled / length
                p = self._last_pressure + (pressure - self._last_pressure) * t
                dabs.append((QPointF(self._last.x() + dx * t, self._last.y() + dy * t), p))
                self._to_next = self._spacing(p)
            self._to_next -= length - travelled
        self._last, self._last_pressure = QPointF(pos), pressure
        return self._stamp(dabs)

    def finish(self) -> tuple[QRect, QImage, QImage] | None:
        """The changed rectangle with its pixels before and after, or None if nothing was painted."""
        bounds = self._bounds & QRect(0, 0, self._mask.width(), self._mask.height())
        if bounds.isEmpty():
            return None
        return bounds, self._before.copy(bounds), self._mask.copy(bounds)

    def _spacing(self, pressure: float) -> float:
        return max(self._size * pressure * SPACING, 0.5)

    def _stamp(self, dabs: list[tuple[QPointF, float]]) -> QRect:
        if not dabs:
            return QRect()
        dirty = QRect()
        painter = QPainter(self._mask)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        mode = QPainter.CompositionMode
        painter.setCompositionMode(mode.CompositionMode_Darken if self.erase else mode.CompositionMode_Lighten)
        for centre, pressure in dabs:
            radius = max(self._size * pressure / 2, 0.5)
            painter.setBrush(self._dab_brush(centre, radius))
            painter.drawEllipse(centre, radius, radius)
            dirty |= QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius).toAlignedRect()
        painter.end()
        dirty = dirty.adjusted(-1, -1, 1, 1) & QRect(0, 0, self._mask.width(), self._mask.height())
        self._bounds |= dirty
        self._layer.refresh(dirty)
        return dirty

    def _dab_brush(self, centre: QPointF, radius: float) -> QBrush:
        painted, untouched = QColor(255, 255, 255), QColor(0, 0, 0)
        inside, outside = (untouched, painted) if self.erase else (painted, untouched)
        if self._hardness >= 1.0:
            return QBrush(inside)
        gradient = QRadialGradient(centre, radius)
        gradient.setColorAt(0.0, inside)
        gradient.setColorAt(self._hardness, inside)
        gradient.setColorAt(1.0, outside)
        return QBrush(gradient)
