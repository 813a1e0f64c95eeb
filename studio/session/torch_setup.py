"""The window's handle on the PyTorch set-up: looking at the machine and installing run in daemon threads,
their outcome comes back as signals on the GUI thread."""

import logging
import threading

from PySide6.QtCore import QObject, Signal

from studio.core.errors import StudioError
from studio.session.tasks import TaskSet, in_daemon_thread
from studio.setup import procedure
from studio.setup.builds import Build
from studio.setup.installer import SetupCancelled

log = logging.getLogger(__name__)


class TorchSetup(QObject):
    looked = Signal(object)  # Situation
    progress = Signal(object)  # installer.Progress, from the install thread (delivered queued)
    installed = Signal(object)  # verify.Verified
    failed = Signal(str)  # one sentence
    cancelled = Signal()

    def __init__(self, parent: QObject | None = None, *, look=procedure.look, install=procedure.install) -> None:
        """``look`` and ``install`` are the real set-up's; tests pass fakes for pure UI behaviour."""
        super().__init__(parent)
        self._look = look
        self._install = install
        self._tasks = TaskSet()
        self._cancel: threading.Event | None = None
        self.situation: procedure.Situation | None = None

    @property
    def installing(self) -> bool:
        return self._cancel is not None

    def look(self) -> None:
        self._tasks.spawn(self._run_look())

    async def _run_look(self) -> None:
        self.situation = await in_daemon_thread(self._look)
        self.looked.emit(self.situation)

    def install(self, build: Build) -> None:
        if self.installing or self.situation is None:
            return
        self._cancel = threading.Event()
        self._tasks.spawn(self._run_install(build, self._cancel))

    async def _run_install(self, build: Build, cancel: threading.Event) -> None:
        try:
            verified = await in_daemon_thread(self._install_build, build, cancel)
        except SetupCancelled:
            self.cancelled.emit()
        except StudioError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug: one sentence here, the traceback in the log
            log.exception("The PyTorch set-up failed")
            self.failed.emit(f"The set-up failed unexpectedly ({type(exc).__name__}); details in the log.")
        else:
            self.installed.emit(verified)
        finally:
            self._cancel = None

    def _install_build(self, build: Build, cancel: threading.Event):
        return self._install(build, self.situation.hardware, on_progress=self.progress.emit, cancel=cancel)

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def keep_current(self) -> None:
        if self.situation is not None and self.situation.installed is not None:
            procedure.keep_current(self.situation.installed)

    def shutdown(self) -> None:
        self.cancel()
        self._tasks.cancel_all()
