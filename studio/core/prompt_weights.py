"""Ctrl+Up / Ctrl+Down in the prompt editor: AUTOMATIC1111's ``editAttention.js``, as a function on plain text.

With no selection, the ``<...>``, ``(...)`` or ``[...]`` block around the cursor is taken (its text before the
``:weight``), else the word under the cursor. A word becomes ``(word:1.1)`` (or ``0.9``); an existing
``(text:W)`` goes up or down by 0.1 (an extra-network tag ``<lora:name:W>`` by 0.05); ``((text))`` and
``[text]`` are first converted to ``(text:1.2)`` / ``(text:0.9)``; a weight that comes back to 1.0 drops the
brackets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ATTENTION_STEP = 0.1
EXTRA_NETWORK_STEP = 0.05
DELIMITERS = ".,\\/!?%^*;:{}=`~() \t\r\n"  # A1111's keyedit_delimiters plus the whitespace ones
_HAS_WEIGHT = re.compile(r".*:-?[\d.]+", re.S)


@dataclass(frozen=True)
class Edit:
    text: str
    start: int  # the selection after the edit: the text whose weight changed
    end: int


def change_weight(text: str, start: int, end: int, up: bool) -> Edit | None:
    """The edited text and selection, or None when there is nothing to weigh at the cursor."""
    if start == end:
        for opening, closing in (("<", ">"), ("(", ")"), ("[", "]")):
            block = _block_around(text, start, opening, closing)
            if block:
                start, end = block
                break
        else:
            start, end = _word_around(text, start)
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    closing, delta = ")", ATTENTION_STEP
    if before == "<":
        closing, delta = ">", EXTRA_NETWORK_STEP
    elif (before, after) in (("(", ")"), ("[", "]")):  # old-style ((emphasis)) or [de-emphasis]
        depth = 0
        while start - depth - 1 >= 0 and end + depth < len(text) and (
            text[start - depth - 1] == before and text[end + depth] == after
        ):
            depth += 1
        weight = (1.1 if before == "(" else 1 / 1.1) ** depth
        weight = round(round(weight / ATTENTION_STEP) * ATTENTION_STEP, 12)
        text = f"{text[: start - depth]}({text[start:end]}:{_number(weight)}){text[end + depth :]}"
        start, end = start - depth + 1, end - depth + 1
    elif before != "(":
        while end > start and text[end - 1] == " ":
            end -= 1
        if start == end:
            return None
        text = f"{text[:start]}({text[start:end]}:1.0){text[end:]}"
        start, end = start + 1, end + 1
    if end >= len(text) or text[end] != ":":
        return None
    close = text.find(closing, end + 1)
    if close == -1:
        return None
    try:
        weight = float(text[end + 1 : close])
    except ValueError:
        return None
    weight = round(weight + (delta if up else -delta), 12)
    if closing == ")" and weight == 1:
        return Edit(text[: start - 1] + text[start:end] + text[close + 1 :], start - 1, end - 1)
    return Edit(text[: end + 1] + _number(weight) + text[close:], start, end)


def _number(weight: float) -> str:
    """``1.1``, ``0.9``, ``2.0`` (a whole number keeps its ``.0``, as A1111 writes it)."""
    return f"{weight:.1f}" if float(weight).is_integer() else f"{weight:.12g}"


def _block_around(text: str, cursor: int, opening: str, closing: str) -> tuple[int, int] | None:
    before, after = text[:cursor], text[cursor:]
    open_at = before.rfind(opening)
    if open_at == -1 or before.rfind(closing) > open_at:
        return None
    close_at = after.find(closing)
    if close_at == -1 or -1 < after.find(opening) < close_at:
        return None
    content = text[open_at + 1 : cursor + close_at]
    start = open_at + 1
    if _HAS_WEIGHT.match(content):
        return start, start + content.rindex(":")
    return start, start + len(content)


def _word_around(text: str, cursor: int) -> tuple[int, int]:
    start = end = cursor
    while start > 0 and text[start - 1] not in DELIMITERS:
        start -= 1
    while end < len(text) and text[end] not in DELIMITERS:
        end += 1
    return start, end
