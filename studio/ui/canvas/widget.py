"""The central canvas: the source image (or the empty generation area), live previews and results,
and the inpainting mask the artist paints over it."""

import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QMimeData, QPointF, QRect, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPaintEvent, QUndoStack
from PySide6.QtWidgets import QWidget

from studio.core.atomic import atomic_write_bytes
from studio.core.errors import StudioError
from studio.ui.canvas.commands import Command
from studio.ui.canvas.decoding import decode_mask, flatten
from studio.ui.canvas.extend import extend_image, extend_mask
from studio.ui.canvas.input import ZOOM_STEP, CanvasInput
from studio.ui.canvas.loading import ImageLoader, mime_source
from studio.ui.canvas.mask_layer import MASK_FORMAT, MaskLayer, blank_mask, is_blank
from studio.ui.canvas import painting
from studio.ui.canvas.strokes import BrushStroke
from studio.ui.canvas.view import ViewTransform


class Tool(str, Enum):
    BRUSH = "brush"
    ERASER = "eraser"


HINT = "Drop an image here, paste with Ctrl+V, or just generate"
BRUSH_STEP = 1.2
SCRIBBLE_COLOR = QColor(40, 220, 255)
CONTROL_MAP_OPACITY = 0.6
MIN_BRUSH, MAX_BRUSH = 1, 1024
UNDO_LIMIT = 200


@dataclass(frozen=True)
class _State:
    """What an image-level history entry restores (shallow QImage copies: they share pixels until edited)."""

    image: QImage | None
    mask: QImage | None


class Canvas(CanvasInput, QWidget):
    """Shows the source image and paints its inpainting mask; see :mod:`studio.ui.canvas.input` for the
    mouse, pen and keyboard controls. Everything that changes the image or the mask is on one undo stack."""

    image_changed = Signal()  # the source image was set, replaced, cleared or extended
    mask_changed = Signal()  # after each stroke (on release), mask operation, undo or redo
    view_changed = Signal()  # zoom or pan changed
    drop_rejected = Signal(str)  # one sentence for the user
    image_dropped = Signal(str)  # an image was brought in from this file path ("" for raw data or paste)
    tool_changed = Signal(str)  # "brush" or "eraser"
    brush_changed = Signal()  # size or hardness
    overlay_changed = Signal()  # mask colour, opacity or visibility
    result_shown = Signal(bool)  # a finished image is shown over the canvas (True), or no longer (False)
    scribble_changed = Signal()  # after each stroke on the scribble layer (see paint_target), undo or redo

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setAccessibleName("Canvas")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paintEvent covers every exposed pixel
        self.setMinimumSize(160, 120)

        self._image: QImage | None = None
        self._generation_size = QSize(512, 512)
        self._preview: QImage | None = None
        self._result: QImage | None = None
        self._overlay_box: QRect | None = None  # the image area a preview covers; None: all of it
        self._mask = MaskLayer()
        self._scribble = MaskLayer()  # a control layer's drawing (255 = line), painted when paint_target is "scribble"
        self._scribble.set_color(SCRIBBLE_COLOR)
        self._paint_target = "mask"
        self._control_map: QImage | None = None  # a control layer's preprocessed map, drawn over the image
        self._view = ViewTransform()
        self._fitted = True  # keep fitting on resize until the user zooms or pans
        self._view_size = self.size()  # the widget size the view was last laid out for

        self._tool = Tool.BRUSH
        self._brush_size = 48
        self._hardness = 0.8
        self._opacity = 0.5
        self._mask_visible = True
        self._stroke: BrushStroke | None = None
        self._pan_from: QPointF | None = None
        self._space_held = False
        self._focusing_press = False  # the canvas was just focused by a press, which must not paint
        self._hover: QPointF | None = None

        self._undo = QUndoStack(self)
        self._undo.setUndoLimit(UNDO_LIMIT)
        self._loader = ImageLoader(self)
        self._loader.loaded.connect(self._on_loaded)
        self._loader.failed.connect(self.drop_rejected)
        self._loader.busy_changed.connect(self._loading_changed)
        self._update_cursor()

    # ------------------------------------------------------------------------------------ source image
    def image(self) -> QImage | None:
        return None if self._image is None else QImage(self._image)

    def set_image(self, image: QImage | None, undoable: bool = True) -> None:
        """Make ``image`` (any format; transparency goes on white) the source. The mask is kept if the size is
        the same, else cleared.

        ``undoable=False`` skips the history; if the size changes the history is cleared, since
        mask edits recorded for the old size no longer apply.
        """
        self._finish_stroke()
        image = None if image is None or image.isNull() else flatten(image)
        same_size = image is not None and self._image is not None and image.size() == self._image.size()
        after = _State(image, self._mask_snapshot() if same_size else None)
        if undoable:
            self._push_state("Set image", after)
            return
        if not same_size:
            self._undo.clear()
        self._apply_state(after)

    def set_generation_size(self, w: int, h: int) -> None:
        """The size of the empty canvas shown (and previews scaled to) while there is no image."""
        if w <= 0 or h <= 0:
            raise ValueError(f"generation size must be positive, got {w}x{h}")
        if QSize(w, h) != self._generation_size:
            self._generation_size = QSize(w, h)
            if self._image is None:
                self.fit()

    def generation_size(self) -> QSize:
        return QSize(self._generation_size)

    def extend(self, left: int, top: int, right: int, bottom: int) -> None:
        """Grow the canvas for outpainting: the new border is pre-filled from the edges and masked."""
        if min(left, top, right, bottom) < 0:
            raise ValueError("extend() takes non-negative margins")
        if self._image is None:
            raise StudioError("Open or generate an image before extending the canvas.")
        if not any((left, top, right, bottom)):
            return
        self._finish_stroke()
        size = self._image.size()
        image = extend_image(self._image, left, top, right, bottom)
        mask = extend_mask(self._mask.image(), size, left, top, right, bottom)
        self._push_state("Extend canvas", _State(image, mask))

    # ---------------------------------------------------------------------------- previews and results
    def show_preview(self, image: QImage, box: QRect | None = None) -> None:
        """A live step preview, of any size, drawn smoothly scaled over ``box`` (image pixels: the region being
        generated) or over the whole generation area."""
        self._set_overlay(QImage(image), None, box)

    def show_result(self, image: QImage) -> None:
        """A finished image shown over the canvas until :meth:`clear_overlay`, :meth:`set_image` or a mask edit."""
        self._set_overlay(None, QImage(image), None)

    def showing_result(self) -> bool:
        return self._result is not None

    def clear_overlay(self) -> None:
        if self._preview is not None or self._result is not None:
            self._set_overlay(None, None, None)

    # ------------------------------------------------------------------------------ control layers
    def set_control_map(self, image: QImage | None) -> None:
        """Show ``image`` (a control map, any size: stretched over the picture) over the canvas, or nothing."""
        self._control_map = None if image is None else image.convertToFormat(QImage.Format.Format_RGB32)
        self.update()

    def control_map(self) -> QImage | None:
        return self._control_map

    @property
    def paint_target(self) -> str:
        """What the brush paints: "mask" (the inpainting mask) or "scribble" (the scribble layer)."""
        return self._paint_target

    @paint_target.setter
    def paint_target(self, target: str) -> None:
        self._finish_stroke()
        self._paint_target = "scribble" if target == "scribble" else "mask"
        self.update()

    def scribble(self) -> QImage | None:
        """The scribble layer (Grayscale8, the image's size, 255 = line); None when nothing is drawn."""
        drawing = self._scribble.image()
        return None if drawing is None or is_blank(drawing) else QImage(drawing)

    def set_scribble(self, drawing: QImage | None) -> None:
        """Put a control layer's drawing on the scribble layer (one of another size is left out)."""
        self._finish_stroke()
        fits = drawing is not None and self._image is not None and drawing.size() == self._image.size()
        self._scribble.replace(drawing.convertToFormat(MASK_FORMAT) if fits else None)
        self.update()

    # ------------------------------------------------------------------------------------------- mask
    def mask(self) -> QImage | None:
        """Grayscale8, the image's size, 255 = repaint; None when nothing is painted.

        A snapshot that later painting never changes, safe to read on another thread, at no copying cost now:
        QImage shares pixels until written, and QPainter gives the live mask its own buffer before it paints.
        """
        mask = self._mask.image()
        return None if mask is None or is_blank(mask) else QImage(mask)

    def set_mask(self, mask: QImage | None, undoable: bool = True) -> None:
        if mask is not None and self._image is None:
            raise StudioError("Open or generate an image before setting a mask.")
        if mask is not None:
            if mask.size() != self._image.size():
                raise StudioError(
                    f"The mask is {mask.width()}x{mask.height()} but the image is "
                    f"{self._image.width()}x{self._image.height()}; they must be the same size."
                )
            mask = mask.convertToFormat(MASK_FORMAT)
        self._replace_mask("Set mask", mask, undoable)

    def invert_mask(self) -> None:
        if self._image is not None:
            self._finish_stroke()
            self._undo.push(Command("Invert mask", self._invert, self._invert))

    def clear_mask(self) -> None:
        if self._image is not None:
            self._replace_mask("Clear mask", None)

    def fill_mask(self) -> None:
        if self._image is not None:
            self._replace_mask("Fill mask", blank_mask(self._image.size(), 255))

    def save_mask(self, path: str | Path) -> Path:
        """Write the mask as a grayscale PNG (all black when nothing is painted)."""
        if self._image is None:
            raise StudioError("There is no image, so there is no mask to save.")
        self._finish_stroke()
        mask = self._mask.image()
        if mask is None:
            mask = blank_mask(self._image.size())
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        mask.save(buffer, "PNG")
        return atomic_write_bytes(Path(path), bytes(buffer.data()))

    def load_mask(self, path: str | Path) -> None:
        """Replace the mask from an image file (undoable); raises StudioError if unreadable or of another size."""
        if self._image is None:
            raise StudioError("Open or generate an image before loading a mask.")
        self._replace_mask("Load mask", decode_mask(path, self._image.size()))

    # ------------------------------------------------------------------------------------ brush and overlay
    @property
    def tool(self) -> Tool:
        return self._tool

    @tool.setter
    def tool(self, tool: Tool | str) -> None:
        tool = Tool(tool)
        if tool != self._tool:
            self._tool = tool
            self.tool_changed.emit(tool.value)

    @property
    def brush_size(self) -> int:
        """Diameter in image pixels."""
        return self._brush_size

    @brush_size.setter
    def brush_size(self, size: int) -> None:
        size = min(max(int(size), MIN_BRUSH), MAX_BRUSH)
        if size != self._brush_size:
            old = self._outline_rect()
            self._brush_size = size
            self.update(old | self._outline_rect())
            self.brush_changed.emit()

    @property
    def brush_hardness(self) -> float:
        """1 = hard edge, 0 = soft all the way from the centre."""
        return self._hardness

    @brush_hardness.setter
    def brush_hardness(self, hardness: float) -> None:
        hardness = min(max(float(hardness), 0.0), 1.0)
        if hardness != self._hardness:
            self._hardness = hardness
            self.brush_changed.emit()

    @property
    def mask_color(self) -> QColor:
        return self._mask.color()

    @mask_color.setter
    def mask_color(self, color: QColor) -> None:
        if QColor(color).rgb() != self._mask.color().rgb():
            self._mask.set_color(QColor(color))
            self._overlay_style_changed()

    @property
    def mask_opacity(self) -> float:
        return self._opacity

    @mask_opacity.setter
    def mask_opacity(self, opacity: float) -> None:
        opacity = min(max(float(opacity), 0.0), 1.0)
        if opacity != self._opacity:
            self._opacity = opacity
            self._overlay_style_changed()

    @property
    def mask_visible(self) -> bool:
        return self._mask_visible

    @mask_visible.setter
    def mask_visible(self, visible: bool) -> None:
        if bool(visible) != self._mask_visible:
            self._mask_visible = bool(visible)
            self._overlay_style_changed()

    def grow_brush(self) -> None:
        self.brush_size = max(self._brush_size + 1, round(self._brush_size * BRUSH_STEP))

    def shrink_brush(self) -> None:
        self.brush_size = min(self._brush_size - 1, round(self._brush_size / BRUSH_STEP))

    # ------------------------------------------------------------------------------------------ history
    def undo_stack(self) -> QUndoStack:
        return self._undo

    def undo(self) -> None:
        self._finish_stroke()
        self._undo.undo()

    def redo(self) -> None:
        self._finish_stroke()
        self._undo.redo()

    # ------------------------------------------------------------------------------------------- view
    def zoom(self) -> float:
        return self._view.zoom

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping ``anchor`` (widget coordinates, default the centre) in place."""
        anchor = QPointF(self.width() / 2, self.height() / 2) if anchor is None else QPointF(anchor)
        if self._view.zoom_at(zoom, anchor):
            self._fitted = False
            self._view_moved()

    def zoom_in(self) -> None:
        self.set_zoom(self._view.zoom * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(self._view.zoom / ZOOM_STEP)

    def fit(self) -> None:
        self._fitted = True
        self._view.fit(QSizeF(self._area_size()), QSizeF(self.size()))
        self._view_moved()

    def view_state(self) -> dict:
        """The view as plain data (kept in the workspace): fitted, or a zoom and the image point in the middle."""
        centre = self._view.to_image(QPointF(self.width() / 2, self.height() / 2))
        return {"fitted": self._fitted, "zoom": self._view.zoom, "centre": [centre.x(), centre.y()]}

    def restore_view(self, state: object) -> None:
        """Go back to a :meth:`view_state`; anything malformed fits the image instead."""
        try:
            fitted = state["fitted"] is not False
            zoom = float(state["zoom"])
            x, y = (float(v) for v in state["centre"])
        except (KeyError, TypeError, ValueError):
            fitted = True
        if fitted or not all(math.isfinite(v) for v in (zoom, x, y)) or zoom <= 0:
            self.fit()
            return
        self._view.look_at(QPointF(x, y), zoom, QSizeF(self.size()))
        self._view_size = self.size()
        self._fitted = False
        self._view_moved()

    def map_to_image(self, pos: QPointF) -> QPointF:
        return self._view.to_image(QPointF(pos))

    def map_from_image(self, pos: QPointF) -> QPointF:
        return self._view.to_widget(QPointF(pos))

    # -------------------------------------------------------------------------------- bringing images in
    def open_file(self, path: str | Path) -> None:
        """Decode ``path`` in the background; then ``image_changed`` and ``image_dropped(path)``, or
        ``drop_rejected(sentence)``."""
        self._loader.load_file(path)

    def paste_from_clipboard(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            self.drop_rejected.emit("The clipboard is empty.")
            return
        self.bring_in(mime, "pasted image")

    def is_loading(self) -> bool:
        return self._loader.busy()

    def bring_in(self, mime: QMimeData, label: str) -> None:
        """Take the image a drop or paste offers (read at once: ``mime`` may go away after the call); ``label``
        names raw data in error sentences."""
        try:
            source = mime_source(mime)
        except StudioError as err:
            self.drop_rejected.emit(str(err))
            return
        if isinstance(source, str):
            self._loader.load_file(source)
        elif isinstance(source, bytes):
            self._loader.load_bytes(source, label)
        else:
            self._on_loaded(source, "")

    def _on_loaded(self, image: QImage, path: str) -> None:
        self.set_image(image)
        self.image_dropped.emit(path)

    # ------------------------------------------------------------------------------------ Qt overrides
    def paintEvent(self, event: QPaintEvent) -> None:
        exposed = event.rect()
        size = self._area_size()
        painter = QPainter(self)
        painter.fillRect(exposed, painting.BACKGROUND)
        overlay = self._result or self._preview
        if self._image is not None:
            painting.draw_layer(painter, self._view, size, self._image, exposed)
        elif overlay is None:
            painting.draw_empty_area(painter, painting.area_rect(self._view, size), size, HINT)
        if overlay is not None:
            box = self._overlay_box
            rect = QRectF(box) if box is not None else painting.fitted_rect(overlay.size(), size)
            painting.draw_layer_in(painter, self._view, rect, overlay, exposed, smooth=True)
        elif self._mask_visible and self._mask.overlay() is not None:
            painter.setOpacity(self._opacity)
            painting.draw_layer(painter, self._view, size, self._mask.overlay(), exposed)
            painter.setOpacity(1.0)
        if overlay is None and self._control_map is not None:
            painter.setOpacity(CONTROL_MAP_OPACITY)
            painting.draw_layer(painter, self._view, size, self._control_map, exposed, smooth=True)
            painter.setOpacity(1.0)
        if overlay is None and self._paint_target == "scribble" and self._scribble.overlay() is not None:
            painting.draw_layer(painter, self._view, size, self._scribble.overlay(), exposed)
        if self._loader.busy():
            painting.draw_notice(painter, self.rect(), "Opening the image…")
        if not self._outline_rect().isEmpty():
            painting.draw_brush_outline(painter, self._hover, self._brush_size / 2 * self._view.zoom)
        painter.end()

    def resizeEvent(self, event) -> None:
        old, self._view_size = self._view_size, self.size()
        if self._fitted:
            self.fit()
        else:  # the image point in the middle stays in the middle
            self._view.pan((self.width() - old.width()) / 2, (self.height() - old.height()) / 2)
            self._view_moved()
        super().resizeEvent(event)

    # ---------------------------------------------------------------------------------------- internals
    def _begin_stroke(self, pos: QPointF, pressure: float, erase: bool | None = None) -> None:
        """``erase`` overrides the current tool (a pen's eraser end)."""
        if self._image is None:
            return
        if self._paint_target == "mask":
            self.mask_visible = True  # never paint blind
        self.clear_overlay()
        erase = self._tool == Tool.ERASER if erase is None else erase
        layer = self._scribble if self._paint_target == "scribble" else self._mask
        self._stroke = BrushStroke(layer, self._brush_size, self._hardness, erase)
        self._stroke_to(pos, pressure)

    def _stroke_to(self, pos: QPointF, pressure: float) -> None:
        dirty = self._stroke.move_to(self._view.to_image(pos), pressure)
        if not dirty.isEmpty():
            self._update_image_rect(dirty)

    def _finish_stroke(self) -> None:
        """Close the stroke in progress, if any, into one history entry."""
        stroke, self._stroke = self._stroke, None
        done = None if stroke is None else stroke.finish()
        if done is None:
            return
        rect, before, after = done
        text = "Erase" if stroke.erase else "Brush stroke"
        write = self._write_scribble if stroke.layer is self._scribble else self._write_mask
        self._undo.push(Command(text, lambda: write(rect, after), lambda: write(rect, before), done=True))
        (self.scribble_changed if stroke.layer is self._scribble else self.mask_changed).emit()

    def _pan(self, dx: float, dy: float) -> None:
        self._view.pan(dx, dy)
        self._fitted = False
        self._view_moved()

    def _outline_rect(self) -> QRect:
        if self._hover is None or self._image is None or self._pan_from is not None or self._space_held:
            return QRect()
        return painting.brush_outline_rect(self._hover, self._brush_size / 2 * self._view.zoom)

    def _area_size(self) -> QSize:
        return self._image.size() if self._image is not None else QSize(self._generation_size)

    def _mask_snapshot(self) -> QImage | None:
        mask = self._mask.image()
        return None if mask is None else QImage(mask)

    def _push_state(self, text: str, after: _State) -> None:
        before = _State(self.image(), self._mask_snapshot())
        self._undo.push(Command(text, lambda: self._apply_state(after), lambda: self._apply_state(before)))

    def _apply_state(self, state: _State) -> None:
        old_size = self._area_size()
        self._image = state.image
        self._mask.reset(QSize() if state.image is None else state.image.size(), state.mask)
        drawing = self._scribble.image()
        new_size = QSize() if state.image is None else state.image.size()
        self._scribble.reset(new_size, drawing if drawing is not None and drawing.size() == new_size else None)
        self.clear_overlay()
        if self._area_size() != old_size:
            self.fit()  # a new picture (or a grown one) is shown whole
        self._update_cursor()
        self.update()
        self.image_changed.emit()
        self.mask_changed.emit()

    def _replace_mask(self, text: str, mask: QImage | None, undoable: bool = True) -> None:
        self._finish_stroke()
        before = self._mask_snapshot()
        if undoable:
            self._undo.push(Command(text, lambda: self._apply_mask(mask), lambda: self._apply_mask(before)))
        else:
            self._apply_mask(mask)

    def _apply_mask(self, mask: QImage | None) -> None:
        self._mask.replace(mask)
        self.clear_overlay()  # a mask edit is shown, not hidden under a result
        self._update_area()
        self.mask_changed.emit()

    def _invert(self) -> None:
        self._mask.invert()
        self.clear_overlay()
        self._update_area()
        self.mask_changed.emit()

    def _write_scribble(self, rect: QRect, pixels: QImage) -> None:
        self._scribble.write(rect, pixels)
        self._update_image_rect(rect)
        self.scribble_changed.emit()

    def _write_mask(self, rect: QRect, pixels: QImage) -> None:
        self._mask.write(rect, pixels)
        self.clear_overlay()
        self._update_image_rect(rect)
        self.mask_changed.emit()

    def _set_overlay(self, preview: QImage | None, result: QImage | None, box: QRect | None) -> None:
        had_result = self._result is not None
        self._preview, self._result, self._overlay_box = preview, result, None if box is None else QRect(box)
        self._update_area()
        if had_result != (result is not None):
            self.result_shown.emit(result is not None)

    def _loading_changed(self, busy: bool) -> None:
        self.update()

    def _overlay_style_changed(self) -> None:
        self._update_area()
        self.overlay_changed.emit()

    def _view_moved(self) -> None:
        self.update()
        self.view_changed.emit()

    def _update_area(self) -> None:
        size = self._area_size()
        self._update_image_rect(QRect(0, 0, size.width(), size.height()))

    def _update_image_rect(self, rect: QRect) -> None:
        self.update(self._view.to_widget_rect(QRectF(rect)).toAlignedRect().adjusted(-2, -2, 2, 2))

    def _update_cursor(self) -> None:
        if self._pan_from is not None:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        elif self._space_held:
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        elif self._image is not None:
            self.setCursor(Qt.CursorShape.CrossCursor)
        else:
            self.unsetCursor()
