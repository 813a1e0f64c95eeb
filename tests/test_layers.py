"""The layer rules hold, and opening the window does not import torch (the window must not wait for it)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WINDOW_WITHOUT_TORCH = """
import asyncio, sys
import qasync
from PySide6.QtWidgets import QApplication

app = QApplication([])

async def show():
    from studio.app import create_main_window
    window = create_main_window()
    window.show()
    for _ in range(20):
        app.processEvents()
        await asyncio.sleep(0.01)
    loaded = sorted(m for m in ("torch", "diffusers", "transformers", "studio.engine") if m in sys.modules)
    window.close()
    print("LOADED:" + ",".join(loaded))

qasync.run(show())
"""


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_showing_the_window_does_not_import_torch(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STUDIO_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", WINDOW_WITHOUT_TORCH], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "LOADED:\n" in result.stdout, result.stdout
