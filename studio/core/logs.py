"""Logging to a rotating file under the app's root folder; the user sees one sentence, the log the details."""

import logging
import logging.handlers
from pathlib import Path

from studio.core.paths import logs_dir

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


def setup_logging(level: int = logging.INFO) -> Path:
    """Send the ``studio`` loggers (and warnings) to ``<root>/logs/studio.log``; returns the file's path."""
    path = logs_dir() / "studio.log"
    logger = logging.getLogger()
    for handler in list(logger.handlers):
        if getattr(handler, "_studio", False):
            logger.removeHandler(handler)
            handler.close()
    handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler._studio = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(min(logger.level or level, level))
    logging.captureWarnings(True)
    return path
