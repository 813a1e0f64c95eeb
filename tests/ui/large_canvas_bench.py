"""Benchmark, not a test (pytest collects it only when named): how long the GUI thread stalls while an artist
works on an 8000x8000 picture through the real window, with the tiny SD model.

``.venv/bin/python -m pytest -q -s tests/ui/large_canvas_bench.py`` prints the largest gaps between ticks of a
10 ms timer on the GUI thread in each phase: the drop (decoding in the background, then showing it), a mask
stroke, a generation of the masked region (fitting, saving the 8000x8000 result, showing it), and the time the
next window takes to open with that canvas restored.
"""

import time

import numpy as np
from PIL import Image
from PySide6.QtCore import QTimer

from tests.ui.canvas_work import drop_file, paint
from tests.ui.conftest import wait_ready

SIZE = 8000


class GuiTicks:
    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.phases: list[tuple[float, str]] = []
        self._timer = QTimer()
        self._timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))
        self._timer.start(10)

    def phase(self, name: str) -> None:
        self.phases.append((time.perf_counter(), name))

    def worst_by_phase(self) -> dict[str, float]:
        worst: dict[str, float] = {}
        for a, b in zip(self.ticks, self.ticks[1:]):
            name = [n for t, n in self.phases if t <= a][-1]
            worst[name] = max(worst.get(name, 0.0), (b - a) * 1000)
        return worst


def test_large_canvas(open_window, qtbot, tmp_path, tiny_sd_dir):
    big = tmp_path / "big.png"
    pixels = np.random.default_rng(0).integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(big, compress_level=1)
    window = open_window(str(tiny_sd_dir))
    wait_ready(qtbot, window)
    window.params.steps_spin.setValue(2)
    ticks = GuiTicks()
    ticks.phase("drop and show")
    drop_file(qtbot, window.canvas, big)
    qtbot.wait(500)
    ticks.phase("mask stroke, autosave")
    paint(qtbot, window.canvas, (3000, 3000), (3400, 3200), (3600, 3600), size=200)
    qtbot.wait(2500)
    ticks.phase("generate, save, show")
    started = time.perf_counter()
    window.generate()
    qtbot.waitUntil(lambda: not window.session.busy, timeout=300_000)
    generated = time.perf_counter() - started
    qtbot.wait(500)
    ticks.phase("end")
    window.close()
    started = time.perf_counter()
    again = open_window(str(tiny_sd_dir))
    reopened = time.perf_counter() - started
    assert again.canvas.image().width() == SIZE
    print(f"\n{SIZE}x{SIZE} canvas, largest gap between 10 ms GUI timer ticks:")
    for name, gap in ticks.worst_by_phase().items():
        if name != "end":
            print(f"  {name:<24}: {gap:5.0f} ms")
    print(f"  (generate -> saved and shown: {generated:.1f} s)")
    print(f"next start with this canvas restored: window shown after {reopened:.2f} s")
