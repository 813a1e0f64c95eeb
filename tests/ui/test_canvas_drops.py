"""Bringing images into the canvas: file drops, raw data from browsers, paste, and background decoding."""

import threading
import time

import pytest
from PIL import Image
from PySide6.QtCore import QByteArray, QMimeData, QPoint, QPointF, QSize, Qt, QTimer, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from tests.ui.test_canvas import canvas, solid  # noqa: F401 - the fixture

GREEN = (20, 160, 60)


def write_image(path, size=(64, 48), color=GREEN, **save_args):
    Image.new("RGB", size, color).save(path, **save_args)
    return str(path)


def file_mime(path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def png_bytes(size=(30, 20), color=(200, 10, 10)) -> bytes:
    import io

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def drop(canvas, mime: QMimeData) -> bool:
    """Send a drag-enter and, if it is accepted, a drop; returns whether the drag was accepted."""
    enter = QDragEnterEvent(
        QPoint(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(canvas, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(
        QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(canvas, event)
    return True


def colour(image: QImage, x=0, y=0) -> tuple[int, int, int]:
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


@pytest.mark.parametrize(
    "name, args",
    [("photo.png", {}), ("photo.jpg", {"quality": 100}), ("photo.webp", {"lossless": True}), ("photo.bmp", {}),
     ("photo.tiff", {})],
)
def test_drop_image_file(canvas, qtbot, tmp_path, name, args):
    path = write_image(tmp_path / name, **args)
    with qtbot.waitSignal(canvas.image_dropped, timeout=5000) as dropped:
        assert drop(canvas, file_mime(path))
    assert dropped.args == [path]
    assert canvas.image().size() == QSize(64, 48)
    assert all(abs(a - b) <= 2 for a, b in zip(colour(canvas.image(), 10, 10), GREEN))
    assert canvas.undo_stack().canUndo()


@pytest.mark.parametrize("kind", ["bytes", "qimage"])
def test_drop_raw_image_data(canvas, qtbot, kind):
    mime = QMimeData()
    if kind == "bytes":
        mime.setData("image/png", QByteArray(png_bytes()))
    else:
        image = QImage(30, 20, QImage.Format.Format_ARGB32)
        image.fill(QColor(200, 10, 10, 255))
        mime.setImageData(image)
    with qtbot.waitSignal(canvas.image_dropped, timeout=5000) as dropped:
        assert drop(canvas, mime)
    assert dropped.args == [""]
    assert canvas.image().size() == QSize(30, 20) and colour(canvas.image()) == (200, 10, 10)


def test_transparent_raw_data_is_flattened_on_white(canvas, qtbot):
    image = QImage(8, 8, QImage.Format.Format_ARGB32)
    image.fill(QColor(0, 0, 0, 0))
    mime = QMimeData()
    mime.setImageData(image)
    with qtbot.waitSignal(canvas.image_dropped):
        drop(canvas, mime)
    assert colour(canvas.image()) == (255, 255, 255)


def truncated_png(path):
    data = png_bytes((300, 300))
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: (p / "notes.txt").write_text("hello") and p / "notes.txt", "not an image"),
        (lambda p: truncated_png(p / "cut.png"), "damaged or incomplete"),
        (lambda p: (p / "empty.png").write_bytes(b"") or p / "empty.png", "empty"),
    ],
    ids=["text", "truncated", "zero-bytes"],
)
def test_bad_drops_are_rejected_and_change_nothing(canvas, qtbot, tmp_path, make, words):
    canvas.set_image(solid(10, 10))
    history = canvas.undo_stack().count()
    path = make(tmp_path)
    with qtbot.assertNotEmitted(canvas.image_changed, wait=50), qtbot.assertNotEmitted(canvas.image_dropped):
        with qtbot.waitSignal(canvas.drop_rejected, timeout=5000) as rejected:
            assert drop(canvas, file_mime(path))
    assert words in rejected.args[0] and path.name in rejected.args[0]
    assert canvas.image().size() == QSize(10, 10) and canvas.undo_stack().count() == history


def test_bad_raw_data_is_rejected(canvas, qtbot):
    mime = QMimeData()
    mime.setData("image/png", QByteArray(png_bytes()[:40]))
    with qtbot.waitSignal(canvas.drop_rejected, timeout=5000) as rejected:
        drop(canvas, mime)
    assert "dropped image" in rejected.args[0]
    assert canvas.image() is None


def test_remote_urls_are_rejected_with_a_reason(canvas, qtbot):
    mime = QMimeData()
    mime.setUrls([QUrl("https://example.com/cat.png")])
    with qtbot.waitSignal(canvas.drop_rejected) as rejected:
        drop(canvas, mime)
    assert "save the image first" in rejected.args[0]


def test_plain_text_drag_is_not_accepted(canvas):
    mime = QMimeData()
    mime.setText("just words")
    assert not drop(canvas, mime)


def test_paste_from_clipboard(canvas, qtbot, tmp_path):
    clipboard = QGuiApplication.clipboard()
    mime = QMimeData()
    mime.setData("image/png", QByteArray(png_bytes()))
    clipboard.setMimeData(mime)
    canvas.setFocus()
    with qtbot.waitSignal(canvas.image_dropped, timeout=5000) as pasted:
        qtbot.keyClick(canvas, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert pasted.args == [""] and canvas.image().size() == QSize(30, 20)

    path = write_image(tmp_path / "copied.png", size=(12, 12))  # a file copied in a file manager
    clipboard.setMimeData(file_mime(path))
    with qtbot.waitSignal(canvas.image_dropped, timeout=5000) as pasted:
        canvas.paste_from_clipboard()
    assert pasted.args == [path] and canvas.image().size() == QSize(12, 12)

    clipboard.setText("not a picture")
    with qtbot.waitSignal(canvas.drop_rejected):
        canvas.paste_from_clipboard()
    clipboard.clear()


def test_open_file_decodes_large_images_off_the_gui_thread(canvas, qtbot, tmp_path):
    path = write_image(tmp_path / "big.png", size=(6000, 6000), compress_level=1)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(5)
    started = time.perf_counter()
    canvas.open_file(path)
    returned = time.perf_counter() - started
    assert canvas.is_loading()
    with qtbot.waitSignal(canvas.image_dropped, timeout=30000):
        pass
    timer.stop()
    assert returned < 0.1
    assert len(ticks) >= 5  # the event loop kept turning while the file was decoded
    assert canvas.image().size() == QSize(6000, 6000) and not canvas.is_loading()
    assert colour(canvas.image(), 5999, 5999) == GREEN


def test_only_the_newest_load_wins(canvas, qtbot, tmp_path):
    slow = write_image(tmp_path / "slow.png", size=(3000, 3000), compress_level=1)
    fast = write_image(tmp_path / "fast.png", size=(16, 16))
    canvas.open_file(slow)
    with qtbot.waitSignal(canvas.image_dropped, timeout=10000) as dropped:
        canvas.open_file(fast)
    for thread in threading.enumerate():  # the slow decode finishes too; its late answer must be ignored
        if thread.name == "image-decode":
            thread.join(30)
    qtbot.wait(20)
    assert dropped.args == [fast] and canvas.image().size() == QSize(16, 16)
