"""A slider for sizes from 1 to 1000s: logarithmic, so small brushes get as much room as large ones."""

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QSlider, QWidget

POSITIONS = 1000


class LogSlider(QSlider):
    """:meth:`magnitude` and :meth:`set_magnitude` in units; the slider's own value is a position in 0..POSITIONS."""

    magnitude_changed = Signal(int)

    def __init__(self, low: int, high: int, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._low, self._high = low, high
        self.setRange(0, POSITIONS)
        self.setPageStep(POSITIONS // 10)
        self.valueChanged.connect(lambda position: self.magnitude_changed.emit(self._size_at(position)))

    def magnitude(self) -> int:
        return self._size_at(self.value())

    def set_magnitude(self, size: int) -> None:
        size = min(max(size, self._low), self._high)
        if self._size_at(self.value()) != size:
            self.setValue(round(POSITIONS * math.log(size / self._low) / math.log(self._high / self._low)))

    def _size_at(self, position: int) -> int:
        return round(self._low * (self._high / self._low) ** (position / POSITIONS))
