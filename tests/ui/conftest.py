"""Window fixtures: a qasync loop, and main windows that are closed (their engine threads stopped) and deleted
after each test."""

import gc

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from studio.app import create_main_window
from tests.ui.fixtures import qloop  # noqa: F401 - shared with tests/test_session*.py

TIMEOUT = 20_000


@pytest.fixture
def open_window(qtbot, qloop):  # noqa: F811
    """``open_window(model=None, make_engine=None, show=True)``: a main window built like the app builds it."""

    windows = []

    def open_(model=None, make_engine=None, show=True):
        kwargs = {"make_engine": make_engine} if make_engine is not None else {}
        window = create_main_window(model, **kwargs)
        windows.append(window)  # pytest-qt's addWidget keeps only a weak reference
        if show:
            window.show()
            qtbot.waitExposed(window)
        return window

    yield open_
    for window in windows:
        window.close()  # stops the engine thread; closing twice is harmless
        window.deleteLater()
    # Delete the windows now, between tests. Left to Python's cycle collector, a window could be destroyed at any
    # allocation, even inside an event handler of one of its own widgets (a crash).
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    windows.clear()
    gc.collect()


def wait_ready(qtbot, window):
    qtbot.waitUntil(lambda: window.generate_button.isEnabled(), timeout=TIMEOUT)


@pytest.fixture
def tiny_window(open_window, tiny_sd_dir, qtbot):
    """The real window on the real engine with the tiny SD 1.x model loaded, generating 64x64."""
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    window.params.set_size(64, 64)
    return window


def wait_idle(qtbot, window):
    qtbot.waitUntil(lambda: not window.session.busy, timeout=TIMEOUT)
