"""The gallery model's row edits: a new answer from the index shown as inserts and removals, when few differ."""

import random

from studio.core.history_index import HistoryEntry
from studio.ui.history_view import MAX_EDITS, _edits


def entry(name, mtime, prompt=""):
    return HistoryEntry(name, mtime, 1, prompt, "", "", None, None, None)


def apply(old, edits):
    rows = list(old)
    for kind, row, items in edits:
        if kind == "insert":
            rows[row:row] = items
        elif kind == "remove":
            assert rows[row:row + len(items)] == items
            del rows[row:row + len(items)]
        else:
            rows[row:row + len(items)] = items
    return rows


def test_edits_turn_the_old_list_into_the_new_one():
    rng = random.Random(3)
    pool = [entry(f"{i:05d}.png", rng.randrange(40)) for i in range(120)]
    for _ in range(300):
        old = tuple(sorted(rng.sample(pool, rng.randrange(60)), key=lambda e: (e.mtime_ns, e.name), reverse=True))
        new = [e if rng.random() > 0.1 else entry(e.name, e.mtime_ns, "changed") for e in rng.sample(pool, 50)]
        new = tuple(sorted(new, key=lambda e: (e.mtime_ns, e.name), reverse=True))
        edits = _edits(old, new)
        assert apply(old, edits) == list(new)


def test_runs_of_rows_are_one_edit_and_a_new_list_is_a_reset():
    old = tuple(entry(f"{i}.png", 100 - i) for i in range(10))
    new = (entry("a.png", 200), entry("b.png", 199), *old[:3], *old[6:])
    assert [(kind, row, len(items)) for kind, row, items in _edits(old, new)] == [("insert", 0, 2), ("remove", 5, 3)]
    many = tuple(entry(f"n{i}.png", 2000 - i) for i in range(MAX_EDITS + 5))
    assert _edits(old, many) is None
