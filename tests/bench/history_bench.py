"""The history's figures: opening the gallery on 10,000 outputs, scrolling through it, searching it.

``python -m tests.bench history [--files N]`` runs in a fresh child process (``QT_QPA_PLATFORM=offscreen``, a
throw-away ``STUDIO_HOME``). A fixture writes N small PNGs with recipes (varied prompts, five models, three
modes, a year of modification times) straight into the outputs folder: made, not generated. Then the real main
window (scripted engine, no model) opens twice: first with no index (it is built from the files while the
window runs), then again on that index. A 5 ms ``QTimer`` on the GUI thread records the gaps between its ticks:
the longest is the longest the window could not repaint or react. "Usable" is the window's first paint,
completed (as in ``gui_launch``), timed from the start of ``create_main_window``. On the second opening the
gallery (in a dock widened to three columns) is scrolled from top to bottom a viewport's height every 16 ms,
with the thumbnail cache empty and then again with it filled, and searches are timed from setting the search
text to the gallery showing the answer.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TICK_MS = 5
SCROLL_MS = 16
USABLE_TARGET_S = 1.0
STALL_TARGET_MS = 33.0
SEARCH_TARGET_MS = 100.0
WORDS = ("fox owl heron lighthouse castle forest river mountain portrait city night dawn snow rain oil watercolour "
         "ink sketch cinematic golden misty red blue green ancient neon garden harbour desert").split()
MODELS = ("sd15-base", "dreamshaper", "sdxl-base", "anything-v5", "realistic-vision")
MODES = ("txt2img", "img2img", "inpaint")
SEARCHES = ("fox", "misty harbour", "castle night oil", "zebra", "a")


def write_outputs(count: int) -> None:
    from PIL import Image

    from studio.core.image_formats import encode
    from studio.core.paths import outputs_dir
    from studio.core.recipe import Recipe

    rng = random.Random(7)
    folder = outputs_dir()
    now = time.time()
    for i in range(count):
        mode = MODES[i % 3]
        recipe = Recipe(prompt=" ".join(rng.choices(WORDS, k=12)), negative_prompt="blurry", seed=i, steps=20,
                        cfg_scale=7.0, width=512, height=512, sampler="Euler a", model=MODELS[i % 5], mode=mode,
                        strength=None if mode == "txt2img" else 0.6, mask_feather=4 if mode == "inpaint" else None)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        path = folder / f"{i:05d}-{i}.png"
        path.write_bytes(encode(Image.new("RGB", (96, 96), colour), recipe, "PNG"))
        made = now - (count - i) * (365 * 24 * 3600 / count)
        os.utime(path, (made, made))


def child(count: int) -> dict:
    import qasync
    from PySide6.QtCore import QElapsedTimer, QEvent, QEventLoop, QObject, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    importlib.import_module("studio.ui.main_window")  # before the clock starts: the launch figure has the imports
    from studio.app import create_main_window
    from tests.ui.fakes import FakeEngine

    start = time.perf_counter()
    write_outputs(count)
    figures: dict = {"files": count, "fixture_s": time.perf_counter() - start}
    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app, already_running=True)  # the session's tasks need one; Qt's loop runs it
    import asyncio

    asyncio.set_event_loop(loop)
    gaps: list[float] = []  # wall-clock ms between ticks
    busy: list[float] = []  # GUI-thread CPU ms between ticks: its own work, whatever else the machine runs
    clock = QElapsedTimer()
    ticker = QTimer(interval=TICK_MS)
    cpu = [time.thread_time()]

    def tick() -> None:
        gaps.append(float(clock.restart()))
        now = time.thread_time()
        busy.append((now - cpu[0]) * 1000)
        cpu[0] = now

    def reset() -> None:
        gaps.clear()
        busy.clear()
        clock.restart()
        cpu[0] = time.thread_time()

    ticker.timeout.connect(tick)

    def wait(done, limit_s: float = 600.0) -> None:
        """Run the event loop until ``done()`` (one exec, checked by a timer)."""
        deadline = time.perf_counter() + limit_s
        events = QEventLoop()
        check = QTimer(interval=TICK_MS)
        check.timeout.connect(lambda: events.quit() if done() or time.perf_counter() > deadline else None)
        check.start()
        events.exec()
        check.stop()

    class FirstPaint(QObject):
        painted: float | None = None

        def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint and self.painted is None:
                QTimer.singleShot(0, lambda: setattr(self, "painted", time.perf_counter()))
            return False

    def open_window(label: str):
        painted = FirstPaint()
        clock.start()
        ticker.start()
        start = time.perf_counter()
        window = create_main_window(make_engine=FakeEngine)
        window.installEventFilter(painted)
        window.resize(1400, 900)
        window.show()
        wait(lambda: painted.painted is not None)
        figures[f"{label}_usable_s"] = painted.painted - start
        reset()
        history, panel = window.history_binding.history, window.history_binding.panel
        wait(lambda: len(panel.model.entries()) == count and not history.scanning)
        figures[f"{label}_listed_s"] = time.perf_counter() - start
        figures[f"{label}_max_gap_ms"] = max(gaps, default=0.0)
        figures[f"{label}_max_busy_ms"] = max(busy, default=0.0)
        return window

    first = open_window("first")
    first.close()
    wait(lambda: True)
    window = open_window("again")
    binding = window.history_binding
    window.resizeDocks([binding.dock], [3 * binding.panel.view.gridSize().width() + 40], Qt.Orientation.Horizontal)
    wait(lambda: True)

    view = binding.panel.view
    bar = view.verticalScrollBar()
    for label in ("cold", "warm"):
        bar.setValue(0)
        wait(lambda: True)
        reset()
        scroller = QTimer(interval=SCROLL_MS)
        scroller.timeout.connect(lambda: bar.setValue(bar.value() + view.viewport().height()))
        started = time.perf_counter()
        scroller.start()
        wait(lambda: bar.value() >= bar.maximum())
        scroller.stop()
        figures[f"scroll_{label}_s"] = time.perf_counter() - started
        figures[f"scroll_{label}_max_gap_ms"] = max(gaps, default=0.0)
        figures[f"scroll_{label}_median_gap_ms"] = statistics.median(gaps) if gaps else 0.0
        figures[f"scroll_{label}_max_busy_ms"] = max(busy, default=0.0)
        if label == "cold":  # the thumbnails of the last screens are still being made: let them finish
            wait(lambda: False, limit_s=3.0)
    figures["scroll_px"] = bar.maximum()

    latencies = {}
    answered = []
    binding.history.entries_changed.connect(lambda entries: answered.append((time.perf_counter(), len(entries))))
    for text in SEARCHES + ("",):
        answered.clear()
        reset()
        started = time.perf_counter()
        binding.panel.search.setText(text)
        wanted = binding.panel.current_filter()
        wait(lambda: answered and binding.history.filter == wanted)
        wait(lambda: True)  # the model's reset and the repaint that follows
        latencies[text or "(cleared)"] = {"ms": (answered[-1][0] - started) * 1000, "found": answered[-1][1],
                                          "max_gap_ms": max(gaps, default=0.0), "max_busy_ms": max(busy, default=0.0)}
    figures["search"] = latencies
    window.close()
    return figures


def run(count: int = 10_000) -> dict:
    with tempfile.TemporaryDirectory(prefix="studio-history-bench-") as home:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STUDIO_HOME": home, "HF_HUB_OFFLINE": "1"}
        done = subprocess.run([sys.executable, "-m", "tests.bench.history_bench", str(count)], env=env, cwd=ROOT,
                              check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(f: dict) -> str:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "over"

    worst_search = max(s["ms"] for s in f["search"].values())
    lines = [
        f"History: {f['files']} outputs (fixture written in {f['fixture_s']:.1f} s)",
        f"  first opening, no index: usable after {f['first_usable_s']:.2f} s "
        f"(target < {USABLE_TARGET_S:.0f} s: {verdict(f['first_usable_s'] < USABLE_TARGET_S)}); all listed after "
        f"{f['first_listed_s']:.1f} s (index built from the files meanwhile); GUI-timer gaps max "
        f"{f['first_max_gap_ms']:.0f} ms (its own CPU between two ticks at most {f['first_max_busy_ms']:.0f} ms)",
        f"  again, on the index: usable after {f['again_usable_s']:.2f} s "
        f"({verdict(f['again_usable_s'] < USABLE_TARGET_S)}); all listed after {f['again_listed_s']:.2f} s; "
        f"gaps max {f['again_max_gap_ms']:.0f} ms",
    ]
    for label in ("cold", "warm"):
        gap = f[f"scroll_{label}_max_gap_ms"]
        lines.append(f"  scrolling top to bottom ({f['scroll_px']} px), thumbnails {label}: "
                     f"{f[f'scroll_{label}_s']:.1f} s;"
                     f" gaps max {gap:.0f} ms, median {f[f'scroll_{label}_median_gap_ms']:.1f} ms "
                     f"(target < {STALL_TARGET_MS:.0f} ms: {verdict(gap < STALL_TARGET_MS)}); the GUI thread's own "
                     f"CPU between two ticks at most {f[f'scroll_{label}_max_busy_ms']:.0f} ms")
    searches = ", ".join(f"'{text}' {s['ms']:.0f} ms ({s['found']} found, gap {s['max_gap_ms']:.0f} ms)"
                         for text, s in f["search"].items())
    lines.append(f"  search, typed to shown: {searches} "
                 f"(target < {SEARCH_TARGET_MS:.0f} ms: {verdict(worst_search < SEARCH_TARGET_MS)})")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(child(int(sys.argv[1]))), flush=True)
    os._exit(0)  # as gui_launch does: tearing Qt down is not part of the figure
