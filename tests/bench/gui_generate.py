"""Child process of the GUI benchmark: the real window generating with an SD 1.5-architecture model.

``python -m tests.bench.gui_generate MODEL_FOLDER STEPS SIZE``, with ``QT_QPA_PLATFORM=offscreen`` and a
throw-away ``STUDIO_HOME``. Driven by the parent through stdin, one command a line; answers on stdout, one
``BENCH {json}`` line each (timestamps in seconds, ``time.perf_counter``):
- at start: loads the model, measures 3 s of the idle window (GUI thread CPU, progress bar paints), runs a
  warm-up generation (first-call costs: oneDNN kernels, the first text encoding) cancelled at its first preview
  and one warm-up of ``engine``, then answers ``{"ready": true, "idle": ...}``;
- ``preview``: clicks ``generateButton``, waits until the first preview has been painted on the canvas, clicks
  ``cancelButton``, waits until the session is idle, answers with the timings;
- ``engine``: the engine alone: the window's engine called directly with the window's last request, in the
  engine thread (where it was loaded) while the window is idle; answers the time from the call to its first ``StepUpdate``;
- ``full``: a whole generation (all steps, VAE decode, saving, result shown) with a 10 ms ``Qt.PreciseTimer``
  ticking on the GUI thread from 0.2 s before the click until the session is idle;
- ``preview`` and ``full`` also answer the GUI thread's CPU time from the click on (``time.thread_time``) and
  how many times the progress bar was painted meanwhile;
- ``quit`` (or end of input): closes the window (which stops the engine thread) and exits.

The window is built like ``run_gui`` builds it (``create_main_window`` under qasync, shown), with the real
engine. The only addition is through ``create_main_window``'s ``make_engine`` seam: the engine is the real
:class:`Engine` with ``run_gui``'s arguments, whose ``generate`` notes when it was called, when each
``StepUpdate`` reached its ``on_step`` and when it returned (in the engine thread). Everything else is observed
from outside: signals, a paint-event filter on the canvas, a timer.
"""

import asyncio
import json
import sys
import threading
import time

import qasync
from PySide6.QtCore import QEvent, QObject, Qt, QThread, QTimer, Signal, Slot

from studio.app import create_application, create_main_window
from studio.core.logs import setup_logging
from tests.bench.gui_bench import REQUEST
from tests.paint_counter import PaintCounter

FOLDER, STEPS, SIZE = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# REQUEST's scheduler is Euler: one UNet call (two images with CFG) per step; the model's PNDM would add one.
TIMEOUT = 1800.0

engine_log: list[tuple[str, float]] = []  # ("generate" | "step" | "returned", perf_counter), engine thread
seen_requests: list = []
engines: list = []  # the one engine make_engine made
engine_threads: list = []  # the QThread it was made in (the session's engine thread)


def make_engine():
    """The engine ``run_gui`` makes (``studio.app.make_engine``), noting the times of its calls."""
    from studio.engine.engine import Engine

    class TimedEngine(Engine):
        def generate(self, request, on_step=None, cancel=None, on_notice=None):
            engine_log.append(("generate", time.perf_counter()))
            seen_requests.append(request)

            def timed_step(update):
                engine_log.append(("step", time.perf_counter()))
                if on_step is not None:
                    on_step(update)

            try:
                return super().generate(request, on_step=timed_step, cancel=cancel, on_notice=on_notice)
            finally:
                engine_log.append(("returned", time.perf_counter()))

    engines.append(TimedEngine(device=None, previews="auto"))
    engine_threads.append(QThread.currentThread())
    return engines[-1]


class InThread(QObject):
    """Runs callables in another thread's event loop (here: the engine thread's, while it waits for work)."""

    _call = Signal(object)

    def __init__(self, thread: QThread) -> None:
        super().__init__()
        self.moveToThread(thread)
        self._call.connect(self._run)  # queued: the receiver lives in ``thread``

    @Slot(object)
    def _run(self, fn) -> None:
        fn()

    async def run(self, fn):
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def call() -> None:
            try:
                result = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                loop.call_soon_threadsafe(future.set_exception, exc)
            else:
                loop.call_soon_threadsafe(future.set_result, result)

        self._call.emit(call)
        return await future


class CanvasPaints(QObject):
    """Times of the canvas's paints: when the Paint event arrived and when its flush was over (next loop turn)."""

    def __init__(self, canvas) -> None:
        super().__init__()
        self.painted: list[tuple[float, float]] = []
        canvas.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
        if event.type() == QEvent.Type.Paint:
            start = time.perf_counter()
            QTimer.singleShot(0, lambda: self.painted.append((start, time.perf_counter())))
        return False


async def wait_for(predicate, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        await asyncio.sleep(0.1)  # slow polling: the bench's own GUI-thread work stays negligible


def say(answer: dict) -> None:
    print("BENCH " + json.dumps(answer), flush=True)


class Bench:
    def __init__(self, window) -> None:
        self.window = window
        self.session = window.session
        self.previews: list[tuple[float, tuple[int, int]]] = []
        self.session.preview.connect(lambda image: self.previews.append((time.perf_counter(), image.size().toTuple())))
        self.paints = CanvasPaints(window.canvas)
        self.bar_paints = PaintCounter(window.progress_bar)
        # The engine alone runs in the engine's own thread: on this machine the same engine's UNet runs ~25% slower
        # when called from any thread other than the one that loaded it.
        self.engine_thread = InThread(engine_threads[-1])

    def set_controls(self) -> None:
        w = self.window
        w.prompts.prompt_edit.setPlainText(REQUEST["prompt"])
        w.prompts.negative_edit.setPlainText(REQUEST["negative_prompt"])
        p = w.params
        p.random_seed_check.setChecked(False)
        p.seed_spin.setValue(REQUEST["seed"])
        p.steps_spin.setValue(STEPS)
        p.cfg_spin.setValue(REQUEST["cfg_scale"])
        p.set_size(SIZE, SIZE)
        p.scheduler_combo.setCurrentIndex(p.scheduler_combo.findData(REQUEST["scheduler"]))
        p.batch_spin.setValue(REQUEST["batch_size"])

    def _reset(self) -> None:
        self.previews.clear()
        self.paints.painted.clear()
        engine_log.clear()

    def _first_paint(self) -> float | None:
        """When the first paint that began after the first preview arrived was flushed."""
        if not self.previews:
            return None
        first = self.previews[0][0]
        return next((done for start, done in self.paints.painted if start >= first), None)

    async def _press_generate(self) -> tuple[float, float]:
        """Click Generate from a timer callback, as a user's click arrives; (click began, handler returned)."""
        clicked: list[float] = []

        def press() -> None:
            self.gui_cpu_at_click = time.thread_time()  # this coroutine and Qt's callbacks all run on the GUI thread
            self.bar_paints_at_click = self.bar_paints.count
            clicked.append(time.perf_counter())
            self.window.generate_button.click()
            clicked.append(time.perf_counter())

        QTimer.singleShot(0, press)
        await wait_for(lambda: len(clicked) == 2)
        return clicked[0], clicked[1]

    def _timings(self, click: float, click_returned: float) -> dict:
        request = seen_requests[-1]
        return {
            "click": click,
            "click_returned": click_returned,
            "engine": list(engine_log),
            "previews": list(self.previews),
            "first_paint": self._first_paint(),
            "request": {
                "prompt": request.prompt, "negative_prompt": request.negative_prompt, "seed": request.seed,
                "steps": request.steps, "cfg_scale": request.cfg_scale, "width": request.width,
                "height": request.height, "scheduler": request.scheduler, "batch_size": request.batch_size,
            },
        }

    async def idle(self, seconds: float) -> dict:
        cpu, paints, start = time.thread_time(), self.bar_paints.count, time.perf_counter()
        await asyncio.sleep(seconds)
        wall = time.perf_counter() - start
        return {
            "gui_cpu_share": (time.thread_time() - cpu) / wall,
            "bar_paints_per_s": (self.bar_paints.count - paints) / wall,
        }

    async def preview(self) -> dict:
        self._reset()
        click, returned = await self._press_generate()
        await wait_for(lambda: self._first_paint() is not None)
        gui_cpu = time.thread_time() - self.gui_cpu_at_click
        bar_paints = self.bar_paints.count - self.bar_paints_at_click
        self.window.cancel_button.click()
        await wait_for(lambda: not self.session.busy)
        await asyncio.sleep(0.2)
        return {**self._timings(click, returned), "gui_cpu_s": gui_cpu, "bar_paints": bar_paints}

    async def engine_alone(self) -> dict:
        """The window's own engine driven directly (no worker, no signals, no widgets) with the window's last
        request: generate call -> first ``StepUpdate``, cancelled right after. Runs in the engine thread (between
        two of the worker's tasks, like one of them) while the window sits idle."""
        from studio.core.cancel import CancelToken
        from studio.core.errors import GenerationCancelled
        from studio.engine.engine import Engine

        engine, request = engines[-1], seen_requests[-1]

        def first_step() -> float:
            cancel = CancelToken()
            first: list[float] = []

            def on_step(_update) -> None:
                first.append(time.perf_counter())
                cancel.cancel()

            start = time.perf_counter()
            try:
                Engine.generate(engine, request, on_step=on_step, cancel=cancel)  # the untimed method
            except GenerationCancelled:
                pass
            return first[0] - start

        assert not self.session.busy
        return {"first_step_s": await self.engine_thread.run(first_step)}

    async def full(self) -> dict:
        self._reset()
        ticks: list[float] = []
        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(10)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        timer.start()
        await asyncio.sleep(0.2)
        click, returned = await self._press_generate()
        await wait_for(lambda: not self.session.busy)
        idle = time.perf_counter()
        gui_cpu = time.thread_time() - self.gui_cpu_at_click
        bar_paints = self.bar_paints.count - self.bar_paints_at_click
        await asyncio.sleep(0.3)  # the result's paint
        timer.stop()
        results = self.session.results
        return {
            **self._timings(click, returned),
            "idle": idle,
            "gui_cpu_s": gui_cpu,
            "bar_paints": bar_paints,
            "ticks": ticks,
            "results": len(results),
            "saved": str(results[0].path) if results else None,
        }


async def serve(window) -> None:
    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(commands.put_nowait, line.strip())
        loop.call_soon_threadsafe(commands.put_nowait, "quit")

    threading.Thread(target=read, daemon=True, name="stdin").start()
    await wait_for(lambda: window.generate_button.isEnabled())
    bench = Bench(window)
    bench.set_controls()
    idle = await bench.idle(3.0)  # the window just after its model loaded, nobody touching it
    await bench.preview()  # the warm-ups
    await bench.engine_alone()
    say({"ready": True, "idle": idle})
    while (command := await commands.get()) != "quit":
        if command == "preview":
            say(await bench.preview())
        elif command == "engine":
            say(await bench.engine_alone())
        elif command == "full":
            say(await bench.full())
        else:
            say({"error": f"unknown command {command!r}"})


def main() -> None:
    setup_logging()
    create_application()

    async def run() -> None:
        closed = asyncio.Event()
        window = create_main_window(FOLDER, make_engine=make_engine)
        window.closed.connect(closed.set)
        window.show()
        try:
            await serve(window)
        finally:
            window.close()
            await closed.wait()

    qasync.run(run())


main()
