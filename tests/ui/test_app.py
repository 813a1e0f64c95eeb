"""The real entry point in a subprocess: `studio --model ...` runs through qasync, and closing the window in
the middle of a generation cancels it and exits cleanly, quickly, with nothing written."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Wraps create_main_window so that the window starts a long generation once the model is ready, and closes
# itself on the first step preview.
DRIVER = """
import sys, time
from studio import app

closed_at = []
build = app.create_main_window

def create_main_window(model=None, **kwargs):
    window = build(model, **kwargs)
    session = window.session

    def ready(state):
        if state.value == "ready":
            window.params.set_size(64, 64)
            window.params.steps_spin.setValue(500)
            window.generate()

    def first_step(_image):
        session.preview.disconnect(first_step)
        print("closing during step", session.progress.step, flush=True)
        closed_at.append(time.monotonic())
        window.close()

    session.model_state_changed.connect(ready)
    session.preview.connect(first_step)
    return window

app.create_main_window = create_main_window
code = app.main(["--model", sys.argv[1]])
print(f"exited {time.monotonic() - closed_at[0]:.2f} s after the close", flush=True)
sys.exit(code)
"""


def test_closing_the_app_during_a_generation_exits_cleanly(tiny_sd_dir, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STUDIO_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", DRIVER, str(tiny_sd_dir)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "closing during step 1" in result.stdout
    seconds = float(result.stdout.split("exited ")[1].split(" s")[0])
    assert seconds < 3
    assert "QThread" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not list((tmp_path / "outputs").glob("*.png"))
    log = (tmp_path / "logs" / "studio.log").read_text()
    assert "Generation cancelled" in log
