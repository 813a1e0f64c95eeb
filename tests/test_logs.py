"""The log file may fail (full disk, read-only folder): one line on stderr, never a traceback, the app goes on."""

import errno
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core import logs, paths
from studio.core.logs import setup_logging

log = logging.getLogger("studio.test")


@pytest.fixture
def studio_logging():
    """setup_logging() as the app calls it, undone afterwards (pytest's own handlers stay)."""
    yield setup_logging
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_studio", False)]:
        root.removeHandler(handler)
        handler.close()


class FullDisk:
    """A stream on a full disk: every write fails as the OS reports it."""

    def write(self, text):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self):
        pass

    def seek(self, offset, whence=0):
        return 0

    def tell(self):
        return 0

    def close(self):
        pass


def test_records_reach_the_log_file(studio_logging):
    path = studio_logging()
    log.warning("a line for the log")
    assert path.parent == paths.logs_dir() and "a line for the log" in path.read_text(encoding="utf-8")


def test_a_full_disk_costs_one_line_on_stderr_and_no_traceback(studio_logging, capfd):
    studio_logging()
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_studio", False)]
    handler.stream = FullDisk()
    for n in range(5):
        log.error("record %d", n)  # does not raise
    err = capfd.readouterr().err
    assert "Traceback" not in err and "--- Logging error ---" not in err
    assert err.count("\n") == 1 and "cannot write the log file" in err and "No space left on device" in err


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_log_file_on_a_really_full_device(studio_logging, capfd):
    paths.logs_dir().joinpath("studio.log").symlink_to("/dev/full")  # every write: ENOSPC, from the kernel
    studio_logging()
    for n in range(5):
        log.error("record %d", n)
    (handler,) = [h for h in logging.getLogger().handlers if getattr(h, "_studio", False)]
    handler.flush()
    handler.close()
    err = capfd.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and "No space left on device" in err


def test_a_log_folder_that_cannot_be_made_is_no_reason_to_stop(studio_logging, capfd):
    (paths.studio_home() / "logs").write_text("a file where the folder should be")
    studio_logging()
    log.error("goes nowhere")
    err = capfd.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1 and "cannot create the log folder" in err


CRASH = """
from studio.core.logs import record_crashes
import faulthandler, sys
print(record_crashes(), flush=True)
faulthandler._sigsegv()  # what a segfault in Qt or torch does
"""


def test_a_native_crash_leaves_the_stacks_in_crash_log(tmp_path):
    env = {**os.environ, "STUDIO_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", CRASH], env=env, capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    path = tmp_path / "logs" / "crash.log"
    assert done.returncode != 0 and done.stdout.strip() == str(path)
    text = path.read_text(encoding="utf-8")
    assert "Fatal Python error: Segmentation fault" in text and 'File "<string>", line 5' in text


def test_a_large_crash_log_is_set_aside_not_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "studio_home", lambda: tmp_path)
    monkeypatch.setattr(logs.faulthandler, "enable", lambda **kwargs: None)  # pytest's own handler stays
    monkeypatch.setattr(logs, "_crash_file", None)
    old = "x" * (logs.CRASH_LOG_LIMIT + 1)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "crash.log").write_text(old)
    assert logs.record_crashes() == tmp_path / "logs" / "crash.log"
    logs._crash_file.close()
    assert (tmp_path / "logs" / "crash.log.1").read_text() == old
    assert (tmp_path / "logs" / "crash.log").read_text() == ""


def test_no_crash_log_where_the_log_folder_cannot_be_made(caplog):
    (paths.studio_home() / "logs").write_text("a file where the folder should be")
    assert logs.record_crashes() is None
    assert "Native crashes will not be recorded" in caplog.text
