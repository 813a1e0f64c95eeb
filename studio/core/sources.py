"""Telling what kind of model source a user gave: a path on disk or a Hugging Face hub id."""

import re
from pathlib import Path

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def is_hub_id(source: str) -> bool:
    """"owner/name", with no file suffix, and not something that exists on disk."""
    path = Path(source).expanduser()
    return bool(_HUB_ID.match(source)) and not path.suffix and not path.exists()
