"""Model hashes in the AUTOMATIC1111 style (first 10 hex digits of the file's sha256), cached on disk.

Hashing a multi-GB checkpoint takes seconds, so results are kept in ``<root>/cache/hashes.json``
keyed by path, size and modification time.
"""

import hashlib
import json
import logging
import threading
from pathlib import Path

from studio.core.atomic import atomic_write_text
from studio.core.paths import cache_dir

log = logging.getLogger(__name__)
_lock = threading.Lock()


def _cache_file() -> Path:
    return cache_dir() / "hashes.json"


def _load_cache() -> dict[str, str]:
    try:
        return json.loads(_cache_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("Ignoring an unreadable hash cache at %s", _cache_file())
        return {}


def file_hash(path: Path) -> str:
    """First 10 hex digits of the sha256 of ``path``."""
    path = Path(path).resolve()
    stat = path.stat()
    key = f"{path}|{stat.st_size}|{stat.st_mtime_ns}"
    with _lock:
        cache = _load_cache()
        if key in cache:
            return cache[key]
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    short = digest.hexdigest()[:10]
    with _lock:
        cache = _load_cache()
        cache[key] = short
        atomic_write_text(_cache_file(), json.dumps(cache, indent=0))
    return short
