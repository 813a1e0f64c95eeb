"""The model library the window shows: what the model folders hold, kept current, scanned off the GUI thread.

``entries`` is the last scan's result (a tuple of ``core.model_scan.ModelEntry``). A scan runs in a daemon
thread and its result comes back through a queued signal; a newer scan's result replaces an older one, and a
stale one is dropped. A ``QFileSystemWatcher`` on every scanned folder (sub-folders too) starts a rescan,
debounced, when files appear, vanish or are renamed, so copying a hundred LoRAs in causes one scan, not a hundred.
After each scan the entries without a cached hash are hashed one by one in another daemon thread (A1111's hashes,
``core.hashing``); ``hashes_ready`` tells who asked, once per batch.

The threads hand their results over through a queue that a timer on the GUI thread drains while work is under
way, and hashes are announced in batches rather than one signal per file: every ``Signal.emit`` from Python in
the installed PySide6 6.12.0 drops one reference to ``True`` (checked here: 100 emits, refcount of True down by
100), so a signal per file of a large library would bring the process down ("bool_dealloc").
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from studio.core import hashing
from studio.core.model_folders import LibraryFolder, ModelKind, configured_folders
from studio.core.model_scan import ModelEntry, find_entry, scan
from studio.session.observable import observable

log = logging.getLogger(__name__)

DEBOUNCE_MS = 400
POLL_MS = 30  # how often the GUI thread collects results while a scan or hashing runs


def entry_hash(entry: ModelEntry) -> str | None:
    """The full hash A1111 records for ``entry`` (LoRAs: addnet; others: sha256); None for folders. Blocking."""
    if entry.path.is_dir():
        return None
    return hashing.network_hash(entry.path) if entry.kind is ModelKind.LORA else hashing.sha256_of_file(entry.path)


class ModelLibrary(QObject):
    entries_changed = Signal(object)
    scanning_changed = Signal(bool)
    hashes_ready = Signal(object)  # {path: full hex digest} newly computed

    entries = observable(())
    scanning = observable(False)

    def __init__(self, folders: Callable[[], list[LibraryFolder]] = configured_folders, *, hash_in_background=True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._folders = folders
        self._hash_in_background = hash_in_background
        self._generation = 0
        self._hashes: dict[tuple, str] = {}  # (path, size, mtime) -> digest
        self._stop = threading.Event()
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._schedule)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.rescan)
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._running = 0  # worker threads not finished yet
        self._poll = QTimer(self, interval=POLL_MS)
        self._poll.timeout.connect(self._drain)

    # -- questions -------------------------------------------------------------------------------------
    def find(self, kind: ModelKind, name: str) -> ModelEntry | None:
        return find_entry(self.entries, kind, name)

    def of_kind(self, kind: ModelKind) -> list[ModelEntry]:
        return [e for e in self.entries if e.kind is kind]

    def hash_of(self, entry: ModelEntry) -> str | None:
        """The entry's full hash when it is known (computed in the background after a scan)."""
        return self._hashes.get(_key(entry))

    # -- scanning --------------------------------------------------------------------------------------
    def rescan(self) -> None:
        """Start a scan in the background (the result replaces ``entries`` when it comes)."""
        self._generation += 1
        generation = self._generation
        self.scanning = True
        folders = self._folders()  # cheap: creates the own folders, reads the settings

        def work() -> None:
            try:
                entries = tuple(scan(folders))
                watched = [d for folder in folders for d in _directories(folder.path)]
            except Exception:  # noqa: BLE001 - a bug in scanning must not take the window down
                log.exception("Scanning the model folders failed")
                entries, watched = (), []
            self._inbox.put(("scanned", (generation, entries, watched)))

        self._start(work, "model-scan")

    def close(self) -> None:
        self._stop.set()
        self._debounce.stop()
        self._poll.stop()

    def _start(self, work, name: str) -> None:
        def run() -> None:
            try:
                work()
            finally:
                self._inbox.put(("done", ()))

        self._running += 1
        self._poll.start()
        threading.Thread(target=run, name=name, daemon=True).start()

    def _drain(self) -> None:
        hashed: dict[ModelEntry, str] = {}
        while True:
            try:
                kind, payload = self._inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "done":
                self._running -= 1
            elif kind == "hashed":
                hashed[payload[0]] = payload[1]
            else:
                self._on_scanned(*payload)
        if not self._running:
            self._poll.stop()
        if hashed:
            self._hashes.update({_key(entry): digest for entry, digest in hashed.items()})
            self.hashes_ready.emit({str(entry.path): digest for entry, digest in hashed.items()})

    def _schedule(self, _path: str = "") -> None:
        self._debounce.start()

    def _on_scanned(self, generation: int, entries: tuple, watched: list[str]) -> None:
        if generation != self._generation:
            return  # a newer scan is on its way
        current = set(self._watcher.directories())
        wanted = set(watched)
        if current - wanted:
            self._watcher.removePaths(list(current - wanted))
        if wanted - current:
            self._watcher.addPaths(sorted(wanted - current))
        self.entries = entries
        self.scanning = False
        if self._hash_in_background:
            self._start_hashing(entries)

    # -- hashing ---------------------------------------------------------------------------------------
    def _start_hashing(self, entries: tuple) -> None:
        """Hash, in a thread, what is not known yet (the on-disk cache answers for files hashed before)."""
        missing = [e for e in entries if _key(e) not in self._hashes and not e.path.is_dir() and not e.problem]
        if not missing:
            return
        generation = self._generation

        def work() -> None:
            for entry in missing:
                if self._stop.is_set() or generation != self._generation:
                    return
                digest = _safe_hash(entry)
                if digest:
                    self._inbox.put(("hashed", (entry, digest)))

        self._start(work, "model-hash")


def _key(entry: ModelEntry) -> tuple:
    return (str(entry.path), entry.size, entry.mtime_ns)


def _safe_hash(entry: ModelEntry) -> str | None:
    try:
        return entry_hash(entry)
    except OSError as exc:
        log.info("Cannot hash %s: %s", entry.path, exc)
        return None


def _directories(root) -> list[str]:
    found = []
    for dirpath, dirnames, _files in os.walk(root):
        dirnames[:] = [d for d in dirnames  # not inside diffusers folders: they are one model each
                       if not d.startswith(".") and not os.path.isfile(os.path.join(dirpath, d, "model_index.json"))]
        found.append(dirpath)
    return found
