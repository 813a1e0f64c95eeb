"""Pointer, tablet, keyboard, wheel and drop handling for the canvas (a mixin of :class:`Canvas`).

Left button paints with the current tool (once the canvas has the focus: the click that focuses it does not
paint); middle button, or left with Space held, pans; the wheel
zooms around the pointer. Keys (while the canvas has focus): B brush, E eraser, [ and ] brush size,
Ctrl+Z undo, Ctrl+Shift+Z (and the platform's redo key) redo, Ctrl+V paste. The canvas claims those
keys through ShortcutOverride, so a window-wide shortcut on the same key does not steal them.
"""

from collections.abc import Callable

from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPointingDevice,
    QTabletEvent,
    QWheelEvent,
)

from studio.ui.canvas.loading import offers_image

ZOOM_STEP = 1.25
_CTRL_ALT_META = (
    Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
)
_CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


class CanvasInput:
    # ------------------------------------------------------------------------------------------ keys
    def _key_action(self, event: QKeyEvent) -> Callable[[], None] | None:
        if event.matches(QKeySequence.StandardKey.Undo):
            return self.undo
        if event.matches(QKeySequence.StandardKey.Redo) or (
            event.key() == Qt.Key.Key_Z and event.modifiers() == _CTRL_SHIFT
        ):
            return self.redo
        if event.matches(QKeySequence.StandardKey.Paste):
            return self.paste_from_clipboard
        if event.modifiers() & _CTRL_ALT_META:
            return None
        return {
            Qt.Key.Key_B: lambda: setattr(self, "tool", "brush"),
            Qt.Key.Key_E: lambda: setattr(self, "tool", "eraser"),
            Qt.Key.Key_BracketLeft: self.shrink_brush,
            Qt.Key.Key_BracketRight: self.grow_brush,
        }.get(event.key())

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and (
            event.key() == Qt.Key.Key_Space or self._key_action(event) is not None
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.modifiers() & _CTRL_ALT_META:
            if not event.isAutoRepeat():
                self._set_space_held(True)
            return
        action = self._key_action(event)
        if action is None:
            super().keyPressEvent(event)
        else:
            action()

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._set_space_held(False)
        else:
            super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        self._set_space_held(False)  # the release may go to another widget
        super().focusOutEvent(event)

    # ------------------------------------------------------------------------------------ mouse, wheel
    def focusInEvent(self, event) -> None:
        # Qt focuses a clicked widget just before the press reaches it: remember that this press only focused.
        self._focusing_press = event.reason() == Qt.FocusReason.MouseFocusReason
        super().focusInEvent(event)

    def _take_focus(self) -> bool:
        """Focus the canvas; True if it had the focus already (in the active window), so the press may paint:
        the click that only brings the canvas (or the window) to the front leaves the mask alone."""
        had_focus = self.hasFocus() and self.isActiveWindow() and not self._focusing_press
        self._focusing_press = False
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        return had_focus

    def mousePressEvent(self, event: QMouseEvent) -> None:
        may_paint = self._take_focus()
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space_held):
            self._pan_from = event.position()
            self._update_cursor()
        elif button == Qt.MouseButton.LeftButton and self._stroke is None and may_paint:
            self._begin_stroke(event.position(), 1.0)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self._pan(delta.x(), delta.y())
            return
        self._hover_to(event.position())
        if self._stroke is not None:
            self._stroke_to(event.position(), 1.0)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None and event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.LeftButton):
            self._pan_from = None
            self._update_cursor()
        elif event.button() == Qt.MouseButton.LeftButton:
            self._finish_stroke()

    def leaveEvent(self, event: QEvent) -> None:
        self._hover_to(None)
        super().leaveEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:
        notches = event.angleDelta().y() / 120
        if notches:
            self.set_zoom(self.zoom() * ZOOM_STEP**notches, event.position())
        event.accept()

    def tabletEvent(self, event: QTabletEvent) -> None:
        """Pen strokes with pressure (the pen's eraser end erases); anything else, such as a barrel
        button pan, is left to the mouse events Qt synthesizes from unaccepted tablet events."""
        kind, pos = event.type(), event.position()
        if self._image is None or self._space_held or self._pan_from is not None:
            event.ignore()
            return
        if kind == QEvent.Type.TabletPress and event.button() == Qt.MouseButton.LeftButton and self._stroke is None:
            if not self._take_focus():
                event.accept()  # no mouse press synthesized from it either
                return
            eraser_end = event.pointerType() == QPointingDevice.PointerType.Eraser
            self._begin_stroke(pos, event.pressure(), erase=True if eraser_end else None)
        elif kind == QEvent.Type.TabletMove:
            self._hover_to(pos)
            if self._stroke is not None:
                self._stroke_to(pos, event.pressure())
        elif kind == QEvent.Type.TabletRelease and self._stroke is not None:
            self._finish_stroke()
        else:
            event.ignore()
            return
        event.accept()

    # ------------------------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if offers_image(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        event.acceptProposedAction()
        self.bring_in(event.mimeData(), "dropped image")

    def _set_space_held(self, held: bool) -> None:
        """Space turns the left button into a pan hand (and hides the brush outline meanwhile)."""
        outline = self._outline_rect()
        self._space_held = held
        self.update(outline | self._outline_rect())
        self._update_cursor()

    def _hover_to(self, pos: QPointF | None) -> None:
        old = self._outline_rect()
        self._hover = None if pos is None else QPointF(pos)
        self.update(old | self._outline_rect())
