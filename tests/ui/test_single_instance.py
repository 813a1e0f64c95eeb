"""One window per data folder, checked with real `studio` processes: a second start brings the first window
forward and exits; closing releases the folder at once; a killed window's lock does not block the next start."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from studio.session.single_instance import LOCK_NAME

ROOT = Path(__file__).resolve().parents[2]
OWNS = "This window owns the data folder"
OPEN = "The window is open"

pytestmark = pytest.mark.skipif(os.name == "nt", reason="ends the windows with POSIX signals")


@pytest.fixture
def studio(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STUDIO_HOME": str(tmp_path)}
    started = []

    def start() -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-m", "studio"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def log_text(home: Path) -> str:
    path = home / "logs" / "studio.log"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def wait_for_windows(home: Path, count: int, process: subprocess.Popen) -> None:
    """Until ``count`` windows in all have owned the folder and opened (no timing is asserted: the limit is
    generous)."""
    deadline = time.monotonic() + 120
    while (text := log_text(home)).count(OPEN) < count or text.count(OWNS) < count:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, log_text(home)
        time.sleep(0.05)


def close(process: subprocess.Popen, home: Path) -> None:
    process.send_signal(signal.SIGTERM)  # the window closes as when the artist closes it
    _, err = process.communicate(timeout=60)
    crash = home / "logs" / "crash.log"  # the threads' stacks, if it died of a native fault
    assert process.returncode == 0, err + (crash.read_text(encoding="utf-8") if crash.exists() else "")


def test_a_second_start_brings_the_first_window_forward_and_closing_frees_the_folder(studio, tmp_path):
    first = studio()
    wait_for_windows(tmp_path, 1, first)

    second = studio()
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0 and "already open" in err
    assert "Another start on this data folder asked for this window" in log_text(tmp_path)
    assert first.poll() is None  # the first window is still open

    close(first, tmp_path)
    assert not (tmp_path / LOCK_NAME).exists()
    third = studio()  # reopening at once
    wait_for_windows(tmp_path, 2, third)
    close(third, tmp_path)


def test_the_lock_of_a_killed_window_does_not_block_the_next_start(studio, tmp_path):
    killed = studio()
    wait_for_windows(tmp_path, 1, killed)
    killed.kill()
    killed.wait(10)
    assert (tmp_path / LOCK_NAME).exists()  # left behind, naming a process that is gone

    next_start = studio()
    wait_for_windows(tmp_path, 2, next_start)
    close(next_start, tmp_path)
