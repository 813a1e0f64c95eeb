"""The generation queue: jobs wait their turn, run one at a time through the session, and survive a restart.

A job is a snapshot taken when it is queued: the request with its seed chosen, and the canvas image and mask
of that moment, so editing the canvas afterwards never changes what a waiting job makes. When the running job
ends the next waiting one starts, unless the queue is paused. A job that fails keeps its row with the sentence
why (it can be retried) and the queue goes on; a cancelled job leaves the queue, which then pauses so that
nothing else starts by surprise. A job runs with the model it was queued with: when another one is loaded by
then, the queue loads the job's model first (a job whose model cannot be loaded fails with the sentence why).
The list is written on every change (:mod:`studio.core.queue_store`, in a
thread of its own) and comes back paused on the next start.
"""

import logging
import secrets
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QImage

from studio.core.errors import StudioError
from studio.core.queue_store import QueueStore, StoredJob
from studio.core.request import MAX_SEED, GenerationRequest, Mode
from studio.session.observable import observable
from studio.session.progress import Progress
from studio.session.session import ModelState, Outcome, Session
from studio.workers.images import qimage_to_png

log = logging.getLogger(__name__)

THUMBNAIL = 96  # pixels on the longer side of a job's source thumbnail
MAX_RUNS = 100  # jobs one Generate may queue ("run N times")


class JobState(Enum):
    WAITING = "waiting"
    RUNNING = "running"
    FAILED = "failed"


@dataclass(eq=False)
class QueuedJob:
    """One job in the queue (GUI thread only). ``source`` and ``mask`` are the canvas snapshots it runs from."""

    id: str
    request: GenerationRequest  # its seed chosen
    source: QImage | None = None  # RGB32; None for text-to-image
    mask: QImage | None = None  # Grayscale8, the source's size
    only_masked: bool = False
    padding: int = 32
    state: JobState = JobState.WAITING
    failure: str = ""  # why its last run failed
    progress: Progress | None = None  # while it runs
    thumbnail: QImage | None = None  # of the source
    model: str = ""  # the model source it was queued with; "" runs with whichever is loaded

    @property
    def mode(self) -> Mode:
        """What it makes: its request has no images yet (they are fitted to the model when it starts)."""
        if self.source is None:
            return Mode.TEXT_TO_IMAGE
        return Mode.INPAINT if self.mask is not None else Mode.IMAGE_TO_IMAGE

    def stored(self) -> StoredJob:
        snapshots = tuple(kind for kind, image in (("source", self.source), ("mask", self.mask)) if image is not None)
        return StoredJob(self.id, self.request, snapshots, self.only_masked, self.padding, self.failure, self.model)


class JobQueue(QObject):
    job_inserted = Signal(int)  # row
    job_removed = Signal(int)  # row
    job_moved = Signal(int, int)  # the row it was at, the row it is at now
    job_changed = Signal(int)  # row: its state, failure or progress
    paused_changed = Signal(bool)
    error = Signal(str)  # one sentence: a request refused, or the list could not be written (once per run of failures)

    paused = observable(False)

    def __init__(self, session: Session, store: QueueStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._store = store
        self._jobs: list[QueuedJob] = []
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="queue")
        self._failing = False
        self._closing = False  # the window is closing: nothing starts, a job cancelled by the shutdown stays
        self._closed = False
        self._loading_for: QueuedJob | None = None  # the waiting job whose model the queue is loading
        session.generation_ended.connect(self._ended)
        session.progress_changed.connect(self._progress)
        session.busy_changed.connect(lambda busy: busy or self._start_next())
        session.model_state_changed.connect(lambda _: self._start_next())
        session.model_failed.connect(self._model_failed)

    # -- what the panel shows ------------------------------------------------------------------
    @property
    def jobs(self) -> tuple[QueuedJob, ...]:
        return tuple(self._jobs)

    def running(self) -> QueuedJob | None:
        return next((job for job in self._jobs if job.state is JobState.RUNNING), None)

    def waiting(self) -> int:
        return sum(job.state is JobState.WAITING for job in self._jobs)

    # -- the artist's commands -----------------------------------------------------------------
    def add(self, request: GenerationRequest, source: QImage | None = None, mask: QImage | None = None, *,
            only_masked: bool = False, padding: int = 32, runs: int = 1, first: bool = False) -> bool:
        """Queue ``runs`` jobs of ``request`` (successive seeds: each run goes on where the last one's batch
        ended); False, with an ``error``, when the request is bad. ``first`` puts them ahead of
        the waiting jobs. With nothing running, the first of them starts at once, even in a paused queue."""
        try:
            request.validate()
        except StudioError as exc:
            self.error.emit(str(exc))
            return False
        request = request.with_concrete_seed()
        thumbnail = _thumbnail(source)
        jobs = [
            QueuedJob(_new_id(), replace(request, seed=(request.seed + run * request.batch_size) % (MAX_SEED + 1)),
                      source, mask, only_masked, padding, thumbnail=thumbnail, model=self._session.model_source)
            for run in range(max(1, min(runs, MAX_RUNS)))
        ]
        now = self.running() is None
        if now and not self.waiting():
            self.paused = False  # nothing else would start by surprise
        row = self._front() if first or now else len(self._jobs)
        for offset, job in enumerate(jobs):
            self._jobs.insert(row + offset, job)
            self.job_inserted.emit(row + offset)
        self._io.submit(self._write_snapshots, [job.id for job in jobs], source, mask)
        self._save()
        if now:
            self._start(jobs[0])
        return True

    def move(self, row: int, to: int) -> bool:
        """Move the job at ``row`` so that it ends up at row ``to``."""
        if not (0 <= row < len(self._jobs) and 0 <= to < len(self._jobs)) or row == to:
            return False
        self._jobs.insert(to, self._jobs.pop(row))
        self.job_moved.emit(row, to)
        self._save()
        return True

    def remove(self, row: int) -> bool:
        """Take a waiting or failed job out of the queue (the running one is cancelled instead)."""
        if not 0 <= row < len(self._jobs) or self._jobs[row].state is JobState.RUNNING:
            return False
        self._drop(self._jobs[row])
        return True

    def retry(self, row: int) -> None:
        """A failed job waits again, where it is in the list; with nothing running it starts at once (like
        Generate, even in a paused queue)."""
        if 0 <= row < len(self._jobs) and self._jobs[row].state is JobState.FAILED:
            job = self._jobs[row]
            self._set_state(job, JobState.WAITING)
            self._save()
            if self.running() is None:
                self._start(job)

    def pause(self) -> None:
        """No job starts until :meth:`resume`; the running one finishes."""
        self.paused = True

    def resume(self) -> None:
        self.paused = False
        self._loading_for = None  # a load the artist superseded by choosing another model is tried again
        self._start_next()

    def cancel_running(self) -> None:
        """Cancel what the session runs (a queued job or an upscale); the queue pauses when it was a job."""
        if self.running() is not None:
            self.pause()
        self._session.cancel()

    # -- restoring and closing ------------------------------------------------------------------
    def restore(self) -> str | None:
        """The jobs left unfinished last time, paused; what came back and what could not (its files are kept),
        in a sentence or two for the window; None when the queue was empty."""
        loaded = self._store.load()
        lost = 0
        for stored in loaded.jobs:
            job = self._restored(stored)
            if job is None:
                self._store.disown(stored.id)
                lost += 1
                continue
            self._jobs.append(job)
            self.job_inserted.emit(len(self._jobs) - 1)
        notices = []
        if self._jobs:
            self.paused = True
            count = len(self._jobs)
            notices.append(f"{count} queued job{'s' if count > 1 else ''} came back, paused: Resume in the Queue "
                           "panel runs them.")
        if loaded.damaged:
            kept = f" and was set aside as {loaded.set_aside.name}" if loaded.set_aside else ""
            notices.append(f"The saved queue was damaged{kept}; it starts empty.")
        if lost:
            notices.append(f"{lost} queued job{'s' if lost > 1 else ''} could not be restored (canvas snapshots "
                           "missing or damaged); the queue folder keeps their files.")
        return " ".join(notices) or None

    def _restored(self, stored: StoredJob) -> QueuedJob | None:
        images: dict[str, QImage] = {}
        for kind, fmt in (("source", QImage.Format.Format_RGB32), ("mask", QImage.Format.Format_Grayscale8)):
            if kind in stored.snapshots:
                image = QImage.fromData(self._store.read_snapshot(stored.id, kind) or b"", "PNG")
                if image.isNull():
                    log.warning("The %s snapshot of the queued job %s cannot be read", kind, stored.id)
                    return None
                images[kind] = image.convertToFormat(fmt)
        source, mask = images.get("source"), images.get("mask")
        if mask is not None and (source is None or mask.size() != source.size()):
            log.warning("The mask snapshot of the queued job %s does not fit its source", stored.id)
            return None
        return QueuedJob(stored.id, stored.request, source, mask, stored.only_masked, stored.padding,
                         JobState.FAILED if stored.failure else JobState.WAITING, stored.failure,
                         thumbnail=_thumbnail(source), model=stored.model)

    def closing(self) -> None:
        """The window is closing (call before the session shuts down): nothing more starts, and the running
        job, which the shutdown cancels, stays queued unless the session says it was saved."""
        self._closing = True

    def close(self) -> None:
        """Write the list as it is (a running job comes back as waiting) and wait until it is on disk; later
        events change nothing."""
        if not self._closed:
            self._save()
            self._closed = True
            self._io.shutdown(wait=True)

    # -- running -------------------------------------------------------------------------------
    def _start_next(self) -> None:
        if self._closing or self._closed or self.paused or self.running() is not None:
            return
        job = next((job for job in self._jobs if job.state is JobState.WAITING), None)
        if job is not None:
            self._start(job)

    def _start(self, job: QueuedJob) -> None:
        if self._closing or self._closed or self._loading_model_of(job) or self._session.generate_blocker() is not None:
            return  # it waits for the model or an upscale
        try:
            job.request.validate()  # a restored job may have values this version does not take
        except StudioError as exc:
            self._fail(job, str(exc))
            self._start_next()
            return
        self._loading_for = None
        job.progress = None
        self._set_state(job, JobState.RUNNING)
        if not self._session.generate(job.request, job.source, job.mask, only_masked=job.only_masked,
                                      padding=job.padding):
            self._fail(job, "The job could not start; details are in the log.")

    def _loading_model_of(self, job: QueuedJob) -> bool:
        """True while ``job`` waits for its own model, which this starts loading when the session is free."""
        session = self._session
        if not job.model or job.model == session.model_source:
            return False
        if self._loading_for is job:
            return True  # its load is under way or has just failed: model_failed says which
        if not session.busy and session.model_state not in (ModelState.DOWNLOADING, ModelState.LOADING):
            log.info("Queued job %s loads its model %s", job.id, job.model)
            self._loading_for = job
            session.load_model(job.model)
        return True

    def _model_failed(self, source: str) -> None:
        job, self._loading_for = self._loading_for, None
        if job is not None and job in self._jobs and source == job.model:
            self._fail(job, f"Its model ({_model_name(source)}) could not be loaded.")
            self._start_next()

    def _ended(self, outcome: Outcome, message: str) -> None:
        job = self.running()
        if job is None or self._closed:
            return
        if outcome is Outcome.FAILED:
            self._fail(job, message)
        elif outcome is Outcome.CANCELLED and self._closing:
            self._set_state(job, JobState.WAITING)  # cancelled by the shutdown, not by the artist
        else:
            if outcome is Outcome.CANCELLED:
                self.pause()  # nothing else starts by surprise
            self._drop(job)
        self._start_next()  # after a failure the session is idle already; else its busy_changed starts it

    def _progress(self, progress: Progress | None) -> None:
        job = self.running()
        if job is not None and progress is not None:
            job.progress = progress
            self.job_changed.emit(self._jobs.index(job))

    def _fail(self, job: QueuedJob, message: str) -> None:
        log.info("Queued job %s failed: %s", job.id, message)
        job.failure = message
        self._set_state(job, JobState.FAILED)
        self._save()

    def _set_state(self, job: QueuedJob, state: JobState) -> None:
        job.state = state
        if state is not JobState.FAILED:
            job.failure = ""
        self.job_changed.emit(self._jobs.index(job))

    def _drop(self, job: QueuedJob) -> None:
        row = self._jobs.index(job)
        del self._jobs[row]
        self.job_removed.emit(row)
        self._save()

    def _front(self) -> int:
        """Where jobs put first go: right after the running job (else at the top)."""
        running = self.running()
        return 0 if running is None else self._jobs.index(running) + 1

    # -- keeping it on disk --------------------------------------------------------------------
    def _save(self) -> Future | None:
        if self._closed:
            return None
        return self._io.submit(self._written, self._store.save, [job.stored() for job in self._jobs])

    def _write_snapshots(self, ids: list[str], source: QImage | None, mask: QImage | None) -> None:
        for kind, image in (("source", source), ("mask", mask)):
            if image is not None:
                png = qimage_to_png(image)
                for job_id in ids:
                    self._written(self._store.write_snapshot, job_id, kind, png)

    def _written(self, write, *args) -> None:
        """Run one write in the IO thread; a failure is logged and said once, and the queue goes on."""
        try:
            write(*args)
        except OSError as exc:
            log.exception("The queue could not be saved in %s", self._store.folder)
            if not self._failing:
                self.error.emit(f"The queue could not be kept for the next start ({exc.strerror or exc}).")
            self._failing = True
        else:
            self._failing = False


def _thumbnail(source: QImage | None) -> QImage | None:
    if source is None:
        return None
    return source.scaled(QSize(THUMBNAIL, THUMBNAIL), Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.SmoothTransformation)


def _model_name(source: str) -> str:
    return Path(source).name or source


def _new_id() -> str:
    return secrets.token_hex(6)
