"""The window's handle on the PyTorch set-up: looking at the machine runs in a daemon thread, the install in an
``InstallTask`` (progress, cancel); their outcome comes back as signals on the GUI thread."""

from functools import partial

from PySide6.QtCore import QObject, Signal

from studio.session.install_task import InstallTask
from studio.session.tasks import TaskSet, in_daemon_thread
from studio.setup import procedure
from studio.setup.builds import Build


class TorchSetup(QObject):
    looked = Signal(object)  # Situation

    def __init__(self, parent: QObject | None = None, *, look=procedure.look, install=procedure.set_up) -> None:
        """``look`` and ``install`` are the real set-up's; tests pass fakes for pure UI behaviour. The install's
        outcome (a ``procedure.SetUp``) and progress are ``install_task``'s signals."""
        super().__init__(parent)
        self._look = look
        self._install = install
        self._tasks = TaskSet()
        self.install_task = InstallTask("The PyTorch set-up", self)
        self.situation: procedure.Situation | None = None

    @property
    def installing(self) -> bool:
        return self.install_task.running

    def look(self) -> None:
        self._tasks.spawn(self._run_look())

    async def _run_look(self) -> None:
        self.situation = await in_daemon_thread(self._look)
        self.looked.emit(self.situation)

    def install(self, build: Build, *, openvino: bool = False) -> None:
        """Install ``build``, then OpenVINO when ``openvino`` (its failure leaves the build installed)."""
        if self.situation is not None:
            self.install_task.start(partial(self._install, build, self.situation.hardware, openvino=openvino))

    def cancel(self) -> None:
        self.install_task.cancel()

    def keep_current(self) -> None:
        if self.situation is not None and self.situation.installed is not None:
            procedure.keep_current(self.situation.installed)

    def shutdown(self) -> None:
        self.install_task.shutdown()
        self._tasks.cancel_all()
