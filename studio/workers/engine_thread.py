"""The GUI's handle on the engine thread: start it, send it work, cancel, and stop it cleanly.

Requests cross to the worker through queued signals. Cancelling does not: the worker's event loop is busy
inside the pipeline, so a queued "cancel" would only arrive after the generation ended. Instead the handle
sets the request's thread-safe :class:`CancelToken`, which the engine polls inside every UNet block.
"""

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtGui import QImage

from studio.core.cancel import CancelToken
from studio.core.request import GenerationRequest
from studio.workers.engine_worker import EngineWorker, RefineJob

log = logging.getLogger(__name__)


class EngineThread(QObject):
    _load_requested = Signal(str)
    _generate_requested = Signal(object, object)
    _upscale_requested = Signal(QImage, str, float, object, object)
    _option_requested = Signal(str, object)

    def __init__(self, make_engine: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("engine")
        self.worker = EngineWorker(make_engine)
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.name_thread)
        self._load_requested.connect(self.worker.load)
        self._generate_requested.connect(self.worker.generate)
        self._upscale_requested.connect(self.worker.upscale)
        self._option_requested.connect(self.worker.set_option)
        self._token: CancelToken | None = None
        self._thread.start()

    def load(self, source: str) -> None:
        self._load_requested.emit(source)

    def generate(self, request: GenerationRequest) -> None:
        self._token = CancelToken()
        self._generate_requested.emit(request, self._token)

    def upscale(self, image: QImage, upscaler: str, scale: float, refine: RefineJob | None = None) -> None:
        self._token = CancelToken()
        self._upscale_requested.emit(image, upscaler, scale, refine, self._token)

    def set_option(self, name: str, value) -> None:
        """An engine setting (``backend``, ``memory_plan``), in order with the loads and generations sent."""
        self._option_requested.emit(name, value)

    def cancel(self) -> None:
        """Stop the running (or queued) generation within one UNet block; callable from the GUI thread."""
        if self._token is not None:
            self._token.cancel()

    def stop(self) -> None:
        """Cancel any generation, let the worker return to its event loop, end the thread and wait for it."""
        if not self._thread.isRunning():
            return
        self.cancel()
        self._thread.quit()
        if not self._thread.wait(2000):
            log.info("Waiting for the engine thread to finish its current task (a model load cannot be interrupted)")
            self._thread.wait()
