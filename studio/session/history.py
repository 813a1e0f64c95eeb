"""The history: every image of the outputs folder, newest first, kept in step with the folder while the app runs.

:class:`History` is observable (``entries``, ``models``, ``favourites``, ``scanning``) and does its work in one
thread of its own, which owns the SQLite index (:mod:`studio.core.history_index`): the rescan at start (the
window does not wait for it; a rebuild of 10,000 images shows them as they are read), the files the app saved,
the folder changes a ``QFileSystemWatcher`` reports (debounced: a ``studio generate`` run writing many images
causes few rescans), and the queries of the search and filters. The GUI thread only sends commands and takes
answers; an answer for a filter that has been replaced since is dropped.

Stars are kept in ``favourites.json`` (:mod:`studio.core.favourites`), deleting moves files to the system
trash (:mod:`studio.session.trash`), and the last deletions can be undone.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal, Slot

from studio.core.favourites import load_favourites, save_favourites
from studio.core.history_index import HistoryFilter, HistoryIndex
from studio.core.paths import cache_dir, outputs_dir
from studio.session.observable import observable
from studio.session.trash import Trashed, move_to_trash, put_back

log = logging.getLogger(__name__)

DEBOUNCE_MS = 300
INDEX_NAME = "history.sqlite3"


class History(QObject):
    entries_changed = Signal(object)  # tuple[HistoryEntry, ...] that ``filter`` selects, newest first
    models_changed = Signal(object)  # tuple[str, ...]: the models the recipes name
    favourites_changed = Signal(object)  # frozenset[str] of names
    scanning_changed = Signal(bool)
    filter_changed = Signal(object)
    trashed = Signal(int)  # how many files the last deletion moved to the trash (undo_trash brings them back)
    error = Signal(str)

    entries = observable(())
    models = observable(())
    favourites = observable(frozenset())
    scanning = observable(False)
    filter = observable(HistoryFilter())

    def __init__(self, folder: Path | None = None, index_path: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.folder = Path(folder) if folder is not None else outputs_dir()
        self._index_path = index_path or cache_dir() / INDEX_NAME
        self.favourites = load_favourites()
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._undo: list[list[Trashed]] = []
        outbox = _Outbox(self)  # a child: the thread never holds the last reference to a QObject it would delete
        outbox.answered.connect(self._on_answer)
        outbox.scan_done.connect(self._on_scan_done)
        outbox.failed.connect(self.error)
        self._indexer = _Indexer(self._commands, self._index_path, self.folder, self.favourites, outbox)
        self._watcher = QFileSystemWatcher(self)
        self._watcher.directoryChanged.connect(self._schedule_sync)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.rescan)

    # -- commands from the GUI thread ---------------------------------------------------------------------
    def start(self) -> None:
        """Open the index and rescan the folder in the history thread; watch the folder from now on."""
        if self._thread is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        self._watcher.addPath(str(self.folder))
        self._thread = threading.Thread(target=self._indexer.run, name="history", daemon=True)
        self._thread.start()
        self.rescan()

    def rescan(self) -> None:
        self.scanning = True
        self._commands.put(("sync", None))

    def set_filter(self, wanted: HistoryFilter) -> None:
        self.filter = wanted
        self._commands.put(("query", wanted))

    def add(self, paths: Iterable[Path]) -> None:
        """Files the app has just written to the outputs folder: listed without waiting for the watcher."""
        self._commands.put(("update", [Path(p).name for p in paths if Path(p).parent == self.folder]))

    def path(self, name: str) -> Path:
        return self.folder / name

    def set_favourite(self, names: Iterable[str], starred: bool) -> None:
        names = set(names)
        self.favourites = frozenset(self.favourites | names if starred else self.favourites - names)
        self._commands.put(("favourites", self.favourites))

    def trash(self, names: Iterable[str]) -> None:
        """Move the images to the system trash (``trashed``; :meth:`undo_trash` brings them back). A file the
        platform will not trash stays where it is, and ``error`` says so."""
        names = list(names)
        moved = [done for name in names if (done := move_to_trash(self.path(name))) is not None]
        if moved:
            self._undo.append(moved)
            self._commands.put(("update", [t.original.name for t in moved]))
            self.trashed.emit(len(moved))
        if len(moved) < len(names):
            left = len(names) - len(moved)
            self.error.emit(f"{left} image{'s' if left != 1 else ''} could not be moved to the system trash, "
                            "so nothing was deleted there (the log says why).")

    def can_undo_trash(self) -> bool:
        return bool(self._undo)

    def undo_trash(self) -> None:
        """Bring the files of the last deletion back from the trash."""
        if not self._undo:
            return
        moved = self._undo.pop()
        back = [t.original.name for t in moved if put_back(t)]
        self._commands.put(("update", back))
        if len(back) < len(moved):
            self.error.emit("Some images could not be brought back from the trash (they are still there).")

    def close(self) -> None:
        self._debounce.stop()
        self._commands.put(("stop", None))

    def _schedule_sync(self, _path: str = "") -> None:
        self._debounce.start()

    @Slot()
    def _on_scan_done(self) -> None:
        self.scanning = False

    @Slot(object, object, object)
    def _on_answer(self, answered: HistoryFilter, entries: tuple, models: tuple) -> None:
        self.models = models
        if answered == self.filter:
            self.entries = entries


class _Outbox(QObject):
    """The history thread's answers, delivered on the GUI thread (queued: the receiver lives there)."""

    answered = Signal(object, object, object)  # filter, entries, models
    scan_done = Signal()
    failed = Signal(str)

    def send(self, signal_name: str, *args) -> None:
        try:
            getattr(self, signal_name).emit(*args)
        except RuntimeError:
            pass  # the history was deleted with its window: nobody to tell


class _Indexer:
    """The history thread: carries out the GUI thread's commands on the index, answers through the outbox."""

    def __init__(self, commands: queue.SimpleQueue, index_path: Path, folder: Path, favourites: frozenset[str],
                 outbox: _Outbox) -> None:
        self._commands = commands
        self._index_path = index_path
        self._folder = folder
        self._favourites = favourites
        self._outbox = outbox
        self._wanted = HistoryFilter()  # the latest query
        self._stop = threading.Event()

    def run(self) -> None:
        try:
            index = HistoryIndex(self._index_path, self._folder)
        except Exception:  # noqa: BLE001 - no index (an unwritable cache folder): the window works without a history
            log.exception("The history index could not be opened")
            self._outbox.send("scan_done")
            return
        try:
            while not self._stop.is_set():
                commands = [self._commands.get()]
                while not self._commands.empty():
                    commands.append(self._commands.get())
                try:
                    self._carry_out(index, commands)
                except sqlite3.DatabaseError:  # damaged while open (a disk error, another program)
                    log.exception("The history index failed")
                    index.rebuild()
                    self._commands.put(("sync", None))
        except Exception:  # noqa: BLE001 - a bug here must not take the window down; the log has it
            log.exception("The history thread failed")
        finally:
            index.close()

    def _carry_out(self, index: HistoryIndex, commands: list) -> None:
        sync, changed = self._apply(index, commands)
        if sync:
            index.sync(progress=lambda: self._answer(index, during_sync=True), stop=self._stop.is_set)
            self._outbox.send("scan_done")
        if changed and not self._stop.is_set():
            self._answer(index)

    def _apply(self, index: HistoryIndex, commands: list) -> tuple[bool, bool]:
        """Carry out the commands; (a rescan is wanted, the answer may have changed)."""
        sync = changed = False
        for kind, payload in commands:
            if kind == "stop":
                self._stop.set()
            elif kind == "sync":
                sync = changed = True
            elif kind == "query":
                self._wanted, changed = payload, True
            elif kind == "update":
                index.update(payload)
                changed = True
            elif kind == "favourites":
                self._favourites = payload
                changed = changed or self._wanted.favourites_only
                try:
                    save_favourites(payload)
                except OSError as exc:
                    log.exception("Saving the favourites failed")
                    self._outbox.send("failed", f"The stars could not be saved ({exc.strerror or exc}).")
        return sync, changed

    def _answer(self, index: HistoryIndex, during_sync: bool = False) -> None:
        if during_sync:  # a long rescan answers the newest query at once and leaves other commands for later
            later = []
            while not self._commands.empty():
                kind, payload = self._commands.get()
                if kind == "query":
                    self._wanted = payload
                else:
                    later.append((kind, payload))
                    if kind == "stop":
                        self._stop.set()
            for command in later:
                self._commands.put(command)
        wanted = self._wanted
        self._outbox.send("answered", wanted, tuple(index.query(wanted, self._favourites)), tuple(index.models()))
