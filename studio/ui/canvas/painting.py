"""Drawing helpers for the canvas's paintEvent. Everything is clipped to the exposed rectangle, so a
brush dab or a cursor move repaints a few hundred pixels, never the whole image."""

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, QSizeF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen

from studio.ui.canvas.view import ViewTransform

BACKGROUND = QColor(38, 38, 42)
AREA_FILL = QColor(56, 56, 62)
AREA_BORDER = QColor(120, 120, 132)
TEXT_COLOR = QColor(185, 185, 195)
SMOOTH_BELOW = 2.0  # magnifications under this are filtered; above it pixels show as crisp squares


def draw_layer(
    painter: QPainter, view: ViewTransform, area: QSize | QSizeF, image: QImage, exposed: QRect, smooth: bool = False
) -> None:
    """Draw ``image`` stretched over the image area (``area``, image pixels), only where ``exposed``.

    Layers are QImages, not QPixmaps: turning a large image into a QPixmap costs the GUI thread a full
    copy (a quarter of a second at 64 MP), while drawing an RGB32 or premultiplied ARGB32 QImage is as fast.
    """
    sx, sy = image.width() / area.width(), image.height() / area.height()
    seen = view.to_image_rect(QRectF(exposed))
    # Two spare pixels around the exposed part keep the filtering identical across repaint seams.
    src = QRectF(seen.x() * sx, seen.y() * sy, seen.width() * sx, seen.height() * sy).toAlignedRect()
    src = src.adjusted(-2, -2, 2, 2) & image.rect()
    if src.isEmpty():
        return
    target = view.to_widget_rect(QRectF(src.x() / sx, src.y() / sy, src.width() / sx, src.height() / sy))
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth or view.zoom / sx < SMOOTH_BELOW)
    painter.drawImage(target, image, QRectF(src))


def fitted_rect(content: QSize, area: QSize) -> QRectF:
    """Where ``content`` shows inside ``area`` (image pixels): all of it when the shapes match, else as large
    as it fits, centred (a text-to-image result over a canvas image of another shape)."""
    full = QRectF(QPointF(0, 0), QSizeF(area))
    scaled = QSizeF(content).scaled(full.size(), Qt.AspectRatioMode.KeepAspectRatio)
    if abs(scaled.width() - area.width()) < 1 and abs(scaled.height() - area.height()) < 1:
        return full
    return QRectF(QPointF((area.width() - scaled.width()) / 2, (area.height() - scaled.height()) / 2), scaled)


def draw_layer_in(
    painter: QPainter, view: ViewTransform, rect: QRectF, image: QImage, exposed: QRect, smooth: bool = False
) -> None:
    """Like :func:`draw_layer`, for a layer covering only ``rect`` of the image (image pixels)."""
    draw_layer(painter, view.shifted(rect.topLeft()), rect.size(), image, exposed, smooth)


def draw_empty_area(painter: QPainter, area: QRectF, size: QSize, hint: str) -> None:
    """The blank generation area with its size and a hint on how to bring an image in."""
    painter.fillRect(area, AREA_FILL)
    pen = QPen(AREA_BORDER, 1, Qt.PenStyle.DashLine)
    pen.setCosmetic(True)
    painter.setPen(pen)
    painter.drawRect(area.adjusted(0.5, 0.5, -0.5, -0.5))
    painter.setPen(TEXT_COLOR)
    text = f"{hint}\n\n{size.width()} × {size.height()}"
    flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
    painter.drawText(area.adjusted(12, 12, -12, -12), flags, text)


def draw_notice(painter: QPainter, widget_rect: QRect, text: str) -> None:
    painter.setPen(TEXT_COLOR)
    box = QRectF(widget_rect).adjusted(8, 8, -8, -8)
    painter.drawText(box, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, text)


def brush_outline_rect(centre: QPointF, radius: float) -> QRect:
    box = QRectF(centre.x() - radius, centre.y() - radius, 2 * radius, 2 * radius)
    return box.toAlignedRect().adjusted(-3, -3, 3, 3)


def draw_brush_outline(painter: QPainter, centre: QPointF, radius: float) -> None:
    """A black and a white ring, visible on any image."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    for colour, width in ((QColor(0, 0, 0, 160), 3.0), (QColor(255, 255, 255, 220), 1.0)):
        painter.setPen(QPen(colour, width))
        painter.drawEllipse(centre, max(radius, 1.0), max(radius, 1.0))


def area_rect(view: ViewTransform, size: QSize) -> QRectF:
    return view.to_widget_rect(QRectF(QPointF(0, 0), QSizeF(size)))
