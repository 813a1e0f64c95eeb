"""Mask painting on the canvas: strokes, tools, pressure, history, mask operations and files."""

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QSize, Qt
from PySide6.QtGui import QAction, QColor, QImage, QInputDevice, QKeySequence, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication, QWidget

from studio.core.errors import StudioError
from studio.ui.canvas import Canvas, Tool

from tests.ui.test_canvas import canvas, rgb, shown, solid  # noqa: F401 - the fixture


def pixels(mask: QImage | None, size=None) -> np.ndarray:
    """The mask as an HxW uint8 array (zeros when nothing is painted)."""
    if mask is None:
        return np.zeros((size[1], size[0]), np.uint8)
    rows = np.frombuffer(mask.constBits(), np.uint8).reshape(mask.height(), mask.bytesPerLine())
    return rows[:, : mask.width()].copy()


@pytest.fixture
def painted(canvas):
    """A 200x200 image at 100% zoom with a hard 20 px brush."""
    canvas.set_image(solid(200, 200))
    canvas.set_zoom(1.0)
    canvas.brush_size = 20
    canvas.brush_hardness = 1.0
    return canvas


def widget_point(canvas: Canvas, x: float, y: float) -> QPoint:
    return canvas.map_from_image(QPointF(x, y)).toPoint()


def image_point(canvas: Canvas, p: QPoint) -> tuple[int, int]:
    q = canvas.map_to_image(QPointF(p))
    return int(q.x()), int(q.y())


def stroke(qtbot, canvas: Canvas, *points: QPoint) -> None:
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=points[0])
    for p in points[1:]:
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=points[-1])


def dab_extent(mask: np.ndarray, x: int, y: int) -> tuple[int, int]:
    """How far the painted run along row ``y`` reaches left and right of ``x``."""
    row = mask[y] > 127
    left = right = 0
    while row[x - left - 1]:
        left += 1
    while row[x + right + 1]:
        right += 1
    return left, right


@pytest.mark.parametrize("zoom", [1.0, 3.0])
def test_click_paints_a_dab_of_brush_size_in_image_pixels(painted, qtbot, zoom):
    painted.set_zoom(zoom)
    centre = widget_point(painted, 100, 100)
    x, y = image_point(painted, centre)
    stroke(qtbot, painted, centre)
    mask = pixels(painted.mask())
    assert mask[y, x] == 255
    left, right = dab_extent(mask, x, y)
    assert 8 <= left <= 10 and 8 <= right <= 10  # a 20 px diameter whatever the zoom
    assert mask[y, x + 13] == 0 and mask[y + 13, x] == 0
    assert mask.sum() / 255 == pytest.approx(np.pi * 10**2, rel=0.15)


def test_eraser_removes_paint(painted, qtbot):
    centre = widget_point(painted, 100, 100)
    stroke(qtbot, painted, centre)
    painted.setFocus()
    qtbot.keyClick(painted, Qt.Key.Key_E)
    assert painted.tool == Tool.ERASER
    painted.brush_size = 40
    stroke(qtbot, painted, centre)
    assert painted.mask() is None
    qtbot.keyClick(painted, Qt.Key.Key_B)
    assert painted.tool == Tool.BRUSH


@pytest.mark.parametrize("zoom", [0.5, 2.0])
def test_fast_stroke_is_continuous(painted, qtbot, zoom):
    painted.brush_size = 6
    painted.set_zoom(zoom)
    a, b = widget_point(painted, 20, 30), widget_point(painted, 180, 150)
    stroke(qtbot, painted, a, b)  # two mouse events 200 image pixels apart
    mask = pixels(painted.mask())
    (ax, ay), (bx, by) = image_point(painted, a), image_point(painted, b)
    for t in np.linspace(0, 1, 400):
        x, y = round(ax + (bx - ax) * t), round(ay + (by - ay) * t)
        assert mask[y, x] == 255, (x, y)
    assert mask[100, 20] == 0  # and nothing far from the segment


def test_soft_brush_falls_off_towards_the_edge(painted, qtbot):
    painted.brush_size = 40
    painted.brush_hardness = 0.0
    centre = widget_point(painted, 100, 100)
    x, y = image_point(painted, centre)
    stroke(qtbot, painted, centre)
    row = pixels(painted.mask())[y]
    assert row[x] >= 240
    assert 30 < row[x + 10] < row[x + 3] < 255
    assert row[x + 21] == 0


def pen(kind=QPointingDevice.PointerType.Pen) -> QPointingDevice:
    caps = QInputDevice.Capability.Position | QInputDevice.Capability.Pressure
    return QPointingDevice("test pen", 99, QInputDevice.DeviceType.Stylus, kind, caps, 1, 2)


def tablet_click(canvas: Canvas, device: QPointingDevice, at: QPointF, pressure: float) -> None:
    press = (QEvent.Type.TabletPress, Qt.MouseButton.LeftButton)
    release = (QEvent.Type.TabletRelease, Qt.MouseButton.NoButton)
    for kind, buttons in (press, release):
        event = QTabletEvent(
            kind, device, at, canvas.mapToGlobal(at), pressure, 0, 0, 0, 0, 0,
            Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, buttons,
        )
        QApplication.sendEvent(canvas, event)
        assert event.isAccepted()  # handled as a pen stroke, no synthesized mouse events


def test_tablet_pressure_scales_the_brush(painted):
    painted.brush_size = 40
    centre = QPointF(widget_point(painted, 100, 100))
    x, y = image_point(painted, centre.toPoint())
    tablet_click(painted, pen(), centre, 0.25)
    left, right = dab_extent(pixels(painted.mask()), x, y)
    assert 3 <= left <= 5 and 3 <= right <= 5  # a quarter of the 20 px radius
    assert painted.undo_stack().count() == 2  # set image + the pen stroke


def test_pen_eraser_end_erases(painted):
    painted.fill_mask()
    centre = QPointF(widget_point(painted, 100, 100))
    x, y = image_point(painted, centre.toPoint())
    tablet_click(painted, pen(QPointingDevice.PointerType.Eraser), centre, 1.0)
    mask = pixels(painted.mask())
    assert mask[y, x] == 0 and mask[y, x + 15] == 255
    assert painted.tool == Tool.BRUSH


def test_brush_size_keys(painted, qtbot):
    painted.setFocus()
    with qtbot.waitSignal(painted.brush_changed):
        qtbot.keyClick(painted, Qt.Key.Key_BracketRight)
    assert painted.brush_size == 24
    qtbot.keyClick(painted, Qt.Key.Key_BracketLeft)
    qtbot.keyClick(painted, Qt.Key.Key_BracketLeft)
    assert painted.brush_size == 17
    painted.brush_size = 1
    qtbot.keyClick(painted, Qt.Key.Key_BracketLeft)
    assert painted.brush_size == 1
    qtbot.keyClick(painted, Qt.Key.Key_BracketRight)
    assert painted.brush_size == 2


def test_undo_redo_restore_exact_mask_bytes(painted, qtbot):
    painted.brush_hardness = 0.5  # soft edges: partial values must come back exactly too
    stroke(qtbot, painted, widget_point(painted, 50, 50), widget_point(painted, 120, 60))
    first = pixels(painted.mask())
    stroke(qtbot, painted, widget_point(painted, 60, 40), widget_point(painted, 70, 150))
    second = pixels(painted.mask())
    assert not np.array_equal(first, second)
    painted.setFocus()
    qtbot.keyClick(painted, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(pixels(painted.mask()), first)
    qtbot.keyClick(painted, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(pixels(painted.mask()), second)
    painted.undo()
    painted.undo()
    assert painted.mask() is None
    painted.redo()
    assert np.array_equal(pixels(painted.mask()), first)


def test_canvas_keys_win_over_window_shortcuts(painted, qtbot):
    window = QWidget()
    qtbot.addWidget(window)
    stolen = []
    action = QAction("Window undo", window)
    action.setShortcut(QKeySequence.StandardKey.Undo)
    action.triggered.connect(lambda: stolen.append(1))
    window.addAction(action)
    painted.setParent(window)
    window.resize(400, 300)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    painted.setFocus()
    qtbot.waitUntil(painted.hasFocus)
    stroke(qtbot, painted, widget_point(painted, 100, 100))
    qtbot.keyClick(painted, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert painted.mask() is None and not stolen
    painted.clearFocus()
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stolen  # elsewhere in the window the window's shortcut still works
    painted.setParent(None)  # the fixture closes the canvas itself


def test_one_history_entry_and_one_mask_changed_per_stroke(painted, qtbot):
    count = painted.undo_stack().count()
    emitted = []
    painted.mask_changed.connect(lambda: emitted.append(1))
    stroke(qtbot, painted, *(widget_point(painted, 20 + 10 * i, 50) for i in range(10)))
    assert painted.undo_stack().count() == count + 1
    assert len(emitted) == 1


def test_a_mask_handed_out_is_a_snapshot_that_later_edits_leave_alone(painted, qtbot):
    """The window gives canvas.mask() to the generation and to the autosave thread without copying it."""
    stroke(qtbot, painted, widget_point(painted, 50, 50))
    snapshot = painted.mask()
    before = pixels(snapshot)
    stroke(qtbot, painted, widget_point(painted, 150, 150))  # a brush stroke
    painted.invert_mask()  # and whole-mask edits
    painted.fill_mask()
    painted.undo()
    assert np.array_equal(pixels(snapshot), before)
    assert not np.array_equal(pixels(painted.mask()), before)


def test_invert_clear_fill_with_undo(painted, qtbot):
    size = (200, 200)
    stroke(qtbot, painted, widget_point(painted, 100, 100))
    dab = pixels(painted.mask())
    painted.invert_mask()
    assert np.array_equal(pixels(painted.mask()), 255 - dab)
    painted.clear_mask()
    assert painted.mask() is None
    painted.fill_mask()
    assert (pixels(painted.mask()) == 255).all()
    painted.invert_mask()
    assert painted.mask() is None
    painted.undo()  # invert
    painted.undo()  # fill
    painted.undo()  # clear
    assert np.array_equal(pixels(painted.mask(), size), 255 - dab)
    painted.undo()
    assert np.array_equal(pixels(painted.mask()), dab)


def test_overlay_colour_opacity_and_visibility(painted):
    painted.fill_mask()
    centre = widget_point(painted, 100, 100)
    painted.mask_color = QColor(0, 0, 255)
    painted.mask_opacity = 1.0
    assert rgb(shown(painted), centre) == (0, 0, 255)
    painted.mask_opacity = 0.5
    r, g, b = rgb(shown(painted), centre)
    assert abs(r - 10) <= 2 and abs(g - 80) <= 2 and abs(b - 157) <= 2  # half way between (20, 160, 60) and blue
    painted.mask_visible = False
    assert rgb(shown(painted), centre) == (20, 160, 60)


def test_painting_repaints_only_around_the_brush(canvas, qtbot):
    canvas.set_image(solid(4000, 4000))
    canvas.set_zoom(1.0)
    canvas.brush_size = 10
    rects = []

    class Spy(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                rects.append(event.rect())
            return False

    spy = Spy()
    canvas.installEventFilter(spy)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.wait(20)
    rects.clear()
    qtbot.mouseMove(canvas, QPoint(110, 104))
    qtbot.wait(20)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(110, 104))
    canvas.removeEventFilter(spy)
    assert rects and all(r.width() * r.height() < 60 * 60 for r in rects)


def test_mask_save_load_round_trip(painted, qtbot, tmp_path):
    painted.brush_hardness = 0.3
    stroke(qtbot, painted, widget_point(painted, 30, 30), widget_point(painted, 170, 90))
    before = pixels(painted.mask())
    path = painted.save_mask(tmp_path / "mask.png")
    painted.clear_mask()
    with qtbot.waitSignal(painted.mask_changed):
        painted.load_mask(path)
    assert np.array_equal(pixels(painted.mask()), before)
    painted.undo()
    assert painted.mask() is None


def test_load_mask_of_another_size_is_refused(painted, tmp_path):
    other = QImage(64, 64, QImage.Format.Format_Grayscale8)
    other.fill(QColor(255, 255, 255))
    other.save(str(tmp_path / "small.png"))
    with pytest.raises(StudioError, match="same size"):
        painted.load_mask(tmp_path / "small.png")
    assert painted.mask() is None


def test_extend_masks_exactly_the_new_area(canvas):
    image = solid(40, 30)
    image.setPixelColor(0, 0, QColor(255, 0, 0))
    canvas.set_image(image)
    canvas.set_mask(None)
    with_mask = QImage(40, 30, QImage.Format.Format_Grayscale8)
    with_mask.fill(QColor(0, 0, 0))
    with_mask.setPixelColor(5, 5, QColor(200, 200, 200))
    canvas.set_mask(with_mask)
    canvas.extend(10, 5, 20, 0)
    assert canvas.image().size() == QSize(70, 35)
    mask = pixels(canvas.mask())
    expected = np.full((35, 70), 255, np.uint8)
    expected[5:35, 10:50] = 0
    expected[10, 15] = 200
    assert np.array_equal(mask, expected)
    grown = canvas.image()
    assert grown.pixelColor(10, 5) == QColor(255, 0, 0) and grown.pixelColor(11, 6) == QColor(20, 160, 60)
    border = grown.pixelColor(65, 20)  # mirrored and blurred from the green edge
    assert abs(border.green() - 160) < 20
    canvas.undo()
    assert canvas.image().size() == QSize(40, 30)
    assert pixels(canvas.mask())[5, 5] == 200


def test_mask_needs_an_image(canvas, qtbot):
    stroke(qtbot, canvas, QPoint(100, 100))
    assert canvas.mask() is None
    with pytest.raises(StudioError):
        canvas.extend(10, 0, 0, 0)
