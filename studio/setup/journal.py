"""The set-up's record of its last install (``<root>/setup/state.json``): written before uv starts and after the
verification, so a start after a crash, a cancel or a failure knows the install is unfinished and offers to
resume it (uv keeps what it already downloaded in the set-up's cache).

A damaged file is set aside and read as "no record", never a reason to fail.
"""

import json
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from studio.core.atomic import atomic_write_text
from studio.core.paths import studio_home

log = logging.getLogger(__name__)

INSTALLING, VERIFIED, FAILED, KEPT = "installing", "verified", "failed", "kept"


@dataclass(frozen=True)
class Record:
    build: str
    status: str  # INSTALLING (started, or cut off), VERIFIED, FAILED, or KEPT (the user keeps a torch that does not fit)
    torch: str = ""  # the version that verified
    device: str = ""  # what the verification ran on, e.g. "cuda: NVIDIA GeForce RTX 4090"
    message: str = ""  # the failure's sentence
    declined: str = ""  # a torch version the user chose to keep although it does not fit
    time: float = 0.0


def setup_dir() -> Path:
    path = studio_home() / "setup"
    path.mkdir(parents=True, exist_ok=True)
    return path


def uv_cache_dir() -> Path:
    """uv's cache for the set-up: kept after a failure (a retry resumes from it), emptied after a verified install."""
    return setup_dir() / "uv-cache"


def _path() -> Path:
    return setup_dir() / "state.json"


def read_record() -> Record | None:
    path = _path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Record(**{key: data[key] for key in Record.__dataclass_fields__ if key in data})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError):
        aside = path.with_name(f"state.damaged-{int(time.time())}.json")
        log.warning("The set-up record %s is damaged; moved to %s", path, aside, exc_info=True)
        try:
            path.replace(aside)
        except OSError:
            pass
        return None


def write_record(record: Record) -> Record:
    record = Record(**{**asdict(record), "time": time.time()})
    atomic_write_text(_path(), json.dumps(asdict(record), indent=2))
    return record
