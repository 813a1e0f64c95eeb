"""The workspace keeper: writes after a pause or at once, off the GUI thread, and encodes an unchanged image once."""

import threading

from PySide6.QtGui import QColor, QImage

from studio.core.workspace import Workspace, WorkspaceState
from studio.session import workspace as keeping
from studio.session.workspace import CanvasState, WorkspaceKeeper


def picture() -> QImage:
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor(10, 200, 30))
    image.setPixelColor(39, 29, QColor(1, 2, 3))
    return image


def test_writes_in_a_thread_of_its_own_and_encodes_an_unchanged_image_once(qapp, tmp_path, monkeypatch):
    image, encoded, threads = picture(), [], []
    png = keeping.qimage_to_png
    monkeypatch.setattr(keeping, "qimage_to_png", lambda im: (encoded.append(im.format()), threads.append(
        threading.current_thread()), png(im))[2])
    mask = QImage(40, 30, QImage.Format.Format_Grayscale8)
    mask.fill(255)
    states = iter([CanvasState(image, None, {"n": 1}), CanvasState(QImage(image), mask.copy(), {"n": 2})])
    keeper = WorkspaceKeeper(Workspace(tmp_path), lambda: next(states))
    keeper.save().result()
    keeper.close()
    assert encoded == [QImage.Format.Format_RGB32, QImage.Format.Format_Grayscale8]  # the image only once
    assert threading.main_thread() not in threads

    back = WorkspaceKeeper(Workspace(tmp_path), lambda: CanvasState()).restore()
    assert back.data == {"n": 2} and back.image.format() == QImage.Format.Format_RGB32
    assert back.image.pixelColor(39, 29) == QColor(1, 2, 3) and back.mask.pixelColor(0, 0) == QColor(255, 255, 255)


def test_a_failing_write_is_reported_once(qapp, tmp_path, qtbot):
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    keeper = WorkspaceKeeper(Workspace(blocked), lambda: CanvasState(picture()))
    messages = []
    keeper.failed.connect(messages.append)
    keeper.save().result()
    keeper.save().result()
    qtbot.waitUntil(lambda: len(messages) == 1)
    qtbot.wait(20)
    assert len(messages) == 1 and "could not be kept" in messages[0]
    keeper.close()


def test_changes_after_closing_are_ignored(qapp, tmp_path):
    keeper = WorkspaceKeeper(Workspace(tmp_path), lambda: CanvasState(data={"x": 1}))
    keeper.close()
    keeper.changed()  # a widget still emitting while the window goes away
    assert not keeper._timer.isActive()
    assert Workspace(tmp_path).load().state.data == {"x": 1}


def _saved(tmp_path, mask: bool = True) -> None:
    keeper = WorkspaceKeeper(Workspace(tmp_path), lambda: CanvasState(picture(), _full_mask() if mask else None,
                                                                       {"prompt": "p"}))
    keeper.close()


def _full_mask() -> QImage:
    mask = QImage(40, 30, QImage.Format.Format_Grayscale8)
    mask.fill(255)
    return mask


def test_a_complete_restore_has_no_notice(qapp, tmp_path):
    _saved(tmp_path)
    keeper = WorkspaceKeeper(Workspace(tmp_path), CanvasState)
    assert keeper.restore().mask is not None and keeper.notice is None


def test_a_damaged_state_brings_the_image_back_and_says_so(qapp, tmp_path):
    _saved(tmp_path)
    (tmp_path / "state.json").write_text("{ not json")
    keeper = WorkspaceKeeper(Workspace(tmp_path), CanvasState)
    back = keeper.restore()
    assert back.image.pixelColor(39, 29) == QColor(1, 2, 3) and back.mask is None and back.data == {}
    (kept,) = tmp_path.glob("state.damaged-*.json")
    assert keeper.notice == (f"The saved workspace was damaged and was set aside as {kept.name}; "
                             "the newest canvas image is back, without its mask and prompt.")


def test_a_missing_mask_is_said_and_the_rest_restored(qapp, tmp_path):
    _saved(tmp_path)
    next(tmp_path.glob("mask-*.png")).unlink()
    keeper = WorkspaceKeeper(Workspace(tmp_path), CanvasState)
    back = keeper.restore()
    assert back.image is not None and back.mask is None and back.data == {"prompt": "p"}
    assert keeper.notice == "The saved mask could not be restored and was left out; the workspace files were kept."


def test_an_image_that_cannot_be_decoded_is_left_out_said_and_kept(qapp, tmp_path):
    Workspace(tmp_path).save(WorkspaceState(image_png=b"intact bytes, but not a PNG", data={"prompt": "p"}))
    (image_file,) = tmp_path.glob("image-*.png")
    keeper = WorkspaceKeeper(Workspace(tmp_path), lambda: CanvasState(data={"prompt": "p"}))
    back = keeper.restore()
    assert back.image is None and back.data == {"prompt": "p"}
    assert keeper.notice.startswith("The saved canvas image could not be restored and was left out")
    keeper.close()  # saves the canvas without that image
    assert image_file.read_bytes() == b"intact bytes, but not a PNG"
