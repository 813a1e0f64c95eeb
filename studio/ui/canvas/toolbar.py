"""The mask tools bound to a :class:`Canvas`; they keep in step with the canvas, so keys pressed on the
canvas (B, E, [, ]) and code that sets canvas properties show up here.

Three groups (brush, overlay, mask and history) in a row that wraps: on a narrow window a group moves to a
second row, so every tool stays visible instead of hiding in an overflow menu."""

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QLabel,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolBar,
    QToolButton,
    QWidget,
)

from studio.ui.canvas.log_slider import LogSlider
from studio.ui.canvas.widget import MAX_BRUSH, MIN_BRUSH, Canvas, Tool
from studio.ui.flow_layout import FlowLayout


class CanvasToolbar(QWidget):
    def __init__(self, canvas: Canvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvasToolbar")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._canvas = canvas

        self.brush_button = self._button("brushButton", "Brush", "Paint the area to repaint (B)", checkable=True)
        self.eraser_button = self._button("eraserButton", "Eraser", "Erase the mask (E)", checkable=True)
        self._tools = QButtonGroup(self)
        self._tools.addButton(self.brush_button)
        self._tools.addButton(self.eraser_button)
        self.brush_button.clicked.connect(lambda: setattr(canvas, "tool", Tool.BRUSH))
        self.eraser_button.clicked.connect(lambda: setattr(canvas, "tool", Tool.ERASER))

        size_tip = "Brush size in image pixels ([ and ])"
        self.size_slider = LogSlider(MIN_BRUSH, MAX_BRUSH, self)
        self._name_slider(self.size_slider, "brushSizeSlider", size_tip)
        self.size_slider.magnitude_changed.connect(self._size_chosen)
        self.size_spin = QSpinBox(self, objectName="brushSizeSpin", minimum=MIN_BRUSH, maximum=MAX_BRUSH, suffix=" px")
        self.size_spin.setToolTip(size_tip)
        self.size_spin.setAccessibleName(size_tip)
        self.size_spin.setKeyboardTracking(False)
        self.size_spin.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons)  # the slider and [ ] step it
        self.size_spin.setFixedWidth(self.size_spin.fontMetrics().horizontalAdvance(f"{MAX_BRUSH} px") + 14)
        self.size_spin.valueChanged.connect(self._size_chosen)
        self.hardness_slider = self._slider("brushHardnessSlider", "Brush hardness: soft to hard edge", 0, 100)
        self.hardness_slider.valueChanged.connect(lambda v: setattr(canvas, "brush_hardness", v / 100))

        self.visible_button = self._button(
            "maskVisibleButton", "Show mask", "Show or hide the mask overlay", checkable=True
        )
        self.visible_button.toggled.connect(lambda on: setattr(canvas, "mask_visible", on))
        self.color_button = self._button("maskColorButton", "", "Mask overlay colour")
        self.color_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.color_button.clicked.connect(self._choose_color)
        self.opacity_slider = self._slider("maskOpacitySlider", "Mask overlay opacity", 0, 100)
        self.opacity_slider.valueChanged.connect(lambda v: setattr(canvas, "mask_opacity", v / 100))

        self.invert_button = self._button("invertMaskButton", "Invert", "Invert the mask")
        self.invert_button.clicked.connect(canvas.invert_mask)
        self.clear_button = self._button("clearMaskButton", "Clear", "Clear the mask: repaint nothing")
        self.clear_button.clicked.connect(canvas.clear_mask)
        self.fill_button = self._button("fillMaskButton", "Fill", "Fill the mask: repaint everything")
        self.fill_button.clicked.connect(canvas.fill_mask)

        stack = canvas.undo_stack()
        self.undo_button = self._button("undoButton", "↶", "Undo (Ctrl+Z)")
        self.undo_button.setAccessibleName("Undo")
        self.undo_button.clicked.connect(canvas.undo)
        stack.canUndoChanged.connect(self.undo_button.setEnabled)
        stack.undoTextChanged.connect(self._undo_text_changed)
        self.redo_button = self._button("redoButton", "↷", "Redo (Ctrl+Shift+Z)")
        self.redo_button.setAccessibleName("Redo")
        for arrow in (self.undo_button, self.redo_button):
            font = arrow.font()
            font.setPointSizeF(font.pointSizeF() * 1.5)  # the arrows are small glyphs at text size
            arrow.setFont(font)
        self.redo_button.clicked.connect(canvas.redo)
        stack.canRedoChanged.connect(self.redo_button.setEnabled)
        stack.redoTextChanged.connect(self._redo_text_changed)
        self.fit_button = self._button("fitButton", "Fit", "Fit the image in the view")
        self.fit_button.clicked.connect(canvas.fit)

        brush_group = (
            self.brush_button,
            self.eraser_button,
            self._label("Size", self.size_spin),
            self.size_slider,
            self.size_spin,
            self._label("Hardness", self.hardness_slider),
            self.hardness_slider,
        )
        overlay_group = (
            self.visible_button,
            self.color_button,
            self._label("Opacity", self.opacity_slider),
            self.opacity_slider,
        )
        edit_group = (self.invert_button, self.clear_button, self.fill_button, None,
                      self.undo_button, self.redo_button, self.fit_button)
        flow = FlowLayout(self, spacing=2)
        for name, group in (("brushTools", brush_group), ("overlayTools", overlay_group), ("editTools", edit_group)):
            bar = QToolBar(self, objectName=name)
            bar.setMovable(False)
            bar.setFloatable(False)
            for widget in group:
                if widget is None:
                    bar.addSeparator()
                else:
                    bar.addWidget(widget)
            flow.addWidget(bar)

        canvas.tool_changed.connect(self._sync)
        canvas.brush_changed.connect(self._sync)
        canvas.overlay_changed.connect(self._sync)
        canvas.image_changed.connect(self._sync)
        self._sync()

    def _button(self, name: str, text: str, tip: str, checkable: bool = False) -> QToolButton:
        button = QToolButton(self)
        button.setObjectName(name)
        button.setText(text)
        button.setToolTip(tip)
        button.setAccessibleName(text or tip)
        button.setCheckable(checkable)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setBuddy(buddy)
        return label

    def _slider(self, name: str, tip: str, low: int, high: int) -> QSlider:
        slider = QSlider(Qt.Orientation.Horizontal, self)
        slider.setRange(low, high)
        return self._name_slider(slider, name, tip)

    @staticmethod
    def _name_slider(slider: QSlider, name: str, tip: str) -> QSlider:
        slider.setObjectName(name)
        slider.setToolTip(tip)
        slider.setAccessibleName(tip)
        slider.setFixedWidth(72)
        return slider

    def _size_chosen(self, size: int) -> None:
        self._canvas.brush_size = size

    # Slots are methods, not lambdas, so Qt disconnects them when the toolbar is deleted first.
    def _undo_text_changed(self, text: str) -> None:
        self.undo_button.setToolTip(f"Undo {text} (Ctrl+Z)" if text else "Undo (Ctrl+Z)")

    def _redo_text_changed(self, text: str) -> None:
        self.redo_button.setToolTip(f"Redo {text} (Ctrl+Shift+Z)" if text else "Redo (Ctrl+Shift+Z)")

    def _choose_color(self) -> None:
        color = QColorDialog.getColor(self._canvas.mask_color, self, "Mask overlay colour")
        if color.isValid():
            self._canvas.mask_color = color

    def _sync(self) -> None:
        """Show the canvas's current settings, without echoing them back to it."""
        canvas = self._canvas
        (self.eraser_button if canvas.tool == Tool.ERASER else self.brush_button).setChecked(True)
        with QSignalBlocker(self.size_slider), QSignalBlocker(self.size_spin), QSignalBlocker(self.hardness_slider):
            self.size_slider.set_magnitude(canvas.brush_size)
            self.size_spin.setValue(canvas.brush_size)
            self.hardness_slider.setValue(round(canvas.brush_hardness * 100))
        with QSignalBlocker(self.visible_button), QSignalBlocker(self.opacity_slider):
            self.visible_button.setChecked(canvas.mask_visible)
            self.opacity_slider.setValue(round(canvas.mask_opacity * 100))
        swatch = QPixmap(16, 16)
        swatch.fill(canvas.mask_color)
        self.color_button.setIcon(QIcon(swatch))
        has_image = canvas.image() is not None
        for button in (self.invert_button, self.clear_button, self.fill_button):
            button.setEnabled(has_image)
        self.undo_button.setEnabled(canvas.undo_stack().canUndo())
        self.redo_button.setEnabled(canvas.undo_stack().canRedo())

