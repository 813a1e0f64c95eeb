"""The log file may fail (full disk, read-only folder): one line on stderr, never a traceback, the app goes on."""

import errno
import logging
import os
from pathlib import Path

import pytest

from studio.core import paths
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
