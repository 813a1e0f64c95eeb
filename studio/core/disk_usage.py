"""How many bytes a file or a folder takes on disk: a model's size in the library, the conversion cache's size."""

import os
import stat
from pathlib import Path


def folder_size(path: Path, follow_links: bool) -> int:
    """The size of the files under ``path`` (or of ``path`` itself, a file); 0 when it is not there.

    ``follow_links``: a linked file counts as its target (a Hugging Face snapshot links each file to its blob), and
    so does ``path`` itself; else a link counts as the link, so what is measured never leads outside ``path`` (the
    conversion cache's limit is about what its folder holds). Linked folders inside are never entered (no loops),
    and a file that vanishes during the walk is skipped.
    """
    measure = os.stat if follow_links else os.lstat
    try:
        top = measure(path)
    except OSError:
        return 0
    if not stat.S_ISDIR(top.st_mode):
        return top.st_size
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += measure(os.path.join(folder, name)).st_size
            except OSError:  # removed meanwhile, or unreadable: it takes nothing we could count
                pass
    return total
