"""Model downloads for the window: one at a time, in a daemon thread, reported through signals.

The thread emits the signals; Qt queues them to the GUI thread's receivers. A download is only ever a ``.part``
file until it is complete and checked (``core.downloads``), so the process may exit mid-way (the thread is a
daemon) and the next download of the same file resumes.
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, Signal

from studio.core.cancel import CancelToken
from studio.core.download_source import parse_source
from studio.core.downloads import DownloadCancelled, hub_token
from studio.core.errors import StudioError
from studio.core.model_folders import ModelKind
from studio.core.paths import models_dir
from studio.core.repo_download import download_model
from studio.session.observable import observable

log = logging.getLogger(__name__)


class ModelDownloads(QObject):
    progress = Signal(object)  # core.downloads.DownloadProgress
    finished = Signal(object)  # core.downloads.DownloadResult
    failed = Signal(str)  # one sentence
    cancelled = Signal()
    busy_changed = Signal(bool)
    _ended = Signal()

    busy = observable(False)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = CancelToken()
        self._ended.connect(self._on_ended)

    def start(self, text: str, kind: ModelKind, name: str = "") -> bool:
        """Start downloading what ``text`` names into the ``kind`` folder; False (and :attr:`failed`) when
        ``text`` names nothing downloadable or a download is running."""
        if self.busy:
            self.failed.emit("A download is running already: wait for it, or cancel it.")
            return False
        try:
            source = parse_source(text)
        except StudioError as exc:
            self.failed.emit(str(exc))
            return False
        self._cancel = cancel = CancelToken()
        self.busy = True
        folder = models_dir() / kind.value

        def work() -> None:
            try:
                result = download_model(source, folder, kind=kind, name=name.strip() or None, cancel=cancel,
                                        on_progress=self._emit_progress, token=hub_token())
            except DownloadCancelled:
                self._emit(self.cancelled)
            except StudioError as exc:
                log.info("Download of %s refused: %s", source.label, exc)
                self._emit(self.failed, str(exc))
            except Exception as exc:  # noqa: BLE001 - a bug: one sentence for the user, the traceback in the log
                log.exception("Download of %s failed", source.label)
                self._emit(self.failed, f"The download failed unexpectedly ({type(exc).__name__}); details in the log.")
            else:
                self._emit(self.finished, result)
            self._emit(self._ended)

        threading.Thread(target=work, name="model-download", daemon=True).start()
        return True

    def cancel(self) -> None:
        self._cancel.cancel()

    def _emit_progress(self, progress) -> None:
        self._emit(self.progress, progress)

    @staticmethod
    def _emit(signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:
            pass  # the window (and this object) is gone: nobody is listening

    def _on_ended(self) -> None:
        self.busy = False
