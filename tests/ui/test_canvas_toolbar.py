"""The canvas toolbar drives the canvas and follows it."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QAbstractButton, QSlider

from studio.ui.canvas import Canvas, CanvasToolbar, Tool
from studio.ui.canvas import toolbar as toolbar_module

from tests.ui.test_canvas import solid

NAMES = [
    "brushButton", "eraserButton", "brushSizeSlider", "brushHardnessSlider", "maskVisibleButton",
    "maskColorButton", "maskOpacitySlider", "invertMaskButton", "clearMaskButton", "fillMaskButton",
    "undoButton", "redoButton", "fitButton",
]


@pytest.fixture
def bound(qtbot):
    canvas = Canvas()
    bar = CanvasToolbar(canvas)
    qtbot.addWidget(canvas)
    qtbot.addWidget(bar)
    canvas.resize(300, 300)
    canvas.show()
    bar.show()
    qtbot.waitExposed(canvas)
    return canvas, bar


def control(bar, name):
    return bar.findChild(QSlider if name.endswith("Slider") else QAbstractButton, name)


def test_every_control_is_named(bound):
    _, bar = bound
    assert all(control(bar, name) is not None for name in NAMES)


def test_tool_buttons_and_keys_stay_in_step(bound, qtbot):
    canvas, bar = bound
    assert control(bar, "brushButton").isChecked()
    qtbot.mouseClick(control(bar, "eraserButton"), Qt.MouseButton.LeftButton)
    assert canvas.tool == Tool.ERASER
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_B)
    assert control(bar, "brushButton").isChecked() and not control(bar, "eraserButton").isChecked()


def test_sliders_set_canvas_properties_and_follow_them(bound, qtbot):
    canvas, bar = bound
    bar.size_spin.setValue(77)
    assert canvas.brush_size == 77 and bar.size_slider.magnitude() == 77
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_BracketRight)
    assert bar.size_slider.magnitude() == bar.size_spin.value() == canvas.brush_size == 92
    control(bar, "brushHardnessSlider").setValue(25)
    assert canvas.brush_hardness == pytest.approx(0.25)
    control(bar, "maskOpacitySlider").setValue(80)
    assert canvas.mask_opacity == pytest.approx(0.8)
    canvas.mask_opacity = 0.3
    assert control(bar, "maskOpacitySlider").value() == 30


def test_visibility_and_colour(bound, qtbot, monkeypatch):
    canvas, bar = bound
    qtbot.mouseClick(control(bar, "maskVisibleButton"), Qt.MouseButton.LeftButton)
    assert canvas.mask_visible is False
    canvas.mask_visible = True
    assert control(bar, "maskVisibleButton").isChecked()
    monkeypatch.setattr(toolbar_module.QColorDialog, "getColor", staticmethod(lambda *a: QColor(0, 255, 0)))
    qtbot.mouseClick(control(bar, "maskColorButton"), Qt.MouseButton.LeftButton)
    assert canvas.mask_color == QColor(0, 255, 0)


def test_mask_buttons_and_history(bound, qtbot):
    canvas, bar = bound
    assert not control(bar, "fillMaskButton").isEnabled()  # nothing to mask yet
    canvas.set_image(solid(50, 50))
    assert control(bar, "fillMaskButton").isEnabled()
    qtbot.mouseClick(control(bar, "fillMaskButton"), Qt.MouseButton.LeftButton)
    assert canvas.mask().pixelColor(0, 0).red() == 255
    qtbot.mouseClick(control(bar, "invertMaskButton"), Qt.MouseButton.LeftButton)
    assert canvas.mask() is None
    qtbot.mouseClick(control(bar, "undoButton"), Qt.MouseButton.LeftButton)
    assert canvas.mask() is not None
    assert control(bar, "redoButton").isEnabled()
    assert "Invert mask" in control(bar, "redoButton").toolTip()
    qtbot.mouseClick(control(bar, "redoButton"), Qt.MouseButton.LeftButton)
    assert canvas.mask() is None
    qtbot.mouseClick(control(bar, "fillMaskButton"), Qt.MouseButton.LeftButton)
    qtbot.mouseClick(control(bar, "clearMaskButton"), Qt.MouseButton.LeftButton)
    assert canvas.mask() is None


def test_fit_button(bound, qtbot):
    canvas, bar = bound
    canvas.set_image(solid(100, 100))
    fitted = canvas.zoom()
    canvas.set_zoom(5.0)
    qtbot.mouseClick(control(bar, "fitButton"), Qt.MouseButton.LeftButton)
    assert canvas.zoom() == pytest.approx(fitted)


def test_the_brush_size_slider_is_logarithmic_and_shows_its_value(bound, qtbot):
    canvas, bar = bound
    slider = bar.size_slider
    assert canvas.brush_size == 48 and bar.size_spin.text() == "48 px"
    assert 0.45 < slider.value() / slider.maximum() < 0.65  # the default sits mid-way, not at the far left
    slider.setValue(0)
    assert canvas.brush_size == 1 and bar.size_spin.text() == "1 px"
    slider.setValue(slider.maximum())
    assert canvas.brush_size == 1024 and bar.size_spin.text() == "1024 px"
    sizes = []
    for position in range(0, slider.maximum() + 1, slider.pageStep()):
        slider.setValue(position)
        sizes.append(canvas.brush_size)
    ratios = [b / a for a, b in zip(sizes, sizes[1:])]
    assert max(ratios) / min(ratios) < 1.1  # each page step multiplies the size by about the same factor
    slider.setValue(slider.maximum() // 2)
    assert canvas.brush_size == 32  # half-way is the geometric middle of 1 and 1024


def test_every_tool_is_visible_on_a_narrow_window(open_window, qtbot):
    window = open_window()
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024)
    bar = window.canvas_toolbar
    qtbot.waitUntil(lambda: bar.height() > 50)  # two rows
    stage = window.canvas.parentWidget()
    for name in NAMES:
        widget = control(bar, name)
        assert widget.isVisible(), name
        top_left = widget.mapTo(stage, widget.rect().topLeft())
        bottom_right = widget.mapTo(stage, widget.rect().bottomRight())
        assert stage.rect().contains(top_left) and stage.rect().contains(bottom_right), name
    window.resize(1600 + window.history_binding.dock.width(), 1000)  # the History dock takes its share
    qtbot.waitUntil(lambda: bar.height() < 50)  # one row when there is room
