"""The engine's side of the thread boundary: loads models, runs generations and upscales, reporting through signals.

The worker lives in the engine thread, so its slots run there and may block for as long as inference takes.
``make_engine`` is called on the first load, in that thread: importing the engine (and torch) happens there,
never at start-up. It is given by the composition root, so this layer does not import the engine itself.
"""

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import replace

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.events import StepUpdate
from studio.core.request import GenerationRequest
from studio.core.tiles import TiledRefine, refine_grid
from studio.workers.images import array_to_qimage, pil_to_qimage, qimage_to_pil

log = logging.getLogger(__name__)

RefineJob = tuple[GenerationRequest, TiledRefine]  # the prompt and settings, and the tiles


class EngineWorker(QObject):
    loaded = Signal(object)  # ModelInfo
    load_failed = Signal(str, object)  # one sentence, and the ModelInfo still loaded (None when none is)
    step = Signal(int, int, QImage)  # steps done, total, preview
    finished = Signal(object)  # studio.core.events.Finished (images not saved yet)
    cancelled = Signal()
    failed = Signal(str)
    upscale_progress = Signal(int, int)  # tiles done, tiles in all
    upscaled = Signal(QImage)
    notice = Signal(str)  # one line for the user during a run: a conversion under way, a fallback to PyTorch
    refining = Signal(int)  # an upscaled picture is being refined in this many tiles (steps and finished follow)

    def __init__(self, make_engine: Callable[[], object]) -> None:
        super().__init__()
        self._make_engine = make_engine
        self._engine = None
        self._options: dict[str, object] = {}  # engine settings chosen in the window (backend, memory_plan)

    @Slot()
    def name_thread(self) -> None:
        """Log records from this thread say "engine" (Python sees a QThread as an anonymous "Dummy" thread)."""
        threading.current_thread().name = "engine"

    @Slot(str)
    def load(self, source: str) -> None:
        try:
            if self._engine is None:
                self._engine = self._make_engine()
                for name, value in self._options.items():
                    setattr(self._engine, name, value)
            info = self._engine.load(source)
        except StudioError as exc:
            log.warning("Loading %s failed: %s", source, exc)
            self.load_failed.emit(str(exc), self._still_loaded())
        except Exception as exc:  # a bug or an unforeseen library error: one sentence here, details in the log
            log.exception("Loading %s failed", source)
            self.load_failed.emit(
                f"Loading '{source}' failed unexpectedly ({type(exc).__name__}); details are in the log.",
                self._still_loaded(),
            )
        else:
            self.loaded.emit(info)

    @Slot(str, object)
    def set_option(self, name: str, value) -> None:
        """An engine setting from now on: ``backend`` ("torch" or "openvino", from the next generation),
        ``memory_plan`` (from the next load)."""
        self._options[name] = value
        if self._engine is not None:
            setattr(self._engine, name, value)

    def _still_loaded(self):
        return None if self._engine is None else self._engine.info

    @Slot(object, object)
    def generate(self, request: GenerationRequest, cancel: CancelToken) -> None:
        with self._answering("The generation"):
            if cancel.cancelled:  # cancelled while this request waited in the queue
                raise GenerationCancelled()
            if self._engine is None:
                raise StudioError("No model is loaded yet; choose a model first.")
            result = self._engine.generate(request, on_step=self._report_step, cancel=cancel,
                                           on_notice=self.notice.emit)
            self.finished.emit(result)

    @Slot(QImage, str, float, object, object)
    def upscale(self, image: QImage, upscaler: str, scale: float, refine: RefineJob | None,
                cancel: CancelToken) -> None:
        """``image`` upscaled by an upscaler model or a built-in resizer (``scale`` 0: the model's own); needs no
        diffusion model. With ``refine`` (a request and its tiling) the upscaled picture is then refined in tiles
        by the loaded model, and answered like a generation (``refining``, steps, ``finished``)."""
        with self._answering("Upscaling"):
            if cancel.cancelled:
                raise GenerationCancelled()
            if self._engine is None:
                self._engine = self._make_engine()
            if refine is not None and self._engine.info is None:
                raise StudioError("Refining needs a loaded model; choose one first.")
            source = qimage_to_pil(image)
            result = self._engine.upscalers.upscale(source, upscaler, scale=scale or None,
                                                    on_progress=self.upscale_progress.emit, cancel=cancel)
            if refine is None:
                self.upscaled.emit(pil_to_qimage(result))
                return
            request, tiling = refine
            tiling = replace(tiling.sized(self._engine.info.family.native_size),
                             scale=round(result.width / source.width, 4))
            self.refining.emit(len(refine_grid(result.width, result.height, tiling)))
            self.finished.emit(self._engine.refine(result, request, tiling, on_step=self._report_step, cancel=cancel,
                                                    on_notice=self.notice.emit))

    @contextmanager
    def _answering(self, job: str):
        """Answer every way a job's body can end but success: cancelled, refused with one sentence, or failed
        unexpectedly (details in the log)."""
        try:
            yield
        except GenerationCancelled:
            self.cancelled.emit()
        except StudioError as exc:
            log.warning("%s failed: %s", job, exc)
            self.failed.emit(str(exc))
        except Exception as exc:
            log.exception("%s failed", job)
            self.failed.emit(f"{job} failed unexpectedly ({type(exc).__name__}); details are in the log.")

    def _report_step(self, update: StepUpdate) -> None:
        self.step.emit(update.step, update.total, array_to_qimage(update.preview))
