"""The full image of a history entry, with zoom (wheel, +, -, 0 for 100 %, F to fit) and the arrow keys (or
Home/End) moving through the gallery's images; Esc closes it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeySequence, QPainter, QPixmap, QShortcut, QTransform, QWheelEvent
from PySide6.QtWidgets import QDialog, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView, QLabel, QVBoxLayout, QWidget

from studio.ui.image_loading import ImageFiles

ZOOM_STEP = 1.25
MIN_ZOOM, MAX_ZOOM = 0.02, 32.0


class _ZoomingView(QGraphicsView):
    def __init__(self, viewer: ImageViewer) -> None:
        super().__init__(objectName="imageViewerView")
        self._viewer = viewer
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt override
        self._viewer.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)


class ImageViewer(QDialog):
    def __init__(self, paths: list[Path], row: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageViewer")
        self.setWindowTitle("Image")
        self.resize(1000, 760)
        self._paths = list(paths)
        self._row = row
        self._zoom = 1.0
        self._fitting = True
        self._scene = QGraphicsScene(self)
        self._item = QGraphicsPixmapItem()
        self._item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._scene.addItem(self._item)
        self.view = _ZoomingView(self)
        self.view.setScene(self._scene)
        self.label = QLabel(objectName="imageViewerLabel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.label)
        self._files = ImageFiles(self)
        self._files.loaded.connect(self._loaded)
        keys = {
            Qt.Key.Key_Right: lambda: self.go(self._row + 1),
            Qt.Key.Key_Left: lambda: self.go(self._row - 1),
            Qt.Key.Key_Home: lambda: self.go(0),
            Qt.Key.Key_End: lambda: self.go(len(self._paths) - 1),
            Qt.Key.Key_Plus: lambda: self.zoom_by(ZOOM_STEP),
            Qt.Key.Key_Equal: lambda: self.zoom_by(ZOOM_STEP),  # + without Shift
            Qt.Key.Key_Minus: lambda: self.zoom_by(1 / ZOOM_STEP),
            Qt.Key.Key_0: lambda: self.set_zoom(1.0),
            Qt.Key.Key_F: self.fit,
        }
        for key, slot in keys.items():
            QShortcut(QKeySequence(key), self, slot)
        self.go(row)

    def row(self) -> int:
        return self._row

    def path(self) -> Path:
        return self._paths[self._row]

    def zoom(self) -> float:
        return self._zoom

    def image(self) -> QImage:
        return self._item.pixmap().toImage()

    def go(self, row: int) -> None:
        """Show the image at ``row`` of the gallery (decoded in the background)."""
        if not self._paths:
            return
        self._row = min(max(row, 0), len(self._paths) - 1)
        self.label.setText(f"{self.path().name} — loading…")
        self._files.load(self.path())

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self._zoom * factor)

    def set_zoom(self, zoom: float) -> None:
        self._fitting = False
        self._zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        self.view.setTransform(QTransform.fromScale(self._zoom, self._zoom))
        self._show_label()

    def fit(self) -> None:
        """The whole image in the window, never enlarged."""
        self._fitting = True
        rect = self._item.boundingRect()
        if rect.isEmpty():
            return
        viewport = self.view.viewport().size()
        self._zoom = min(1.0, viewport.width() / rect.width(), viewport.height() / rect.height())
        self.view.setTransform(QTransform.fromScale(self._zoom, self._zoom))
        self._show_label()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._fitting:
            self.fit()

    def _loaded(self, path: str, image: QImage) -> None:
        if path != str(self.path()):
            return  # an image the arrows have moved past
        if image.isNull():
            self._item.setPixmap(QPixmap())
            self.label.setText(f"{self.path().name} cannot be read.")
            return
        self._item.setPixmap(QPixmap.fromImage(image))
        self._scene.setSceneRect(self._item.boundingRect())
        if self._fitting:
            self.fit()
        else:
            self._show_label()

    def _show_label(self) -> None:
        size = self._item.pixmap().size()
        self.label.setText(f"{self.path().name} — {size.width()}×{size.height()} — {self._zoom:.0%} "
                           f"— {self._row + 1} of {len(self._paths)}")
