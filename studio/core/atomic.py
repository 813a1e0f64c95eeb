"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every write goes to a temporary file beside the target (``.<name>.<8 hex>.tmp``), is flushed to disk, and is
then renamed into place; the folder is synced after the rename, so the new name survives a power cut too.
Temporary files are created through the umask like any other file (not 0600). A write that must never replace
another file (:func:`atomic_create`) hard-links the finished temporary file onto its name, which fails when the
name is taken, even by another process.
"""

import errno
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

log = logging.getLogger(__name__)

# Seconds to wait before each new try when Windows refuses to replace a file another program holds open
# (a viewer, a virus scanner, a sync client): such holds are usually released within a moment.
REPLACE_RETRY_DELAYS: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4, 0.8) if os.name == "nt" else ()
# A temporary file older than this is left over from a save that was killed (a live save takes seconds).
STALE_TEMP_AGE_S = 3600.0
# Our own temporary names, and those of earlier versions (tempfile.mkstemp's 8 characters).
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
_BINARY = getattr(os, "O_BINARY", 0)


class NameTaken(FileExistsError):
    """:func:`atomic_create` found its name taken (and wrote nothing there)."""


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, flush it to disk, then rename it over ``path``."""
    return _write(Path(path), write, _replace)


def atomic_create(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Like :func:`atomic_write`, but never replaces a file: raises :class:`NameTaken` when ``path`` exists."""
    return _write(Path(path), write, _claim)


def publish_new(finished: Path, path: Path) -> Path:
    """Give the finished, flushed file ``finished`` (beside ``path``) the name ``path``, never replacing a file:
    raises :class:`NameTaken` and keeps ``finished`` when the name is taken (for files too large to copy)."""
    path = Path(path)
    _claim(str(finished), path)
    Path(finished).unlink(missing_ok=True)  # still there after a hard link
    _sync_folder(path.parent)
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def atomic_create_bytes(path: Path, data: bytes) -> Path:
    return atomic_create(path, lambda f: f.write(data))


def atomic_write_text(path: Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def set_aside(path: Path, label: str = "damaged") -> Path | None:
    """Rename ``path`` to ``<stem>.<label>-<time>[-n]<suffix>`` beside it, keeping it for inspection; the new
    path, or None when it could not be moved (logged). Never replaces a file set aside before."""
    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(100):
        target = path.with_name(f"{path.stem}.{label}-{stamp}{f'-{n}' if n else ''}{path.suffix}")
        if target.exists():
            continue
        try:
            path.replace(target)
        except OSError:
            log.exception("Could not set %s aside", path)
            return None
        return target
    log.error("Could not set %s aside: too many files set aside this second", path)
    return None


def clean_stale_temps(folder: Path, max_age_s: float = STALE_TEMP_AGE_S) -> list[Path]:
    """Remove temporary files that saves killed mid-way left in ``folder``: only our own name pattern, only
    files older than ``max_age_s`` (a save running now in another process keeps its file). Never raises."""
    removed = []
    cutoff = time.time() - max_age_s
    try:
        entries = [entry for entry in os.scandir(folder) if _TEMP_NAME.match(entry.name)]
    except OSError:
        return removed
    for entry in entries:
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError as exc:
            log.warning("Could not remove the stale temporary file %s: %s", entry.path, exc)
    if removed:
        log.info("Removed %d temporary file(s) left by interrupted saves in %s", len(removed), folder)
    return removed


def _write(path: Path, write: Callable[[BinaryIO], None], put: Callable[[str, Path], None]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _open_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        put(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)  # gone after a rename; still there after a link or a failure
    _sync_folder(path.parent)
    return path


def _open_temp(path: Path) -> tuple[int, str]:
    """A new file beside ``path``, created with mode 0666 so that the umask decides its permissions."""
    while True:
        tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp"))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666), tmp
        except FileExistsError:
            continue


def _replace(tmp: str, path: Path) -> None:
    for delay in REPLACE_RETRY_DELAYS:
        try:
            os.replace(tmp, path)
            return
        except PermissionError:
            log.info("%s is held by another program; trying again in %.2f s", path, delay)
            time.sleep(delay)
    try:
        os.replace(tmp, path)
    except PermissionError as exc:
        if not REPLACE_RETRY_DELAYS:
            raise
        raise PermissionError(exc.errno, "the file is in use by another program", str(path)) from exc


def _claim(tmp: str, path: Path) -> None:
    """Give the finished ``tmp`` the name ``path`` only if nobody has it (:class:`NameTaken` otherwise)."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError as exc:
        raise NameTaken(exc.errno, "the name is taken", str(path)) from exc
    except OSError as exc:  # a file system without hard links (FAT, exFAT, some network shares)
        log.debug("Cannot hard-link in %s (%s); claiming the name with an exclusive create", path.parent, exc)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _BINARY, 0o666))  # the name is ours now
    except FileExistsError as exc:
        raise NameTaken(exc.errno, "the name is taken", str(path)) from exc
    try:
        _replace(tmp, path)
    except BaseException:
        path.unlink(missing_ok=True)  # our own empty placeholder
        raise


def _sync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; Windows has no folder handles to sync)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):  # file systems that cannot sync a folder
            log.warning("Could not sync the folder %s: %s", folder, exc)
    finally:
        os.close(fd)
