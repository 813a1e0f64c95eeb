"""The mapping between image pixels and widget pixels: ``widget = image * zoom + offset``."""

from PySide6.QtCore import QPointF, QRectF, QSizeF

MIN_ZOOM = 1 / 64
MAX_ZOOM = 64.0
FIT_MARGIN = 16.0


class ViewTransform:
    def __init__(self) -> None:
        self.zoom = 1.0
        self.offset = QPointF(0.0, 0.0)

    def to_widget(self, p: QPointF) -> QPointF:
        return QPointF(p.x() * self.zoom + self.offset.x(), p.y() * self.zoom + self.offset.y())

    def to_image(self, p: QPointF) -> QPointF:
        return QPointF((p.x() - self.offset.x()) / self.zoom, (p.y() - self.offset.y()) / self.zoom)

    def to_widget_rect(self, r: QRectF) -> QRectF:
        return QRectF(self.to_widget(r.topLeft()), self.to_widget(r.bottomRight()))

    def to_image_rect(self, r: QRectF) -> QRectF:
        return QRectF(self.to_image(r.topLeft()), self.to_image(r.bottomRight()))

    def zoom_at(self, zoom: float, anchor: QPointF) -> bool:
        """Set the zoom keeping the image point under ``anchor`` (widget coordinates) in place."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        if zoom == self.zoom:
            return False
        fixed = self.to_image(anchor)
        self.zoom = zoom
        self.offset = QPointF(anchor.x() - fixed.x() * zoom, anchor.y() - fixed.y() * zoom)
        return True

    def shifted(self, origin: QPointF) -> "ViewTransform":
        """The same zoom, with image point ``origin`` as (0, 0): for a layer that covers only part of the image."""
        view = ViewTransform()
        view.zoom = self.zoom
        view.offset = self.to_widget(origin)
        return view

    def look_at(self, centre: QPointF, zoom: float, viewport: QSizeF) -> None:
        """Show image point ``centre`` in the middle of ``viewport`` at ``zoom``."""
        self.zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        self.offset = QPointF(
            viewport.width() / 2 - centre.x() * self.zoom, viewport.height() / 2 - centre.y() * self.zoom
        )

    def pan(self, dx: float, dy: float) -> None:
        self.offset = QPointF(self.offset.x() + dx, self.offset.y() + dy)

    def fit(self, content: QSizeF, viewport: QSizeF) -> None:
        """Show all of ``content`` as large as it fits, centred in ``viewport``."""
        room_w = max(viewport.width() - 2 * FIT_MARGIN, 1.0)
        room_h = max(viewport.height() - 2 * FIT_MARGIN, 1.0)
        if content.isEmpty():
            zoom = 1.0
        else:
            zoom = min(room_w / content.width(), room_h / content.height())
        self.zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        # Whole-pixel offsets keep a 100% view sharp.
        self.offset = QPointF(
            round((viewport.width() - content.width() * self.zoom) / 2),
            round((viewport.height() - content.height() * self.zoom) / 2),
        )
