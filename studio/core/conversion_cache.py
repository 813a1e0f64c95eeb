"""A size limit for a folder of converted models: the least recently used go first when a new one would not fit.

Each direct child of the cache folder is one entry (a converted model's folder, with its compiled blobs inside).
Its last use is the time of its ``.last-used`` marker (:func:`mark_used`, touched by the run that uses it; file
access times are not kept on most mounts), else its own modification time. Removal never goes outside the folder:
a link is removed as a link, never followed, and hidden names (conversions still being written) are left alone.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from studio.core.disk_usage import folder_size

log = logging.getLogger(__name__)

USED_MARKER = ".last-used"


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    size: int  # bytes on disk, links not followed
    used: float  # last use, seconds since the epoch


def mark_used(folder: Path) -> None:
    """Record that ``folder`` (an entry) is used now."""
    try:
        (folder / USED_MARKER).touch()
    except OSError as exc:  # a read-only or vanished folder: it only ages sooner
        log.warning("Cannot mark %s as used: %s", folder, exc)


def entries(root: Path) -> list[CacheEntry]:
    """The entries under ``root``, least recently used first."""
    try:
        children = [child for child in root.iterdir() if not child.name.startswith(".")]
    except FileNotFoundError:
        return []
    found = [CacheEntry(child, folder_size(child, follow_links=False), _last_use(child)) for child in children]
    return sorted(found, key=lambda entry: entry.used)


def make_room(root: Path, incoming: int, limit: int, keep: Collection[str]) -> list[CacheEntry]:
    """Remove the least recently used entries until what is left plus ``incoming`` bytes fits in ``limit`` bytes;
    the removed entries. Entries named in ``keep`` (or ``NAME-variant``) stay, even when the limit is not met."""
    present = entries(root)
    total = sum(entry.size for entry in present)
    removed = []
    for entry in present:
        if total + incoming <= limit:
            break
        if _kept(entry.path.name, keep):
            continue
        if _remove(entry.path):
            total -= entry.size
            removed.append(entry)
    if total + incoming > limit:
        log.info("Cache %s stays over its limit (%d bytes with %d incoming, limit %d): the rest is in use",
                 root, total, incoming, limit)
    return removed


def _kept(name: str, keep: Collection[str]) -> bool:
    return any(name == kept or name.startswith(f"{kept}-") for kept in keep)


def _remove(path: Path) -> bool:
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink()
        else:
            shutil.rmtree(path)
    except OSError as exc:  # in use by another process (Windows), permissions: try the next one
        log.warning("Cannot remove %s from the cache: %s", path, exc)
        return False
    log.info("Removed %s from the cache", path)
    return True


def _last_use(path: Path) -> float:
    try:
        return (path / USED_MARKER).stat().st_mtime
    except OSError:
        return path.lstat().st_mtime
