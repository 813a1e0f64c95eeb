"""What was read from a file, kept while the file stays the same (same path, size and modification time).

The engine resolves ``<lora:...>`` tags, embedding words and the VAE by scanning their folders before every
generation; with this cache a scan of unchanged folders costs a ``stat`` per file instead of a header read. A
file that is replaced, grows or is touched gets a new key, so it is read again. Thread-safe (the library scans
in its own thread, the engine in the worker's); bounded, the least recently used values go first.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")


class FileCache(Generic[T]):
    def __init__(self, limit: int = 20_000) -> None:
        self._limit = limit
        self._values: OrderedDict[tuple, T] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: Path, stat: os.stat_result, extra: Hashable, read: Callable[[], T]) -> T:
        """``read()``'s value for this version of ``path`` (``extra``: whatever else the value depends on)."""
        key = (str(path), stat.st_size, stat.st_mtime_ns, extra)
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = read()  # outside the lock: two threads may both read a new file, and get the same answer
        with self._lock:
            self._values[key] = value
            while len(self._values) > self._limit:
                self._values.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
