"""The model library's figure: scanning a folder of 1,000 model files without stalling the window.

``python -m tests.bench library [--files N]`` runs in a fresh child process (``QT_QPA_PLATFORM=offscreen``, a
throw-away ``STUDIO_HOME``): N small ``.safetensors`` LoRAs with kohya training metadata (``ss_tag_frequency``),
spread over 20 sub-folders of ``models/loras/``, every other one with a preview image beside it. The real
:class:`ModelLibrary` scans them with the :class:`ModelBrowser` open (so filling its list, on the GUI thread, is
measured too) while a 5 ms ``QTimer`` on the GUI thread records the gaps between its ticks: the longest gap is
the longest the window could not repaint or react. The hashing that follows a scan is measured the same way.
Before that, the engine's own lookup of a ``<lora:NAME>`` tag in the same folders: cold, then with nothing changed.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TICK_MS = 5
MAX_GAP_TARGET_MS = 50.0


def _write_files(count: int) -> None:
    from studio.core.paths import models_dir
    from tests.model_files import kohya_lora_shapes, tag_frequency, write_safetensors

    root = models_dir() / "loras"
    tags = tag_frequency(**{f"tag{i}": i for i in range(40)})
    png = _png()
    for i in range(count):
        path = write_safetensors(root / f"set{i % 20:02d}" / f"lora_{i:04d}.safetensors", kohya_lora_shapes(64), tags)
        if i % 2 == 0:
            path.with_name(path.stem + ".preview.png").write_bytes(png)


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (90, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def _engine_lookups() -> dict:
    """What the engine does before a generation whose prompt has a LoRA tag: scan the LoRA folders for the name.
    First with nothing cached (every header read), then again with nothing changed (a stat per file)."""
    from studio.core.extra_networks import LoraRef, resolve_loras
    from studio.core.model_folders import own_folders

    times = []
    for _ in range(3):
        start = time.perf_counter()
        resolve_loras((LoraRef("lora_0000"),), own_folders())
        times.append(time.perf_counter() - start)
    return {"lookup_cold_s": times[0], "lookup_warm_s": min(times[1:])}


def child(count: int) -> dict:
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from studio.core.model_folders import own_folders
    from studio.session.library import ModelLibrary
    from studio.ui.model_browser import ModelBrowser

    _write_files(count)
    lookups = _engine_lookups()  # before the library's scan, which would warm the cache
    app = QApplication.instance() or QApplication([])
    library = ModelLibrary(own_folders)
    browser = ModelBrowser(library)
    browser.show()
    gaps: list[float] = []
    clock = QElapsedTimer()
    ticker = QTimer(interval=TICK_MS)

    def tick() -> None:
        gaps.append(clock.restart() / 1.0)

    ticker.timeout.connect(tick)
    phases: dict[str, float] = {}
    hashed: set[str] = set()
    library.hashes_ready.connect(hashed.update)

    def wait(done) -> None:
        """Run the event loop (one exec, no processEvents loop: see session/library.py) until ``done()``."""
        loop = QEventLoop()
        check = QTimer(interval=TICK_MS)
        check.timeout.connect(lambda: loop.quit() if done() else None)
        check.start()
        loop.exec()
        check.stop()

    clock.start()
    ticker.start()
    start = time.perf_counter()
    library.rescan()
    wait(lambda: not library.scanning)
    phases["scan_s"] = time.perf_counter() - start
    scan_gaps = list(gaps)
    gaps.clear()
    start = time.perf_counter()
    wait(lambda: len(hashed) >= count or time.perf_counter() - start > 300)
    phases["hash_s"] = time.perf_counter() - start
    return {
        "files": count,
        "entries": len(library.entries),
        "listed": browser.tree.topLevelItemCount(),
        "hashed": len(hashed),
        **phases,
        "scan_max_gap_ms": max(scan_gaps, default=0.0),
        "scan_median_gap_ms": statistics.median(scan_gaps) if scan_gaps else 0.0,
        "hash_max_gap_ms": max(gaps, default=0.0),
        **lookups,
    }


def run(count: int = 1000) -> dict:
    with tempfile.TemporaryDirectory(prefix="studio-library-bench-") as home:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STUDIO_HOME": home, "HF_HUB_OFFLINE": "1"}
        done = subprocess.run([sys.executable, "-m", "tests.bench.library_bench", str(count)], env=env, cwd=ROOT,
                              check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(figures: dict) -> str:
    verdict = "ok" if figures["scan_max_gap_ms"] <= MAX_GAP_TARGET_MS else "over"
    return "\n".join([
        f"Model library: {figures['files']} files, {figures['entries']} found, {figures['listed']} listed",
        f"  scan (off the GUI thread, list filled on it): {figures['scan_s']:.2f} s; GUI-timer gaps "
        f"max {figures['scan_max_gap_ms']:.0f} ms, median {figures['scan_median_gap_ms']:.1f} ms "
        f"(target max <= {MAX_GAP_TARGET_MS:.0f} ms: {verdict})",
        f"  hashes in the background: {figures['hashed']} in {figures['hash_s']:.2f} s; "
        f"GUI-timer gaps max {figures['hash_max_gap_ms']:.0f} ms",
        f"  the engine's LoRA lookup before a generation: {figures['lookup_cold_s'] * 1000:.0f} ms the first time "
        f"(headers read), {figures['lookup_warm_s'] * 1000:.0f} ms with nothing changed (no header read)",
    ])


if __name__ == "__main__":
    print(json.dumps(child(int(sys.argv[1]))), flush=True)
    os._exit(0)  # as gui_launch does: tearing Qt down is not part of the figure
