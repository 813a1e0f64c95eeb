"""One install at a time (the PyTorch set-up, OpenVINO) in a daemon thread: its progress and its outcome come back
as signals on the GUI thread, and cancel asks it to stop (uv's short linking step does not stop)."""

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from studio.core.errors import StudioError
from studio.session.tasks import TaskSet, in_daemon_thread
from studio.setup.installer import SetupCancelled

log = logging.getLogger(__name__)

Install = Callable[..., object]  # install(on_progress=..., cancel=...) -> what it installed


class InstallTask(QObject):
    progress = Signal(object)  # installer.Progress, from the install thread (delivered queued)
    done = Signal(object)  # what the install returned
    failed = Signal(str)  # one sentence
    cancelled = Signal()

    def __init__(self, what: str, parent: QObject | None = None) -> None:
        """``what`` names the install in the sentence for an unexpected failure ("The OpenVINO install")."""
        super().__init__(parent)
        self._what = what
        self._tasks = TaskSet()
        self._cancel: threading.Event | None = None

    @property
    def running(self) -> bool:
        return self._cancel is not None

    def start(self, install: Install) -> bool:
        """Run ``install(on_progress=..., cancel=...)``; False when one is already running."""
        if self.running:
            return False
        self._cancel = threading.Event()
        self._tasks.spawn(self._run(install, self._cancel))
        return True

    async def _run(self, install: Install, cancel: threading.Event) -> None:
        try:
            result = await in_daemon_thread(lambda: install(on_progress=self.progress.emit, cancel=cancel))
        except Exception as exc:  # SetupCancelled too
            self._cancel = None  # before the signal: its slot may start the next try
            self._report(exc)
        else:
            self._cancel = None
            self.done.emit(result)

    def _report(self, exc: Exception) -> None:
        if isinstance(exc, SetupCancelled):
            self.cancelled.emit()
        elif isinstance(exc, StudioError):
            self.failed.emit(str(exc))
        else:  # a bug: one sentence here, the traceback in the log
            log.error("%s failed", self._what, exc_info=exc)
            self.failed.emit(f"{self._what} failed unexpectedly ({type(exc).__name__}); details in the log.")

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def shutdown(self) -> None:
        self.cancel()
        self._tasks.cancel_all()
