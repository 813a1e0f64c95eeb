"""Prompt styles in AUTOMATIC1111's ``styles.csv`` format, kept at ``<root>/styles.csv``.

The file has a header row and the columns ``name,prompt,negative_prompt`` (A1111 reads and writes it as UTF-8
with a byte-order mark; newer versions add a ``description`` column, which is kept). A style's text containing
``{prompt}`` wraps the artist's prompt (the placeholder is replaced by it); otherwise the style is appended
after a comma, as A1111's ``merge_prompts`` does. Writes are atomic; a file that cannot be read as such a
table is moved aside (never deleted) and the app starts with no styles and a notice.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from studio.core.atomic import atomic_write_bytes, set_aside
from studio.core.paths import studio_home

log = logging.getLogger(__name__)

COLUMNS = ("name", "prompt", "negative_prompt")
PLACEHOLDER = "{prompt}"


@dataclass(frozen=True)
class Style:
    name: str
    prompt: str = ""
    negative_prompt: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # other columns of the file, kept as they were


@dataclass(frozen=True)
class LoadedStyles:
    styles: list[Style] = field(default_factory=list)
    notice: str | None = None  # one sentence for the user when the file could not be used


def styles_path() -> Path:
    return studio_home() / "styles.csv"


def merge_prompt(style_text: str, prompt: str) -> str:
    """A1111's rule: ``{prompt}`` in the style is replaced by the prompt, else the two are joined by ", "."""
    if PLACEHOLDER in style_text:
        return style_text.replace(PLACEHOLDER, prompt)
    return ", ".join(part for part in (prompt.strip(), style_text.strip()) if part)


def apply_style(style: Style, prompt: str, negative: str) -> tuple[str, str]:
    return merge_prompt(style.prompt, prompt), merge_prompt(style.negative_prompt, negative)


def load_styles(path: Path | None = None) -> LoadedStyles:
    path = path or styles_path()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return LoadedStyles()
    except OSError as exc:
        log.warning("Cannot read styles %s: %s", path, exc)
        return LoadedStyles(notice=f"The styles file could not be read ({exc.strerror or exc}).")
    try:
        return LoadedStyles(_parse(data.decode("utf-8-sig")))
    except (UnicodeDecodeError, csv.Error, ValueError) as exc:
        kept = set_aside(path)
        log.warning("Styles file %s is damaged (%s); kept it as %s", path, exc, kept)
        where = f" (kept as {kept.name})" if kept else ""
        return LoadedStyles(notice=f"The styles file was damaged and has been set aside{where}; no styles are loaded.")


def _parse(text: str) -> list[Style]:
    reader = csv.DictReader(io.StringIO(text, newline=""), skipinitialspace=True, strict=True)
    if reader.fieldnames is None:
        return []
    if "name" not in reader.fieldnames:
        raise ValueError("no 'name' column")
    styles = []
    for row in reader:
        if None in row:  # more cells than columns
            raise ValueError(f"row {reader.line_num} has more cells than the header")
        name = (row.get("name") or "").strip()
        if not name:
            continue
        extra = tuple((key, value or "") for key, value in row.items() if key not in COLUMNS)
        styles.append(Style(name, row.get("prompt") or "", row.get("negative_prompt") or "", extra))
    return styles


def save_styles(styles: list[Style], path: Path | None = None) -> Path:
    extra_columns = list(dict.fromkeys(key for style in styles for key, _ in style.extra))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, *extra_columns], lineterminator="\r\n")
    writer.writeheader()
    for style in styles:
        writer.writerow({"name": style.name, "prompt": style.prompt, "negative_prompt": style.negative_prompt,
                         **dict(style.extra)})
    return atomic_write_bytes(path or styles_path(), out.getvalue().encode("utf-8-sig"))


def with_style(styles: list[Style], style: Style) -> list[Style]:
    """``styles`` with ``style`` added, or replacing the one of the same name in its place (as A1111 does;
    the old one's other columns are kept)."""
    if any(s.name == style.name for s in styles):
        return [replace(style, extra=style.extra or s.extra) if s.name == style.name else s for s in styles]
    return [*styles, style]
