"""The model library the window shows: what the model folders hold, kept current, scanned off the GUI thread.

``entries`` is the last scan's result (a tuple of ``core.model_scan.ModelEntry``). A scan runs in a daemon
thread and its result comes back through a queued signal; a newer scan's result replaces an older one, and a
stale one is dropped. A ``QFileSystemWatcher`` on every scanned folder (sub-folders too) starts a rescan,
debounced, when files appear, vanish or are renamed, so copying a hundred LoRAs in causes one scan, not a hundred.
After each scan the entries without a cached hash are hashed one by one in another daemon thread (A1111's hashes,
``core.hashing``); ``hash_ready`` tells who asked.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

from studio.core import hashing
from studio.core.model_folders import LibraryFolder, ModelKind, configured_folders
from studio.core.model_scan import ModelEntry, find_entry, scan
from studio.session.observable import observable

log = logging.getLogger(__name__)

DEBOUNCE_MS = 400


def entry_hash(entry: ModelEntry, *, compute: bool) -> str | None:
    """The full hash A1111 records for ``entry`` (LoRAs: addnet; others: sha256); cached only, unless ``compute``."""
    method = "addnet" if entry.kind is ModelKind.LORA and entry.path.suffix.lower() == ".safetensors" else "sha256"
    if entry.path.is_dir():
        return None
    if not compute:
        return hashing.cached_hash(entry.path, method)
    return hashing.addnet_hash(entry.path) if method == "addnet" else hashing.sha256_of_file(entry.path)


class ModelLibrary(QObject):
    entries_changed = Signal(object)
    scanning_changed = Signal(bool)
    hash_ready = Signal(str, str)  # path, full hex digest
    _scanned = Signal(int, object, object)  # generation, entries, folders to watch (from the scan thread)
    _hashed = Signal(str, str)

    entries = observable(())
    scanning = observable(False)

    def __init__(self, folders: Callable[[], list[LibraryFolder]] = configured_folders, *, hash_in_background=True,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._folders = folders
        self._hash_in_background = hash_in_background
        self._generation = 0
        self._hashes: dict[str, str] = {}
        self._stop = threading.Event()
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._schedule)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.rescan)
        self._scanned.connect(self._on_scanned)
        self._hashed.connect(self._on_hashed)

    # -- questions -------------------------------------------------------------------------------------
    def find(self, kind: ModelKind, name: str) -> ModelEntry | None:
        return find_entry(self.entries, kind, name)

    def of_kind(self, kind: ModelKind) -> list[ModelEntry]:
        return [e for e in self.entries if e.kind is kind]

    def hash_of(self, entry: ModelEntry) -> str | None:
        """The entry's full hash when it is known (computed in the background after a scan)."""
        return self._hashes.get(str(entry.path))

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
            try:
                self._scanned.emit(generation, entries, watched)
            except RuntimeError:
                pass  # the library was deleted while scanning

        threading.Thread(target=work, name="model-scan", daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        self._debounce.stop()

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
        for entry in entries:  # what is cached already is known at once
            known = _safe_hash(entry, compute=False)
            if known:
                self._hashes[str(entry.path)] = known
        missing = [e for e in entries if str(e.path) not in self._hashes and not e.path.is_dir() and not e.problem]
        if not missing:
            return
        generation = self._generation

        def work() -> None:
            for entry in missing:
                if self._stop.is_set() or generation != self._generation:
                    return
                digest = _safe_hash(entry, compute=True)
                if digest:
                    try:
                        self._hashed.emit(str(entry.path), digest)
                    except RuntimeError:
                        return

        threading.Thread(target=work, name="model-hash", daemon=True).start()

    def _on_hashed(self, path: str, digest: str) -> None:
        self._hashes[path] = digest
        self.hash_ready.emit(path, digest)


def _safe_hash(entry: ModelEntry, *, compute: bool) -> str | None:
    try:
        return entry_hash(entry, compute=compute)
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
