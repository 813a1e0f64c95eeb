"""Model hashes as AUTOMATIC1111 computes them, cached on disk.

- :func:`sha256_of_file`: the sha256 of the whole file (checkpoints' ``Model hash`` is its first 10 hex digits,
  embeddings' ``TI hashes`` and VAEs' ``VAE hash`` use it too);
- :func:`addnet_hash`: the sha256 of the bytes after a ``.safetensors`` header (A1111's "addnet" hash of a LoRA,
  which stays the same when only the training metadata changes; ``Lora hashes`` shows its first 12 digits).

Hashing a multi-GB file takes seconds, so full digests are kept in ``<root>/cache/hashes.json`` keyed by method,
path, size and modification time: a changed file is hashed again. The file is read once per process (then looked
up in memory) and re-read before each write, so two processes hashing at once keep each other's results.
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
_memory: dict[Path, dict[str, str]] = {}  # cache file -> its entries, as last read or written
_BLOCK = 1 << 20
SHORT_MODEL_HASH = 10  # A1111's "Model hash" / "VAE hash"
SHORT_NETWORK_HASH = 12  # A1111's "Lora hashes" / "TI hashes"


def _cache_file() -> Path:
    return cache_dir() / "hashes.json"


def _load_cache() -> dict[str, str]:
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("Ignoring an unreadable hash cache at %s", _cache_file())
        return {}


def _key(method: str, path: Path) -> str:
    stat = path.stat()
    return f"{method}|{path}|{stat.st_size}|{stat.st_mtime_ns}"


def cached_hash(path: Path, method: str) -> str | None:
    """The full digest of ``path`` by ``method`` ("sha256" or "addnet") if it is cached, else None."""
    path = Path(path).resolve()
    key = _key(method, path)
    with _lock:
        file = _cache_file()
        if file not in _memory:
            _memory[file] = _load_cache()
        return _memory[file].get(key)


def _hash(path: Path, method: str) -> str:
    path = Path(path).resolve()
    key = _key(method, path)
    cached = cached_hash(path, method)
    if cached:
        return cached
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        if method == "addnet":
            f.seek(8 + int.from_bytes(f.read(8), "little"))
        for chunk in iter(lambda: f.read(_BLOCK), b""):
            digest.update(chunk)
    full = digest.hexdigest()
    with _lock:
        cache = _load_cache()
        cache[key] = full
        atomic_write_text(_cache_file(), json.dumps(cache, indent=0))
        _memory[_cache_file()] = cache
    return full


def sha256_of_file(path: Path) -> str:
    """The sha256 (64 hex digits) of the whole file."""
    return _hash(path, "sha256")


def addnet_hash(path: Path) -> str:
    """A1111's LoRA hash: the sha256 of a ``.safetensors`` file's tensor data (everything after the header)."""
    return _hash(path, "addnet")


def network_hash(path: Path) -> str:
    """The hash A1111 records for a LoRA: ``addnet`` for ``.safetensors``, the file's sha256 otherwise."""
    return addnet_hash(path) if Path(path).suffix.lower() == ".safetensors" else sha256_of_file(path)


def file_hash(path: Path) -> str:
    """A checkpoint's ``Model hash``: the first 10 hex digits of its sha256."""
    return sha256_of_file(path)[:SHORT_MODEL_HASH]
