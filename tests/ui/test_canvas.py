"""Canvas display, view and image API (pytest-qt, offscreen): signals and rendered pixels."""

import pytest
from PySide6.QtCore import QPoint, QPointF, QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from studio.core.errors import StudioError
from studio.ui.canvas import Canvas
from studio.ui.canvas.painting import AREA_FILL, BACKGROUND


def solid(w: int, h: int, color=QColor(20, 160, 60)) -> QImage:
    image = QImage(w, h, QImage.Format.Format_RGB32)
    image.fill(color)
    return image


@pytest.fixture
def canvas(qtbot):
    widget = Canvas()
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def shown(canvas: Canvas) -> QImage:
    return canvas.grab().toImage()


def rgb(image: QImage, point) -> tuple[int, int, int]:
    c = image.pixelColor(QPointF(point).toPoint())
    return c.red(), c.green(), c.blue()


def same(a: QColor | tuple, b: QColor | tuple, tol: int = 3) -> bool:
    a = (a.red(), a.green(), a.blue()) if isinstance(a, QColor) else a
    b = (b.red(), b.green(), b.blue()) if isinstance(b, QColor) else b
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def test_object_name_and_empty_generation_area(canvas):
    assert canvas.objectName() == "canvas"
    assert canvas.image() is None and canvas.mask() is None
    canvas.set_generation_size(256, 128)
    canvas.fit()
    shot = shown(canvas)
    area = canvas.map_from_image(QPointF(10, 10))
    assert same(rgb(shot, area), AREA_FILL)
    assert same(rgb(shot, QPoint(2, 2)), BACKGROUND)
    # fit: the whole 256x128 area is visible and centred
    assert canvas.zoom() == pytest.approx((400 - 32) / 256)
    centre = canvas.map_from_image(QPointF(128, 64))
    assert abs(centre.x() - 200) <= 1 and abs(centre.y() - 150) <= 1


def test_set_image_signals_and_pixels(canvas, qtbot):
    with qtbot.waitSignals([canvas.image_changed, canvas.mask_changed]):
        canvas.set_image(solid(200, 100))
    assert canvas.image().size() == QSize(200, 100)
    shot = shown(canvas)
    assert rgb(shot, canvas.map_from_image(QPointF(100, 50))) == (20, 160, 60)
    assert same(rgb(shot, QPoint(1, 1)), BACKGROUND)
    with qtbot.waitSignal(canvas.image_changed):
        canvas.set_image(None)
    assert canvas.image() is None


def test_image_is_a_copy(canvas):
    source = solid(50, 50)
    canvas.set_image(source)
    source.fill(QColor(0, 0, 0))
    returned = canvas.image()
    returned.fill(QColor(255, 255, 255))
    assert canvas.image().pixelColor(0, 0) == QColor(20, 160, 60)


def test_mask_kept_for_same_size_and_cleared_for_another(canvas):
    canvas.set_image(solid(64, 64))
    canvas.fill_mask()
    canvas.set_image(solid(64, 64, QColor(1, 2, 3)))
    assert canvas.mask() is not None
    canvas.set_image(solid(80, 64))
    assert canvas.mask() is None


def test_set_mask_checks_size_and_format(canvas):
    canvas.set_image(solid(32, 16))
    mask = QImage(32, 16, QImage.Format.Format_RGB32)
    mask.fill(QColor(255, 255, 255))
    canvas.set_mask(mask)
    got = canvas.mask()
    assert got.format() == QImage.Format.Format_Grayscale8 and got.size() == QSize(32, 16)
    assert got.pixelColor(3, 3).red() == 255
    with pytest.raises(StudioError, match="same size"):
        canvas.set_mask(QImage(10, 10, QImage.Format.Format_Grayscale8))
    canvas.set_mask(None)
    assert canvas.mask() is None


def test_wheel_zooms_around_the_cursor(canvas, qtbot):
    canvas.set_image(solid(200, 100))
    cursor = QPointF(120, 140)
    fixed = canvas.map_to_image(cursor)
    before = canvas.zoom()
    with qtbot.waitSignal(canvas.view_changed):
        event = QWheelEvent(
            cursor, canvas.mapToGlobal(cursor), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
        )
        QApplication.sendEvent(canvas, event)
    assert canvas.zoom() == pytest.approx(before * 1.25)
    after = canvas.map_from_image(fixed)
    assert after.x() == pytest.approx(cursor.x()) and after.y() == pytest.approx(cursor.y())


def test_zoom_in_out_and_fit(canvas):
    canvas.set_image(solid(200, 100))
    fitted = canvas.zoom()
    canvas.zoom_in()
    assert canvas.zoom() == pytest.approx(fitted * 1.25)
    canvas.zoom_out()
    canvas.zoom_out()
    assert canvas.zoom() == pytest.approx(fitted / 1.25)
    canvas.fit()
    assert canvas.zoom() == pytest.approx(fitted)


def test_middle_drag_pans(canvas, qtbot):
    canvas.set_image(solid(200, 100))
    origin = canvas.map_from_image(QPointF(0, 0))
    qtbot.mousePress(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(130, 90))
    qtbot.mouseRelease(canvas, Qt.MouseButton.MiddleButton, pos=QPoint(130, 90))
    moved = canvas.map_from_image(QPointF(0, 0))
    assert (moved - origin).toPoint() == QPoint(30, -10)
    assert canvas.mask() is None  # panning never paints


def test_space_drag_pans_instead_of_painting(canvas, qtbot):
    canvas.set_image(solid(200, 100))
    origin = canvas.map_from_image(QPointF(0, 0))
    canvas.setFocus()
    qtbot.keyPress(canvas, Qt.Key.Key_Space)
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    qtbot.mouseMove(canvas, QPoint(110, 120))
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=QPoint(110, 120))
    qtbot.keyRelease(canvas, Qt.Key.Key_Space)
    assert (canvas.map_from_image(QPointF(0, 0)) - origin).toPoint() == QPoint(10, 20)
    assert canvas.mask() is None


def test_resize_refits_until_the_user_zooms(canvas, qtbot):
    canvas.set_image(solid(200, 100))
    canvas.resize(600, 400)
    qtbot.wait(10)
    assert canvas.zoom() == pytest.approx((600 - 32) / 200)
    canvas.set_zoom(1.0)
    canvas.resize(500, 400)
    qtbot.wait(10)
    assert canvas.zoom() == 1.0


def test_preview_is_scaled_over_the_generation_area(canvas):
    canvas.set_generation_size(256, 256)
    canvas.show_preview(solid(32, 32, QColor(250, 10, 10)))  # 1/8 size, as latent previews are
    shot = shown(canvas)
    for x, y in ((2, 2), (128, 128), (253, 253)):
        assert same(rgb(shot, canvas.map_from_image(QPointF(x, y))), (250, 10, 10))
    assert same(rgb(shot, QPoint(1, 1)), BACKGROUND)


def test_result_overlay_until_cleared(canvas):
    canvas.set_image(solid(100, 100))
    canvas.fill_mask()
    centre = canvas.map_from_image(QPointF(50, 50))
    canvas.show_result(solid(100, 100, QColor(0, 0, 250)))
    assert rgb(shown(canvas), centre) == (0, 0, 250)  # the result hides the mask overlay too
    canvas.clear_overlay()
    assert rgb(shown(canvas), centre) != (0, 0, 250)
    canvas.show_result(solid(100, 100, QColor(0, 0, 250)))
    canvas.set_image(solid(100, 100, QColor(9, 9, 9)))  # using it as the new source clears it
    canvas.mask_visible = False
    assert rgb(shown(canvas), centre) == (9, 9, 9)


def test_set_image_is_undoable(canvas):
    canvas.set_image(solid(40, 40, QColor(1, 1, 1)))
    canvas.set_image(solid(60, 30, QColor(2, 2, 2)))
    canvas.undo()
    assert canvas.image().size() == QSize(40, 40) and canvas.image().pixelColor(0, 0) == QColor(1, 1, 1)
    canvas.redo()
    assert canvas.image().size() == QSize(60, 30)


def test_not_undoable_image_of_new_size_clears_history(canvas):
    canvas.set_image(solid(40, 40))
    canvas.fill_mask()
    canvas.set_image(solid(50, 50), undoable=False)
    assert not canvas.undo_stack().canUndo()


def test_preview_of_a_region_covers_only_that_region(canvas):
    canvas.set_image(solid(200, 100))
    canvas.show_preview(solid(10, 10, QColor(250, 10, 10)), QRect(120, 20, 60, 60))
    shot = shown(canvas)
    assert same(rgb(shot, canvas.map_from_image(QPointF(150, 50))), (250, 10, 10))
    for outside in ((100, 50), (190, 50), (150, 10), (150, 90)):
        assert rgb(shot, canvas.map_from_image(QPointF(*outside))) == (20, 160, 60), outside


def test_a_result_of_another_shape_is_fitted_not_stretched(canvas):
    canvas.set_image(solid(200, 100))
    canvas.show_result(solid(50, 50, QColor(0, 0, 250)))  # text-to-image over a wide canvas image
    shot = shown(canvas)
    assert rgb(shot, canvas.map_from_image(QPointF(100, 50))) == (0, 0, 250)
    assert rgb(shot, canvas.map_from_image(QPointF(20, 50))) == (20, 160, 60)


def test_result_shown_is_signalled(canvas, qtbot):
    canvas.set_image(solid(40, 40))
    with qtbot.waitSignal(canvas.result_shown, check_params_cb=lambda on: on):
        canvas.show_result(solid(40, 40, QColor(1, 2, 3)))
    assert canvas.showing_result()
    with qtbot.waitSignal(canvas.result_shown, check_params_cb=lambda on: not on):
        canvas.fill_mask()  # a mask edit shows the mask, not the result
    assert not canvas.showing_result()


def test_view_state_round_trip_and_resizing_keeps_the_middle(canvas, qtbot):
    canvas.set_image(solid(400, 300))
    assert canvas.view_state()["fitted"]
    canvas.set_zoom(3.0, QPointF(50, 60))
    state = canvas.view_state()
    canvas.resize(600, 500)
    qtbot.wait(10)
    assert canvas.view_state()["centre"] == pytest.approx(state["centre"])
    canvas.fit()
    canvas.restore_view(state)
    assert not canvas.view_state()["fitted"] and canvas.view_state()["zoom"] == 3.0
    assert canvas.view_state()["centre"] == pytest.approx(state["centre"])
    for broken in (None, {}, {"fitted": False, "zoom": "x", "centre": [1, 2]},
                   {"fitted": False, "zoom": float("nan"), "centre": [1, 2]}):
        canvas.restore_view(broken)
        assert canvas.view_state()["fitted"]


def test_a_transparent_image_is_set_on_white(canvas):
    image = QImage(4, 4, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    canvas.set_image(image)
    assert canvas.image().pixelColor(1, 1) == QColor(255, 255, 255)
