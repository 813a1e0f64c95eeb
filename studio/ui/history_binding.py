"""The History dock in the main window, and what its images do there.

The gallery and the window show one history: choosing an image in the gallery shows it over the canvas (with
the result bar, as a fresh result is), and a result picked in the batch strip becomes the gallery's current
image. Files are decoded and recipes read off the GUI thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QDockWidget, QMainWindow

from studio.core.errors import StudioError
from studio.core.metadata import read_checked_recipe
from studio.session import Result
from studio.session.history import History
from studio.session.results import load_result
from studio.session.thumbnail_loader import ThumbnailLoader
from studio.ui.background import start_detached
from studio.ui.history_panel import HistoryPanel

log = logging.getLogger(__name__)

WIDE_WINDOW = 1400  # from this width the History dock starts two thumbnails wide


class _Answers(QObject):
    """Calls ``then(value)`` on the GUI thread for work done in a background thread."""

    answered = Signal(object, object)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.answered.connect(self._call)

    @Slot(object, object)
    def _call(self, then: Callable[[object], None], value: object) -> None:
        then(value)

    def off_thread(self, work: Callable[[], object], then: Callable[[object], None], name: str) -> None:
        def run() -> None:
            try:
                value = work()
            except StudioError as exc:
                value = exc
            except Exception as exc:  # noqa: BLE001 - told as one sentence; the log has the details
                log.exception("%s failed", name)
                value = StudioError(f"The image could not be read ({type(exc).__name__}).")
            try:
                self.answered.emit(then, value)
            except RuntimeError:
                pass  # the window closed meanwhile

        start_detached(run, name)


class HistoryBinding(QObject):
    def __init__(self, window: QMainWindow, history: History | None = None) -> None:
        super().__init__(window)
        self._window = window
        self.history = history or History(parent=self)
        self.loader = ThumbnailLoader(parent=self)
        self.panel = HistoryPanel(self.history, self.loader)
        self.dock = QDockWidget("History", window, objectName="historyDock")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        window.installEventFilter(self)  # the dock's first width depends on the window's, known when it shows
        self._first_width = True  # False once the layout saved last time is restored
        self._answers = _Answers(self)
        self._picks = 0
        self._following: str | None = None  # a result picked in the strip, to select once the gallery lists it

        panel, history = self.panel, self.history
        panel.picked.connect(self.show_over_canvas)
        panel.use_as_input.connect(lambda path: window.canvas.open_file(path))
        panel.restore_recipe.connect(self.restore_recipe)
        panel.copy_image.connect(self.copy_image)
        panel.notice.connect(lambda text: window.status.showMessage(text, 5000))
        history.trashed.connect(self._trashed)
        history.error.connect(window.show_error)
        history.entries_changed.connect(self._select_followed)
        window.session.results_changed.connect(lambda results: history.add(r.path for r in results))
        window.results_strip.picked.connect(self.follow)
        window.closed.connect(self.close)
        history.start()

    def eventFilter(self, watched, event) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Show:
            self._window.removeEventFilter(self)
            if not self._first_width:
                return False
            # Two columns of thumbnails (and the scroll bar) where there is room, one on a small screen.
            columns = 2 if self._window.width() >= WIDE_WINDOW else 1
            width = columns * self.panel.view.gridSize().width() + 40
            self._window.resizeDocks([self.dock], [width], Qt.Orientation.Horizontal)
        return False

    def keep_restored_width(self) -> None:
        """The window restored the docks as they were: the gallery keeps that width."""
        self._first_width = False

    def close(self) -> None:
        self.history.close()
        self.loader.close()

    # -- the gallery and the window's result ------------------------------------------------------------------
    def show_over_canvas(self, path: Path) -> None:
        """Show the output ``path`` over the canvas, as a result (decoded in the background; the newest pick wins)."""
        shown = self._window.shown_result()
        if shown is not None and shown.path == path:
            return  # already there (a result just picked in the strip)
        self._picks += 1
        pick = self._picks

        def then(value) -> None:
            if pick != self._picks:
                return
            if not isinstance(value, StudioError):
                self._window.show_result(value)
            elif path.exists():  # one that is gone (just moved to the trash) leaves the gallery anyway
                self._window.show_error(str(value))

        self._answers.off_thread(lambda: load_result(path), then, "history-show")

    def follow(self, result: Result) -> None:
        """The strip's pick becomes the gallery's current image (once the gallery lists the new file)."""
        self._following = result.path.name
        self._select_followed()

    def _select_followed(self, _entries=None) -> None:
        if self._following is not None and self.panel.select(self._following):
            self._following = None

    # -- actions ---------------------------------------------------------------------------------------------
    def restore_recipe(self, path: Path) -> None:
        def then(value) -> None:
            if isinstance(value, StudioError):
                self._window.show_error(str(value))
            elif value is None:
                self._window.show_error(f"{path.name} carries no prompt and settings to restore.")
            else:
                self._window.apply_recipe(value.recipe, value.skipped)

        self._answers.off_thread(lambda: read_checked_recipe(path), then, "history-recipe")

    def copy_image(self, path: Path) -> None:
        def then(value) -> None:
            if isinstance(value, StudioError):
                self._window.show_error(str(value))
            else:  # a PNG goes as its own bytes (with its recipe); other files as pixels
                self._window.menus.export.copy(value if path.suffix.lower() == ".png" else value.image)

        self._answers.off_thread(lambda: load_result(path), then, "history-copy")

    def _trashed(self, count: int) -> None:
        self._window.message_bar.show_message(
            f"Moved {count} image{'s' if count != 1 else ''} to the system trash.", "info",
            ("Undo", self.history.undo_trash))
