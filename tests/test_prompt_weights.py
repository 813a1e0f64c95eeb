"""Ctrl+Up / Ctrl+Down on prompt text, following A1111's editAttention.js."""

import pytest

from studio.core.prompt_weights import change_weight


def _edit(marked: str, up: bool = True) -> str:
    """``marked`` has the cursor as ``|`` or the selection as ``{...}``; returns the new text with its selection."""
    if "|" in marked:
        start = end = marked.index("|")
        text = marked.replace("|", "")
    else:
        start, end = marked.index("{"), marked.index("}") - 1
        text = marked.replace("{", "").replace("}", "")
    edit = change_weight(text, start, end, up)
    if edit is None:
        return None
    return edit.text[: edit.start] + "{" + edit.text[edit.start : edit.end] + "}" + edit.text[edit.end :]


@pytest.mark.parametrize("marked, up, expected", [
    ("a red f|ox in snow", True, "a red ({fox}:1.1) in snow"),
    ("a red f|ox in snow", False, "a red ({fox}:0.9) in snow"),
    ("a {red fox} in snow", True, "a ({red fox}:1.1) in snow"),
    ("a {red fox }in snow", True, "a ({red fox}:1.1) in snow"),
    ("a (red f|ox:1.1) in snow", True, "a ({red fox}:1.2) in snow"),
    ("a (red fox:1.|1) in snow", False, "a {red fox} in snow"),
    ("a ({red fox}:1.9)", True, "a ({red fox}:2.0)"),
    ("a ((f|ox))", True, "a ({fox}:1.3)"),
    ("a [f|ox]", False, "a ({fox}:0.8)"),
    ("<lora:fi|lm:0.8>", True, "<{lora:film}:0.85>"),
    ("a, |, b", True, None),
    ("|", True, None),
])
def test_change_weight(marked, up, expected):
    assert _edit(marked, up) == expected


def test_up_then_down_gives_back_the_text():
    text = "a red fox in snow"
    up = change_weight(text, 7, 7, True)
    down = change_weight(up.text, up.start, up.end, False)
    assert down.text == text and text[down.start : down.end] == "fox"
