"""The session: observable state the window binds to, and the one engine thread it drives.

State changes only on the GUI thread. Model downloads, preparing the canvas image and saving run as asyncio
tasks on the qasync loop (their blocking parts in threads); inference runs in the engine thread. A generation
stays "busy" until its images are on disk, so nothing a user generated is ever shown, or lost, before it is saved.
"""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Signal
from PySide6.QtGui import QImage

from studio.core.engine_options import EngineOptions
from studio.core.errors import StudioError
from studio.core.events import Finished
from studio.core.jobs import ImageJob
from studio.core.metadata import read_checked_recipe
from studio.core.model_info import ModelFamily, ModelInfo
from studio.core.request import GenerationRequest, check_strength
from studio.core.steps import StepPlan
from studio.core.sources import is_hub_id
from studio.session.canvas_job import prepare_job
from studio.session.hub import download_model
from studio.session.observable import observable
from studio.session.progress import ProgressClock
from studio.session.results import save_results
from studio.session.tasks import TaskSet, in_daemon_thread
from studio.workers.engine_thread import EngineThread
from studio.workers.engine_worker import RefineJob

log = logging.getLogger(__name__)


class ModelState(Enum):
    NONE = "none"
    DOWNLOADING = "downloading"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class Outcome(Enum):
    """How a generation that started ended."""

    SAVED = "saved"
    CANCELLED = "cancelled"
    FAILED = "failed"


class Session(QObject):
    model_state_changed = Signal(object)
    model_source_changed = Signal(str)
    model_info_changed = Signal(object)
    status_changed = Signal(str)
    busy_changed = Signal(bool)
    progress_changed = Signal(object)
    results_changed = Signal(object)
    last_seed_changed = Signal(object)
    preview_box_changed = Signal(object)
    preview = Signal(QImage)  # one per denoising step
    recipe_found = Signal(str, object)  # an image file and the CheckedRecipe it carries
    model_loaded = Signal(object)  # the ModelInfo of a model that has just loaded (not of one kept after a failure)
    model_failed = Signal(str)  # the source of a model that could not be loaded
    upscaled = Signal(QImage)  # an image upscaled by an upscaler model
    cancelled = Signal()
    generation_ended = Signal(object, str)  # once per generate() that started: Outcome, and the sentence if it failed
    error = Signal(str)  # one sentence for the user; the log has the details
    notice = Signal(str)  # one line about a running generation (a conversion, a fallback to PyTorch)

    model_state = observable(ModelState.NONE)
    model_source = observable("")
    model_info = observable(None)  # ModelInfo | None
    status = observable("No model: choose one in the model list, or download one (Models > Get a model…).")
    busy = observable(False)
    progress = observable(None)  # Progress | None
    results = observable(())  # tuple[Result, ...] of the last finished generation
    last_seed = observable(None)  # int | None
    # The part of the canvas image being generated, (left, top, right, bottom); None for text-to-image.
    preview_box = observable(None)

    def __init__(self, make_engine: Callable[[], object], parent: QObject | None = None) -> None:
        """``make_engine`` builds the engine; it is called in the engine thread on the first model load."""
        super().__init__(parent)
        self._engine = EngineThread(make_engine, self)
        self._tasks = TaskSet()
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="save")
        self._loading: asyncio.Task | None = None  # a download that will be followed by a load
        self._loads_queued = 0  # loads sent to the engine thread and not answered yet
        self._ready: tuple[str, ModelInfo] | None = None  # the model the engine holds: its source and info
        self._reloading = False  # loading the previous model again after a new one failed
        self._clock = ProgressClock()
        self._job: ImageJob | None = None  # the running generation: how its images go back into the canvas image
        self._steps: StepPlan | None = None  # the running generation's steps, as the user counts them
        self._cancel_requested = False  # cancelled while the canvas image was being prepared
        self._generating = False  # a generate() started and has not ended (busy may also mean an upscale)
        self._saving: Future | None = None  # the last generation's images being saved
        self._recipe_lookups = 0
        worker = self._engine.worker
        worker.loaded.connect(self._on_loaded)
        worker.load_failed.connect(self._on_load_failed)
        worker.step.connect(self._on_step)
        worker.finished.connect(self._on_finished)
        worker.cancelled.connect(self._on_cancelled)
        worker.failed.connect(self._on_failed)
        worker.upscale_progress.connect(self._on_upscale_progress)
        worker.upscaled.connect(self._on_upscaled)
        worker.notice.connect(self.notice)
        worker.refining.connect(self._on_refining)

    # -- questions the window asks ---------------------------------------------------------------
    def generate_blocker(self) -> str | None:
        """Why Generate cannot run now, in one sentence; None when it can."""
        if self.busy:
            return "A generation is running (Esc cancels it)."
        return self.model_blocker()

    def model_blocker(self) -> str | None:
        """Why no generation can run on the model now, in one sentence; None when one can."""
        return {
            ModelState.NONE: "Choose a model first.",
            ModelState.DOWNLOADING: "Wait for the model to finish downloading.",
            ModelState.LOADING: "Wait for the model to finish loading.",
            ModelState.FAILED: "The model could not be loaded; choose another one or try again.",
            ModelState.READY: None,
        }[self.model_state]

    # -- models ----------------------------------------------------------------------------------
    def load_model(self, source: str) -> None:
        source = source.strip()
        if not source or self.busy:
            return
        if self._loading is not None:
            self._loading.cancel()  # a newer choice wins over a download still running
            self._loading = None
        self._reloading = False
        self.model_source = source
        self.model_info = None
        if is_hub_id(source):
            self._set_model_state(ModelState.DOWNLOADING, f"Downloading {source} from the Hugging Face hub...")
            self._loading = self._tasks.spawn(self._download_then_load(source))
        else:
            self._start_load(source)

    async def _download_then_load(self, source: str) -> None:
        try:
            await in_daemon_thread(download_model, source)
        except StudioError as exc:
            self._load_failed(str(exc))
        else:
            self._start_load(source)

    def _start_load(self, source: str) -> None:
        self._loading = None
        self._loads_queued += 1
        self._set_model_state(ModelState.LOADING, f"Loading {_display_name(source)}...")
        self._engine.load(source)

    def _last_load_done(self) -> bool:
        """Count a finished load; False while a newer one is still queued (this one's outcome no longer matters)."""
        self._loads_queued -= 1
        return self._loads_queued == 0

    def _on_loaded(self, info: ModelInfo) -> None:
        if not self._last_load_done():
            return
        self._ready = (self.model_source, info)
        self._set_ready(info)
        if not self._reloading:  # the failure that caused a reload stays on screen
            self.model_loaded.emit(info)
        self._reloading = False

    def _on_load_failed(self, message: str, still_loaded: ModelInfo | None) -> None:
        if not self._last_load_done():
            return
        if still_loaded is None and self._ready is not None:
            # The new model passed the cheap checks, so the engine let the previous one go: load that one again.
            previous, info = self._ready
            self._ready = None
            failed = self.model_source
            self.model_source = previous
            self.model_info = None
            self._reloading = True
            self._start_load(previous)
            self.error.emit(f"{message} Loading {info.name} again.")
            self.model_failed.emit(failed)
            return
        self._load_failed(message)

    def _load_failed(self, message: str) -> None:
        """The previous model stays in use when the engine still holds it; else there is no model."""
        failed = self.model_source
        if self._ready is not None:
            source, info = self._ready
            self.model_source = source
            self._set_ready(info)
            self.error.emit(f"{message} {info.name} is still loaded.")
        else:
            self.model_source = ""
            self._set_model_state(ModelState.FAILED, "Model not loaded.")
            self.error.emit(message)
        self.model_failed.emit(failed)

    def _set_ready(self, info: ModelInfo) -> None:
        self.model_info = info
        parts = [info.name, info.family.label, info.device] + ([info.memory.plan.label] if info.memory else [])
        self._set_model_state(ModelState.READY, " · ".join(parts))

    def _set_model_state(self, state: ModelState, status: str) -> None:
        self.status = status
        self.model_state = state

    def set_engine_options(self, options: EngineOptions) -> None:
        """What runs the UNet and VAE, and how, from the next generation on (the Engine menu)."""
        for field in fields(options):
            self._engine.set_option(field.name, getattr(options, field.name))

    def set_memory_plan(self, choice: str) -> None:
        """Where a model's weights live (``core.memory_plan.PLAN_CHOICES``); a loaded model loads again with it
        (after the running generation, if any: then it applies from the next load)."""
        self._engine.set_option("memory_plan", choice)
        if self.model_state is ModelState.READY and not self.busy:
            self.load_model(self.model_source)

    # -- generating ------------------------------------------------------------------------------
    def generate(self, request: GenerationRequest, source: QImage | None = None, mask: QImage | None = None, *,
                 only_masked: bool = False, padding: int = 32) -> bool:
        """Start ``request``; False (with an ``error`` when the request is bad) if it cannot start now.

        With a canvas image ``source`` (and a Grayscale8 ``mask``) the request is fitted to the model first,
        off the GUI thread (see :func:`studio.core.jobs.image_job`), and the results are saved at the
        source's resolution.
        """
        if self.generate_blocker() is not None:
            return False
        request = request.with_concrete_seed()
        try:
            request.validate()
        except StudioError as exc:
            self.error.emit(str(exc))
            return False
        self.last_seed = request.seed
        self.progress = None
        self._cancel_requested = False
        self._clock.start()
        self._generating = True
        self.busy = True
        native = (self.model_info.family if self.model_info else ModelFamily.SD1).native_size
        preparing = self._io.submit(
            prepare_job, request, source, mask, native=native, only_masked=only_masked, padding=padding,
            grid=self.model_info.controls.size_multiple if self.model_info else 8,
        )
        self._tasks.spawn(self._start(preparing))
        return True

    async def _start(self, preparing) -> None:
        try:
            job = await asyncio.wrap_future(preparing)
            job.request.validate()
        except StudioError as exc:
            self._on_failed(str(exc))
            return
        except Exception as exc:
            log.exception("Preparing the canvas image failed")
            self._on_failed(f"The canvas image could not be prepared ({type(exc).__name__}); details are in the log.")
            return
        if self._cancel_requested:
            self._on_cancelled()
            return
        self._job = job
        self._steps = StepPlan.of(job.request)
        self.preview_box = job.region.box if job.region is not None else None
        self._engine.generate(job.request)

    def cancel(self) -> None:
        if self.busy:
            self._cancel_requested = True
            self._engine.cancel()

    def _on_step(self, step: int, total: int, image: QImage) -> None:
        self.progress = self._clock.update(step, total, self._steps)
        self.preview.emit(image)

    def _on_finished(self, finished: Finished) -> None:
        # Submitted now, not when the task first runs, so that shutdown() can wait for it.
        self._saving = saving = self._io.submit(save_results, finished, self._job)
        self._tasks.spawn(self._publish(saving))

    async def _publish(self, saving) -> None:
        try:
            results = await asyncio.wrap_future(saving)
        except asyncio.CancelledError:
            raise  # only shutdown() cancels: it waits for the file itself, and the session is going away
        except Exception as exc:
            log.exception("Saving the result failed")
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            message = f"The result could not be saved to the outputs folder ({reason}); details are in the log."
            self.error.emit(message)
            self._end_generation(Outcome.FAILED, message)
        else:
            self.results = tuple(results)
            if results:
                self.last_seed = results[0].recipe.seed
            self._end_generation(Outcome.SAVED)
        self.busy = False

    def _on_cancelled(self) -> None:
        self.busy = False
        self.progress = None
        self.cancelled.emit()
        self._end_generation(Outcome.CANCELLED)

    def _on_failed(self, message: str) -> None:
        self.busy = False
        self.progress = None
        self.error.emit(message)
        self._end_generation(Outcome.FAILED, message)

    def _end_generation(self, outcome: Outcome, message: str = "") -> None:
        if self._generating:  # not an upscale, which shares the worker's cancelled and failed answers
            self._generating = False
            self.generation_ended.emit(outcome, message)

    # -- upscaling with a model -------------------------------------------------------------------
    def upscale(self, image: QImage, upscaler: str, scale: float = 0.0, refine: RefineJob | None = None) -> bool:
        """Upscale ``image`` in the engine thread (progress per tile, Esc cancels); ``upscaled`` brings it back.

        With ``refine`` (a request and its tiling) the loaded model then refines the upscaled picture in tiles,
        with step progress and previews, and the result is saved and published like a generation's.
        """
        if self.busy:
            return False
        if refine is not None:
            request, tiling = refine
            try:
                if self.model_state is not ModelState.READY:
                    raise StudioError("Refining needs a loaded model; choose one first.")
                tiling.validate()
                request = request.with_concrete_seed()
                request.validate()
                check_strength(request.strength, request.steps)
            except StudioError as exc:
                self.error.emit(str(exc))
                return False
            refine = (request, tiling)
            self.last_seed = request.seed
            self._job = ImageJob(request=request)
        self.progress = None
        self._cancel_requested = False
        self._clock.start()
        self.busy = True
        self._engine.upscale(QImage(image), upscaler, scale, refine)
        return True

    def _on_refining(self, tiles: int) -> None:
        self.progress = None
        self._clock.start()  # the rate and ETA count refining steps, not the upscale before them
        self._steps = StepPlan.tiled(self._job.request, tiles)
        self.preview_box = None

    def _on_upscale_progress(self, done: int, total: int) -> None:
        self.progress = self._clock.update(done, total)

    def _on_upscaled(self, image: QImage) -> None:
        self.busy = False
        self.progress = None
        self.upscaled.emit(image)

    # -- images brought in -----------------------------------------------------------------------
    def look_for_recipe(self, path: str) -> None:
        """Read the generation recipe ``path`` may carry, off the GUI thread (a PNG whose text comes after its
        pixels is decoded whole) and off the saving thread (results never wait for a crafted file's metadata);
        ``recipe_found`` if there is one. Only the newest lookup reports."""
        self._recipe_lookups += 1
        self._tasks.spawn(self._read_recipe(path, self._recipe_lookups))

    async def _read_recipe(self, path: str, lookup: int) -> None:
        try:
            checked = await in_daemon_thread(read_checked_recipe, path)
        except StudioError as exc:  # the image itself was readable, so there is nothing worth telling
            log.info("No recipe read from %s: %s", path, exc)
            return
        if checked is not None and lookup == self._recipe_lookups:
            self.recipe_found.emit(path, checked)

    # -- the end ---------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Cancel a running generation, stop the engine thread, and finish saving what was generated."""
        self._tasks.cancel_all()
        self._engine.stop()
        # Results the worker sent just before it stopped are still queued for us: take them now so they get saved.
        QCoreApplication.sendPostedEvents(self, QEvent.Type.MetaCall)
        self._io.shutdown(wait=True)
        if self._saving is not None and self._saving.exception() is None:
            self._end_generation(Outcome.SAVED)  # saved just now: say so, the event loop may not publish it


def _display_name(source: str) -> str:
    return Path(source).name or source
