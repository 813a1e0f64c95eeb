"""AUTOMATIC1111's prompt syntax, parsed in plain Python: weights, BREAK, extra-network tags and the rest.

- ``(text)`` multiplies the weight of ``text`` by 1.1, ``[text]`` divides it by 1.1, ``(text:1.3)`` sets a
  factor; they nest (``((text))`` is 1.21). ``\\(`` ``\\)`` ``\\[`` ``\\]`` are literal brackets. Unbalanced
  brackets are read as A1111 reads them: an unclosed ``(`` still weighs everything after it, a stray ``)`` stays
  text. :func:`parse_attention` follows A1111's ``prompt_parser.parse_prompt_attention`` case for case.
- ``BREAK`` (upper case, a word of its own) starts a new 75-token chunk.
- ``<lora:NAME:W>``, ``<hypernet:NAME:W>`` (any ``<kind:...>``) are extra-network tags: taken out of the text
  the encoder sees and listed in :attr:`ParsedPrompt.networks`.
- Prompt editing ``[a:b:N]`` and alternation ``[a|b]`` choose the text of each step
  (:mod:`studio.core.prompt_schedule`) before the weights are read.
- ``AND`` (composable prompts) is recognised but not run: its parts are joined by commas, with a sentence in
  :attr:`ParsedPrompt.notices`; it is never read as text of the prompt.

Written here rather than taken from a library: compel parses its own syntax, not A1111's, and sd_embed is not a
published package; the A1111 rules fit in one page and are pinned by the tests against A1111's own cases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from studio.core.prompt_schedule import prompt_at_step

ROUND_FACTOR = 1.1
SQUARE_FACTOR = 1 / 1.1

# A1111's tokenizer for the attention syntax (prompt_parser.re_attention), kept as it is.
_ATTENTION = re.compile(
    r"""
\\\(|
\\\)|
\\\[|
\\]|
\\\\|
\\|
\(|
\[|
:\s*([+-]?[.\d]+)\s*\)|
\)|
]|
[^\\()\[\]:]+|
:
""",
    re.X,
)
_BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)
# A1111's extra-network tag (extra_networks.re_extra_net).
_EXTRA_NETWORK = re.compile(r"<(\w+):([^>]+)>")
_AND = re.compile(r"\bAND\b")
_AND_WEIGHT = re.compile(r"\s*:\s*[+-]?\d*\.?\d+\s*$")


@dataclass(frozen=True)
class Segment:
    """A run of text with one weight."""

    text: str
    weight: float = 1.0


@dataclass(frozen=True)
class Break:
    """``BREAK``: the next text starts a new chunk."""


BREAK = Break()


@dataclass(frozen=True)
class ExtraNetwork:
    """``<lora:NAME:0.8>`` is ``ExtraNetwork("lora", ("NAME", "0.8"), "<lora:NAME:0.8>")``."""

    kind: str
    args: tuple[str, ...]
    tag: str

    @property
    def name(self) -> str:
        return self.args[0] if self.args else ""


@dataclass(frozen=True)
class ParsedPrompt:
    source: str
    pieces: tuple[Segment | Break, ...]
    networks: tuple[ExtraNetwork, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def is_plain(self) -> bool:
        """True when the prompt uses no syntax at all: the encoder can take the text as written."""
        return self.pieces == (Segment(self.source),) and not self.networks and not self.notices


def parse_prompt(text: str, step: int = 1, steps: int | None = None) -> ParsedPrompt:
    """The whole A1111 reading of one prompt at ``step`` of ``steps`` (see the module docstring and
    :func:`~studio.core.prompt_schedule.prompt_at_step`)."""
    rest, networks = extract_extra_networks(text)
    rest, and_notice = join_and(prompt_at_step(rest, step, steps))
    notices = (and_notice,) if and_notice else ()
    return ParsedPrompt(source=text, pieces=tuple(parse_attention(rest)), networks=networks, notices=notices)


def prompt_notices(*prompts: str) -> list[str]:
    """The sentences about syntax that is read but not run, for all ``prompts`` together, without repeats."""
    return list(dict.fromkeys(notice for text in prompts for notice in parse_prompt(text).notices))


def family_notices(info, prompt: str, negative: str) -> list[str]:
    """What a model family does differently with the prompts (``info``: the loaded ``ModelInfo``)."""
    controls, notices = info.controls, []
    if negative.strip() and not controls.negative_prompt:
        notices.append(f"{info.family.label} models have no negative prompt; it is not used.")
    if controls.prompt_note and not all(parse_prompt(text).is_plain for text in (prompt, negative)):
        notices.append(controls.prompt_note)
    return notices


def extract_extra_networks(text: str) -> tuple[str, tuple[ExtraNetwork, ...]]:
    """The text without its ``<kind:args>`` tags, and the tags in order."""
    found = tuple(ExtraNetwork(m[1], tuple(m[2].split(":")), m[0]) for m in _EXTRA_NETWORK.finditer(text))
    return _EXTRA_NETWORK.sub("", text), found


def parse_attention(text: str) -> list[Segment | Break]:
    """Weighted segments and breaks, adjacent equal weights merged; ``[Segment("")]`` for an empty prompt."""
    pieces: list[list] = []  # [text, weight] pairs, or [BREAK, None]
    round_open: list[int] = []
    square_open: list[int] = []

    def multiply(start: int, factor: float) -> None:
        for piece in pieces[start:]:
            if piece[0] is not BREAK:
                piece[1] *= factor

    for match in _ATTENTION.finditer(text):
        token, weight = match[0], match[1]
        if token.startswith("\\"):
            pieces.append([token[1:], 1.0])
        elif token == "(":
            round_open.append(len(pieces))
        elif token == "[":
            square_open.append(len(pieces))
        elif weight is not None and round_open and _is_number(weight):
            multiply(round_open.pop(), float(weight))
        elif token == ")" and round_open:
            multiply(round_open.pop(), ROUND_FACTOR)
        elif token == "]" and square_open:
            multiply(square_open.pop(), SQUARE_FACTOR)
        else:  # text; also a stray ")" or "]", or ":1.2)" with no "(" open, kept as text as A1111 does
            for index, part in enumerate(_BREAK.split(token)):
                if index:
                    pieces.append([BREAK, None])
                pieces.append([part, 1.0])
    for start in round_open:
        multiply(start, ROUND_FACTOR)
    for start in square_open:
        multiply(start, SQUARE_FACTOR)
    merged: list[list] = []
    for piece in pieces:
        if merged and piece[0] is not BREAK and merged[-1][0] is not BREAK and merged[-1][1] == piece[1]:
            merged[-1][0] += piece[0]
        else:
            merged.append(piece)
    result = [BREAK if text is BREAK else Segment(text, weight) for text, weight in merged]
    return result or [Segment("")]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def join_and(text: str) -> tuple[str, str | None]:
    """``a AND b :1.2`` read as ``a, b``, with a notice; ``text`` unchanged when it has no ``AND``."""
    parts = _AND.split(text)
    if len(parts) == 1:
        return text, None
    cleaned = [_AND_WEIGHT.sub("", part).strip() for part in parts]
    notice = "AND (composable prompts) is not supported yet; the parts are read as one prompt, joined by commas."
    return ", ".join(part for part in cleaned if part), notice
