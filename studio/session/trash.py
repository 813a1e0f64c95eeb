"""Moving outputs to the system trash (``QFile.moveToTrash``) and back again, for undo.

Nothing is ever deleted for good: where the platform has no trash (or refuses), the file stays where it was.
Putting a file back never replaces another file that has taken its name meanwhile.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QFile

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trashed:
    original: Path
    in_trash: Path


def move_to_trash(path: Path) -> Trashed | None:
    """Move ``path`` to the trash; where it went, or None when the platform refused (the file is untouched)."""
    file = QFile(str(path))
    if not file.moveToTrash():
        log.warning("Could not move %s to the trash: %s", path, file.errorString())
        return None
    return Trashed(Path(path), Path(file.fileName()))


def put_back(trashed: Trashed) -> bool:
    """Move a trashed file back to where it was; False (logged) when it is gone from the trash or its name is
    taken. On freedesktop systems the trash's ``.trashinfo`` note goes too."""
    source, target = trashed.in_trash, trashed.original
    try:
        os.link(source, target)  # fails when the name is taken: nothing is replaced
        os.unlink(source)
    except FileExistsError:
        log.warning("Cannot put %s back: %s exists", source, target)
        return False
    except OSError:
        try:  # no hard links across file systems (or on this one): a plain move to a name still free
            if target.exists():
                return False
            shutil.move(source, target)
        except OSError:
            log.exception("Cannot put %s back as %s", source, target)
            return False
    info = source.parent.parent / "info" / f"{source.name}.trashinfo"
    if source.parent.name == "files" and info.is_file():
        info.unlink(missing_ok=True)
    return True
