"""The history index: an SQLite cache of the outputs folder's images and the recipes they carry.

The image files are the truth; this database only makes listing and searching 10,000 of them fast. It is
rebuilt from the files whenever it is missing, from another schema version, or damaged (a damaged file is set
aside with :func:`studio.core.atomic.set_aside`, never deleted). :meth:`HistoryIndex.sync` brings it in step with
the folder: files that are new or changed (size or modification time) have their recipe read with
:mod:`studio.core.metadata`, files that are gone leave the index.

One connection, used from one thread (the session's history thread), in WAL mode.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from studio.core.atomic import set_aside
from studio.core.errors import StudioError
from studio.core.metadata import read_checked_recipe

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
BATCH = 200  # files read between commits during a sync, so a long rebuild shows its progress

_SCHEMA = """
CREATE TABLE images (
    name TEXT PRIMARY KEY,      -- the file's name inside the outputs folder
    mtime_ns INTEGER NOT NULL,
    size INTEGER NOT NULL,
    prompt TEXT NOT NULL,
    negative_prompt TEXT NOT NULL,
    model TEXT NOT NULL,
    mode TEXT NOT NULL,         -- txt2img, img2img, inpaint; empty for an image without a recipe
    seed INTEGER,
    width INTEGER,
    height INTEGER,
    recipe TEXT                 -- the recipe as JSON, NULL when the file carries none
);
CREATE INDEX images_newest ON images (mtime_ns DESC);
"""
_COLUMNS = "name, mtime_ns, size, prompt, model, mode, seed, width, height"


@dataclass(frozen=True)
class HistoryEntry:
    """One image of the outputs folder, as the gallery lists it."""

    name: str
    mtime_ns: int
    size: int
    prompt: str
    model: str
    mode: str
    seed: int | None
    width: int | None
    height: int | None


@dataclass(frozen=True)
class HistoryFilter:
    """What the gallery shows: every word of ``text`` in the prompt (case-insensitive), one model and mode
    (empty: any), files modified at or after ``since`` (seconds since the epoch; None: any time), only
    ``favourites`` (names) when ``favourites_only``."""

    text: str = ""
    model: str = ""
    mode: str = ""
    since: float | None = None
    favourites_only: bool = False


class HistoryIndex:
    def __init__(self, db_path: Path, folder: Path) -> None:
        self.db_path = Path(db_path)
        self.folder = Path(folder)
        self._db = self._open()
        # Files that could not be read as images, as they were then: tried again once they change (a copy ends).
        self._unreadable: dict[str, tuple[int, int]] = {}

    # -- opening, and rebuilding from nothing ---------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            log.warning("The history index %s is damaged (%s): set aside and rebuilt from the images",
                        self.db_path, exc)
            self._set_aside()
            return self._connect()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, check_same_thread=False)  # used by one thread at a time
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")  # a cache: losing the last commits to a power cut is fine
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                if version:
                    log.info("The history index has schema %d, not %d: rebuilt", version, SCHEMA_VERSION)
                db.executescript(f"DROP TABLE IF EXISTS images; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION};")
            db.execute("SELECT count(*) FROM images").fetchone()
            db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def rebuild(self) -> None:
        """Set the database aside and start an empty one (damage found after opening); :meth:`sync` refills it."""
        log.warning("The history index %s is damaged: set aside and rebuilt from the images", self.db_path)
        self._db.close()
        self._set_aside()
        self._unreadable.clear()
        self._db = self._connect()

    def _set_aside(self) -> None:
        set_aside(self.db_path)
        for suffix in ("-wal", "-shm"):  # they belong to the damaged file and would be replayed into the new one
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        self._db.close()

    # -- keeping it in step with the folder -----------------------------------------------------------------
    def sync(self, progress: Callable[[], None] | None = None, stop: Callable[[], bool] = lambda: False) -> bool:
        """Make the index list exactly the folder's images; ``progress()`` after each batch of files read.
        True when anything changed. Stops early (leaving a consistent index) when ``stop()`` says so."""
        on_disk = _listing(self.folder)
        rows = self._db.execute("SELECT name, mtime_ns, size FROM images")
        known = {name: (mtime, size) for name, mtime, size in rows}
        gone = [name for name in known if name not in on_disk]
        changed = sorted((name for name, stat in on_disk.items()
                          if known.get(name) != stat and self._unreadable.get(name) != stat),
                         key=lambda name: on_disk[name][0], reverse=True)  # newest first: they show first
        for name in [name for name in self._unreadable if name not in on_disk]:
            del self._unreadable[name]
        with self._db:
            self._db.executemany("DELETE FROM images WHERE name = ?", [(name,) for name in gone])
        for start in range(0, len(changed), BATCH):
            if stop():
                break
            rows = [row for name in changed[start:start + BATCH] if (row := self._row(name, *on_disk[name]))]
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO images VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            if progress is not None:
                progress()
        return bool(gone or changed)

    def update(self, names: Iterable[str]) -> None:
        """Read (or forget, when gone) just these files: results the app has saved, files it moved to the trash."""
        for name in names:
            path = self.folder / name
            try:
                stat = path.stat()
            except OSError:
                stat = None
            with self._db:
                if stat is None:
                    self._db.execute("DELETE FROM images WHERE name = ?", (name,))
                elif row := self._row(name, stat.st_mtime_ns, stat.st_size):
                    self._db.execute("INSERT OR REPLACE INTO images VALUES (?,?,?,?,?,?,?,?,?,?,?)", row)

    def _row(self, name: str, mtime_ns: int, size: int) -> tuple | None:
        try:
            checked = read_checked_recipe(self.folder / name)
        except StudioError as exc:  # not readable as an image (yet: a copy may be under way): listed when it is
            log.info("Not in the history for now: %s", exc)
            self._unreadable[name] = (mtime_ns, size)
            return None
        except Exception:  # noqa: BLE001 - one odd file must not stop the index; Pillow raises many kinds
            log.exception("Reading the recipe of %s failed", name)
            checked = None
        if checked is None:
            return (name, mtime_ns, size, "", "", "", "", None, None, None, None)
        r = checked.recipe
        recipe = json.dumps(r.to_dict(), ensure_ascii=False)
        return (name, mtime_ns, size, r.prompt, r.negative_prompt, r.model, r.mode, r.seed, r.width, r.height, recipe)

    # -- questions ------------------------------------------------------------------------------------------
    def query(self, wanted: HistoryFilter, favourites: frozenset[str] = frozenset()) -> list[HistoryEntry]:
        """The entries ``wanted`` selects, newest first."""
        clauses, args = [], []
        for word in wanted.text.split():
            clauses.append("prompt LIKE ? ESCAPE '\\'")
            args.append(f"%{_escape_like(word)}%")
        if wanted.model:
            clauses.append("model = ?")
            args.append(wanted.model)
        if wanted.mode:
            clauses.append("mode = ?")
            args.append(wanted.mode)
        if wanted.since is not None:
            clauses.append("mtime_ns >= ?")
            args.append(int(wanted.since * 1e9))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM images {where} ORDER BY mtime_ns DESC, name DESC", args)
        entries = [HistoryEntry(*row) for row in rows]
        if wanted.favourites_only:
            entries = [entry for entry in entries if entry.name in favourites]
        return entries

    def models(self) -> list[str]:
        """Every model named by an indexed recipe, for the model filter."""
        rows = self._db.execute("SELECT DISTINCT model FROM images WHERE model != '' ORDER BY model")
        return [row[0] for row in rows]


def _listing(folder: Path) -> dict[str, tuple[int, int]]:
    """``{name: (mtime_ns, size)}`` of the images directly in ``folder`` (not temporary files of saves)."""
    found = {}
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return found
    for entry in entries:
        if entry.name.startswith(".") or os.path.splitext(entry.name)[1].lower() not in IMAGE_SUFFIXES:
            continue
        try:
            if entry.is_file():
                stat = entry.stat()
                found[entry.name] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            continue
    return found


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
