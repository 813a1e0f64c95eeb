"""Two images compared: before/after with a slider (the first image left of the split, the second right of it)
or side by side."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QCheckBox, QDialog, QHBoxLayout, QLabel, QSlider, QVBoxLayout, QWidget

from studio.ui.image_loading import ImageFiles

SLIDER_STEPS = 1000


class _Comparison(QWidget):
    def __init__(self) -> None:
        super().__init__(objectName="comparePicture")
        self.images: list[QImage] = [QImage(), QImage()]
        self.split = 0.5  # of the width, in slider mode
        self.side_by_side = False
        self.setMinimumSize(QSize(320, 240))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(30, 30, 34))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        first, second = self.images
        if self.side_by_side:
            half = self.width() // 2
            _draw_fitted(painter, first, QRect(0, 0, half - 2, self.height()))
            _draw_fitted(painter, second, QRect(half + 2, 0, self.width() - half - 2, self.height()))
            return
        x = round(self.split * self.width())
        _draw_fitted(painter, second, self.rect())
        painter.save()
        painter.setClipRect(QRect(0, 0, x, self.height()))
        _draw_fitted(painter, first, self.rect(), like=second)
        painter.restore()
        painter.setPen(QColor(255, 255, 255))
        painter.drawLine(x, 0, x, self.height())


def _draw_fitted(painter: QPainter, image: QImage, area: QRect, like: QImage | None = None) -> None:
    """``image`` scaled to fit ``area``, centred; ``like``: placed where that image is (so both line up)."""
    shape = like if like is not None and not like.isNull() else image
    if image.isNull() or shape.isNull():
        return
    scale = min(area.width() / shape.width(), area.height() / shape.height())
    width, height = shape.width() * scale, shape.height() * scale
    target = QRectF(area.x() + (area.width() - width) / 2, area.y() + (area.height() - height) / 2, width, height)
    painter.drawImage(target, image)


class CompareView(QDialog):
    def __init__(self, first: Path, second: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareView")
        self.setWindowTitle(f"Compare {first.name} and {second.name}")
        self.resize(1000, 700)
        self._paths = [str(first), str(second)]
        self.picture = _Comparison()
        self.slider = QSlider(Qt.Orientation.Horizontal, objectName="compareSlider")
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setValue(SLIDER_STEPS // 2)
        self.slider.setToolTip(f"Left: {first.name}; right: {second.name}")
        self.slider.valueChanged.connect(self._split_moved)
        self.side_by_side = QCheckBox("Side by side", objectName="compareSideBySide")
        self.side_by_side.toggled.connect(self._mode_changed)
        row = QHBoxLayout()
        row.addWidget(QLabel(first.name))
        row.addWidget(self.slider, 1)
        row.addWidget(QLabel(second.name))
        row.addWidget(self.side_by_side)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addLayout(row)
        self._files = ImageFiles(self)
        self._files.loaded.connect(self._loaded)
        for path in (first, second):
            self._files.load(path)

    def _loaded(self, path: str, image: QImage) -> None:
        for i, wanted in enumerate(self._paths):
            if wanted == path:
                self.picture.images[i] = image
        self.picture.update()

    def _split_moved(self, value: int) -> None:
        self.picture.split = value / SLIDER_STEPS
        self.picture.update()

    def _mode_changed(self, side_by_side: bool) -> None:
        self.picture.side_by_side = side_by_side
        self.slider.setEnabled(not side_by_side)
        self.picture.update()
