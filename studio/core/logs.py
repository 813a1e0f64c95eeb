"""Logging to a rotating file under the app's root folder; the user sees one sentence, the log the details.

The log file can fail like any file (a full disk, a removed drive, a read-only folder). That must never reach
the user as a traceback on the terminal, nor stop the app: the first failure prints one line on stderr, later
ones are dropped, and records are written again as soon as the file can take them.
"""

import faulthandler
import logging
import logging.handlers
import os
import sys
from pathlib import Path

from studio.core.paths import logs_dir

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


class LogFileHandler(logging.handlers.RotatingFileHandler):
    """A rotating log file whose write errors cost one line on stderr, once, instead of a traceback each."""

    _studio = True  # marks our own handler, so that setting up twice replaces it
    reported = False

    def handleError(self, record: logging.LogRecord | None) -> None:  # noqa: N802 - logging's name
        if self.reported:
            return
        self.reported = True
        _say(f"Latent Studio: cannot write the log file {self.baseFilename} ({_reason(sys.exc_info()[1])}); "
             "carrying on without it.")

    def flush(self) -> None:  # also called outside emit (close, shutdown), where logging does not catch
        try:
            super().flush()
        except OSError:
            self.handleError(None)

    def close(self) -> None:
        try:
            super().close()
        except OSError:
            self.handleError(None)


def setup_logging(level: int = logging.INFO) -> Path:
    """Send the ``studio`` loggers (and warnings) to ``<root>/logs/studio.log``; returns the file's path.
    Never raises: without a usable log folder the app runs without a log file (and says so once)."""
    logger = logging.getLogger()
    for handler in list(logger.handlers):
        if getattr(handler, "_studio", False):
            logger.removeHandler(handler)
            handler.close()
    try:
        path = logs_dir() / "studio.log"
    except OSError as exc:
        _say(f"Latent Studio: cannot create the log folder ({_reason(exc)}); carrying on without a log file.")
        return Path("studio.log")  # named in messages only
    # delay: the file opens with the first record, so that failing to open it is handled like a failing write
    handler = LogFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(min(logger.level or level, level))
    logging.captureWarnings(True)
    return path


CRASH_LOG_LIMIT = 1_000_000  # bytes: past this, the file is set aside as crash.log.1 (a crash writes ~10 kB)
_crash_file = None  # kept open: faulthandler writes to its descriptor when the process dies


def record_crashes() -> Path | None:
    """Write the Python stacks of every thread to ``<root>/logs/crash.log`` if the process dies of a native fault
    (a segfault in Qt, torch or a driver): such a death bypasses logging, and a window started from a desktop icon
    has no terminal to print it on. The path, or None when the file cannot be opened (the app runs without)."""
    global _crash_file
    try:
        path = logs_dir() / "crash.log"
        if path.exists() and path.stat().st_size > CRASH_LOG_LIMIT:
            os.replace(path, path.with_name("crash.log.1"))
        crash_file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - open for the whole process
        faulthandler.enable(file=crash_file, all_threads=True)
    except (OSError, ValueError) as exc:
        logging.getLogger(__name__).warning("Native crashes will not be recorded (%s)", _reason(exc))
        return None
    if _crash_file is not None:
        _crash_file.close()
    _crash_file = crash_file
    return path


def _reason(error: BaseException | None) -> str:
    return (getattr(error, "strerror", None) or str(error)) if error else "unknown error"


def _say(line: str) -> None:
    try:
        if sys.stderr is not None:  # None under pythonw on Windows
            print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):  # the terminal is gone too
        pass
