"""AUTOMATIC1111's prompt editing and alternation: which text a prompt reads at a given sampling step.

- ``[from:to:when]`` reads ``from`` up to step ``when`` and ``to`` after it; ``[to:when]`` adds ``to`` after
  ``when``; ``[from::when]`` removes ``from`` after it. ``when`` with a decimal point is a fraction of the
  steps (``0.5``: half-way), without one a step number, as A1111 reads it.
- ``[a|b|c]`` takes ``a`` at step 1, ``b`` at step 2, ``c`` at step 3, ``a`` again at step 4, ...
They nest, and their texts may hold weights. Square brackets that are neither (``[word]``, ``[a:b]``) stay
weights for :mod:`studio.core.prompt_syntax`.
"""

from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"\s*[+-]?\d*\.?\d+\s*")


def prompt_at_step(text: str, step: int = 1, steps: int | None = None) -> str:
    """``text`` as it reads at ``step`` (1-based) of ``steps``; ``steps=None`` means a run long enough that
    any positive fraction is past step 1 (what the editor shows and counts)."""
    return _resolve(text, step, steps)[0]


def is_scheduled(text: str) -> bool:
    """True when the text has prompt editing or alternation (it may read differently from step to step)."""
    return _resolve(text, 1, None)[1]


def _resolve(text: str, step: int, steps: int | None) -> tuple[str, bool]:
    out: list[str] = []
    found = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i : i + 2])
            i += 2
            continue
        if char == "[":
            end = _closing_bracket(text, i)
            if end is not None:
                chosen = _choice(_top_level_split(text[i + 1 : end]), step, steps)
                if chosen is not None:
                    out.append(_resolve(chosen, step, steps)[0])
                    found = True
                    i = end + 1
                    continue
        out.append(char)
        i += 1
    return "".join(out), found


def _choice(parts: list[tuple[str, str]], step: int, steps: int | None) -> str | None:
    """``parts``: the bracket's content split at top-level ``:`` and ``|`` as (separator before, text)."""
    separators = [sep for sep, _ in parts[1:]]
    texts = [part for _, part in parts]
    if separators and all(sep == "|" for sep in separators):
        return texts[(step - 1) % len(texts)]
    if separators in ([":"], [":", ":"]) and _NUMBER.fullmatch(texts[-1]):
        before, after = ("", texts[0]) if len(texts) == 2 else (texts[0], texts[1])
        return before if step <= _switch_step(texts[-1].strip(), steps) else after
    return None


def _switch_step(number: str, steps: int | None) -> float:
    """The last step that reads the 'from' text."""
    value = float(number)
    if "." in number:
        if steps is None:
            return math.inf if value > 0 else 0
        return min(steps, int(value * steps))
    return int(value) if steps is None else min(steps, int(value))


def _closing_bracket(text: str, start: int) -> int | None:
    depth = 0
    i = start
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _top_level_split(inner: str) -> list[tuple[str, str]]:
    parts: list[tuple[str, str]] = []
    separator, current, depth, i = "", [], 0, 0
    while i < len(inner):
        char = inner[i]
        if char == "\\" and i + 1 < len(inner):
            current.append(inner[i : i + 2])
            i += 2
            continue
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        if depth == 0 and char in ":|":
            parts.append((separator, "".join(current)))
            separator, current = char, []
        else:
            current.append(char)
        i += 1
    parts.append((separator, "".join(current)))
    return parts
