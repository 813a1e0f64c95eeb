"""The conversion cache's size limit on real folders: sizes on disk, last-use times, what is kept, what is never
touched (links' targets, files outside the cache, conversions still being written)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from studio.core.conversion_cache import USED_MARKER, entries, make_room, mark_used

NOW = time.time()


def _model(root: Path, name: str, size: int, age_hours: float, *, blob: int = 0) -> Path:
    """A converted model's folder: ``model.bin`` of ``size`` bytes (and a compiled blob), last used that long ago."""
    folder = root / name
    (folder / "compiled").mkdir(parents=True)
    (folder / "model.xml").write_bytes(b"")
    (folder / "model.bin").write_bytes(b"w" * size)
    if blob:
        (folder / "compiled" / "123.blob").write_bytes(b"b" * blob)
    mark_used(folder)
    when = NOW - age_hours * 3600
    os.utime(folder / USED_MARKER, (when, when))
    return folder


def _names(found) -> list[str]:
    return [entry.path.name for entry in found]


def test_entries_are_sized_on_disk_and_ordered_by_last_use(tmp_path):
    _model(tmp_path, "unet-new", 300, age_hours=1, blob=200)
    _model(tmp_path, "unet-old", 100, age_hours=48)
    _model(tmp_path, "vae_decoder-mid", 50, age_hours=5)

    found = entries(tmp_path)

    assert _names(found) == ["unet-old", "vae_decoder-mid", "unet-new"]
    assert [entry.size for entry in found] == [100, 50, 500]  # the compiled blob counts with its model
    assert found[0].used == pytest.approx(NOW - 48 * 3600)


def test_the_least_recently_used_go_first_until_the_new_one_fits(tmp_path):
    _model(tmp_path, "a-1", 100, age_hours=30)
    _model(tmp_path, "b-2", 100, age_hours=20)
    _model(tmp_path, "c-3", 100, age_hours=10)

    removed = make_room(tmp_path, incoming=100, limit=250, keep=())

    assert _names(removed) == ["a-1", "b-2"]  # 300 + 100 > 250, then 200 + 100 > 250, then 100 + 100 fits
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c-3"]


def test_nothing_is_removed_while_the_new_one_fits(tmp_path):
    _model(tmp_path, "a-1", 100, age_hours=30)

    assert make_room(tmp_path, incoming=100, limit=200, keep=()) == []
    assert (tmp_path / "a-1" / "model.bin").is_file()


def test_what_the_run_uses_is_kept_with_its_shape_variants_even_over_the_limit(tmp_path):
    _model(tmp_path, "unet-k", 100, age_hours=50)
    _model(tmp_path, "unet-k-odd", 100, age_hours=40)
    _model(tmp_path, "unet-other", 100, age_hours=30)
    _model(tmp_path, "text_encoder-t", 100, age_hours=20)

    removed = make_room(tmp_path, incoming=100, limit=100, keep=["unet-k", "text_encoder-t"])

    assert _names(removed) == ["unet-other"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text_encoder-t", "unet-k", "unet-k-odd"]


def test_a_use_makes_an_old_model_the_newest(tmp_path):
    _model(tmp_path, "a-1", 100, age_hours=30)
    _model(tmp_path, "b-2", 100, age_hours=20)

    mark_used(tmp_path / "a-1")

    assert _names(make_room(tmp_path, incoming=0, limit=150, keep=())) == ["b-2"]


def test_a_folder_without_a_marker_counts_from_its_own_time(tmp_path):
    legacy = tmp_path / "compiled"  # the shared blob folder of earlier versions
    legacy.mkdir()
    (legacy / "9.blob").write_bytes(b"x" * 70)
    when = NOW - 100 * 3600
    os.utime(legacy, (when, when))
    _model(tmp_path, "unet-k", 100, age_hours=1)

    assert _names(entries(tmp_path)) == ["compiled", "unet-k"]
    assert _names(make_room(tmp_path, incoming=0, limit=100, keep=())) == ["compiled"]


def test_links_are_removed_as_links_and_nothing_outside_the_cache_is_touched(tmp_path):
    root, outside = tmp_path / "openvino", tmp_path / "precious"
    outside.mkdir()
    (outside / "picture.png").write_bytes(b"p" * 1000)
    (tmp_path / "beside.txt").write_bytes(b"s" * 10)
    inner = _model(root, "unet-k", 100, age_hours=30)
    (inner / "escape").symlink_to(outside, target_is_directory=True)  # a link inside an entry
    (root / "linked").symlink_to(outside, target_is_directory=True)  # an entry that is a link
    os.utime(root / "linked", (NOW - 50 * 3600,) * 2, follow_symlinks=False)

    removed = make_room(root, incoming=0, limit=0, keep=())

    assert sorted(_names(removed)) == ["linked", "unet-k"]
    assert list(root.iterdir()) == []
    assert (outside / "picture.png").read_bytes() == b"p" * 1000
    assert (tmp_path / "beside.txt").is_file()


def test_a_conversion_being_written_is_neither_counted_nor_removed(tmp_path):
    partial = tmp_path / ".unet-k.4242.partial"
    partial.mkdir()
    (partial / "model.bin").write_bytes(b"w" * 500)
    _model(tmp_path, "vae_decoder-v", 100, age_hours=3)

    assert _names(entries(tmp_path)) == ["vae_decoder-v"]
    assert _names(make_room(tmp_path, incoming=0, limit=0, keep=())) == ["vae_decoder-v"]
    assert (partial / "model.bin").is_file()


def test_a_missing_cache_folder_has_nothing_to_remove(tmp_path):
    assert entries(tmp_path / "none") == []
    assert make_room(tmp_path / "none", incoming=10, limit=5, keep=()) == []
