"""Parsing ``parameters`` text grows linearly: 10x the text takes about 10x the time, for realistic texts and for
the crafted shapes that take A1111's regex quadratic time (tests/bad_inputs.py).

``python -m tests.bench metadata``: best of a few runs per size, so one busy moment on a shared machine does not
decide a figure.
"""

import re
import time

from studio.core.metadata import format_parameters, parse_parameters
from tests import bad_inputs

SIZES = (100_000, 1_000_000)  # 1 MB: beyond the 256 K characters the app reads, to show the parser alone


def _realistic(chars: int) -> str:
    """An ordinary text made long: a prompt and negative prompt of many lines, then the usual parameters line."""
    lines = ("masterpiece, best quality, (a lighthouse at dusk:1.2), <lora:film:0.8>\n" * (chars // 72 + 1))
    return lines[: chars // 2] + "\n" + format_parameters(bad_inputs.GOOD).replace("\n", "\n" + lines[: chars // 2], 1)


SHAPES = {
    "realistic": _realistic,
    "long key run": bad_inputs.slow_parameters,
    "many short keys": bad_inputs.many_commas_parameters,
    "unclosed quotes": bad_inputs.open_quotes_parameters,  # stops at 256 fields: less than linear
}


def _seconds(text: str, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        parse_parameters(text)
        best = min(best, time.perf_counter() - start)
    return best


def _regex_seconds(chars: int) -> float:
    """A1111's own regex on the long key run, for comparison (kept small: it is quadratic)."""
    line = bad_inputs.slow_parameters(chars).split("\n")[-1]
    pattern = re.compile(bad_inputs.A1111_PARAM)
    start = time.perf_counter()
    pattern.findall(line)
    return time.perf_counter() - start


def run() -> dict[str, tuple[float, float]]:
    figures = {name: tuple(_seconds(make(size)) for size in SIZES) for name, make in SHAPES.items()}
    figures["A1111 regex, long key run, 4 kB and 40 kB"] = (_regex_seconds(4_000), _regex_seconds(40_000))
    return figures


def report(figures: dict[str, tuple[float, float]]) -> str:
    lines = [f"{'parameters text':<42}{'100 kB':>10}{'1 MB':>10}{'ratio':>8}"]
    for name, (small, large) in figures.items():
        lines.append(f"{name:<42}{small * 1000:>8.1f}ms{large * 1000:>8.1f}ms{large / small:>8.1f}")
    return "\n".join(lines)
