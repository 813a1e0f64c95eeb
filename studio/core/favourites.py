"""Starred outputs: the names of favourite images, kept in ``<root>/favourites.json``.

Not in the history index (a cache, rebuilt from the images at any time) nor in the images (a star must not
rewrite a file the user made): a small file of its own, written atomically. A damaged file is set aside and the
stars start empty; a starred image that is renamed outside the app loses its star.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from studio.core.atomic import atomic_write_text, set_aside
from studio.core.paths import studio_home

log = logging.getLogger(__name__)

SCHEMA = 1


def favourites_path() -> Path:
    return studio_home() / "favourites.json"


def load_favourites(path: Path | None = None) -> frozenset[str]:
    path = path or favourites_path()
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
        names = data["names"] if isinstance(data, dict) else None
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValueError("no list of names")
    except FileNotFoundError:
        return frozenset()
    except OSError as exc:
        log.warning("Cannot read the favourites %s: %s", path, exc)
        return frozenset()
    except (ValueError, KeyError, RecursionError) as exc:
        log.warning("The favourites file %s is damaged (%s): kept as %s", path, exc, set_aside(path))
        return frozenset()
    return frozenset(names)


def save_favourites(names: frozenset[str], path: Path | None = None) -> None:
    data = {"schema": SCHEMA, "names": sorted(names)}
    atomic_write_text(path or favourites_path(), json.dumps(data, indent=1, ensure_ascii=False))
