"""The history index: an SQLite cache of the outputs folder, rebuilt from the images' own metadata."""

import os
import sqlite3
import time

import pytest
from PIL import Image

from studio.core.favourites import load_favourites, save_favourites
from studio.core.history_index import SCHEMA_VERSION, HistoryFilter, HistoryIndex
from studio.core.metadata import exif_user_comment, format_parameters
from studio.core.outputs import save_image
from studio.core.recipe import Recipe


def recipe(prompt="a red fox", model="tiny-sd", mode="txt2img", seed=1):
    return Recipe(prompt=prompt, negative_prompt="", seed=seed, steps=3, cfg_scale=7.0, width=32, height=32,
                  sampler="Euler", model=model, mode=mode, strength=None if mode == "txt2img" else 0.5)


def made(folder, *recipes, spacing_s=10):
    """Outputs saved as the app saves them, each ``spacing_s`` newer than the one before."""
    paths = []
    start = time.time() - spacing_s * len(recipes)
    for i, r in enumerate(recipes):
        path = save_image(Image.new("RGB", (32, 32), (i * 20 % 255, 90, 160)), r, folder)
        os.utime(path, (start + i * spacing_s, start + i * spacing_s))
        paths.append(path)
    return paths


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "outputs"
    path.mkdir()
    return path


def names(entries):
    return [e.name for e in entries]


def test_sync_lists_every_image_newest_first_with_its_recipe(folder, tmp_path):
    fox, owl = made(folder, recipe("a red fox", seed=11), recipe("an owl at night", model="other", seed=22))
    by_hand = folder / "by-hand.jpg"
    Image.new("RGB", (20, 10)).save(by_hand, exif=_exif(format_parameters(recipe("a jpeg heron", seed=33))))
    os.utime(by_hand, (time.time() + 5, time.time() + 5))
    plain = folder / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    os.utime(plain, (time.time() - 3600, time.time() - 3600))
    (folder / "notes.txt").write_text("not an image")
    (folder / ".00009-1.png.0a1b2c3d.tmp").write_bytes(b"half a save")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n cut short")

    index = HistoryIndex(tmp_path / "history.sqlite3", folder)
    assert index.sync()
    entries = index.query(HistoryFilter())
    assert names(entries) == ["by-hand.jpg", owl.name, fox.name, "plain.png"]  # unreadable files wait
    heron, owl_entry, fox_entry, no_recipe = entries
    assert (heron.prompt, heron.seed) == ("a jpeg heron", 33)
    assert (owl_entry.prompt, owl_entry.model, owl_entry.seed, owl_entry.mode) == ("an owl at night", "other", 22,
                                                                                     "txt2img")
    assert (no_recipe.prompt, no_recipe.model, no_recipe.seed) == ("", "", None)
    assert index.models() == ["other", "tiny-sd"]
    assert not index.sync()  # nothing changed: nothing read again


def _exif(text):
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = exif_user_comment(text)
    return exif


def test_sync_follows_files_added_changed_and_removed(folder, tmp_path):
    first, second = made(folder, recipe("one"), recipe("two"))
    index = HistoryIndex(tmp_path / "history.sqlite3", folder)
    index.sync()
    second.unlink()
    Image.new("RGB", (8, 8)).save(first)  # replaced by hand: no recipe any more
    (third,) = made(folder, recipe("three"))
    assert index.sync()
    # The file replaced now is the newest; the new one was made as if 10 s ago.
    assert [(e.name, e.prompt) for e in index.query(HistoryFilter())] == [(first.name, ""), (third.name, "three")]


def test_update_reads_or_forgets_just_the_named_files(folder, tmp_path):
    index = HistoryIndex(tmp_path / "history.sqlite3", folder)
    (path,) = made(folder, recipe("a saved result"))
    index.update([path.name])
    assert [e.prompt for e in index.query(HistoryFilter())] == ["a saved result"]
    path.unlink()
    index.update([path.name])
    assert index.query(HistoryFilter()) == []


def test_search_and_filters(folder, tmp_path):
    old, fox, owl, inpaint = made(folder, recipe("an old red barn"), recipe("A Red FOX in snow", seed=2),
                                  recipe("an owl, 100% feathers", model="other"),
                                  recipe("red fox repainted", mode="inpaint"), spacing_s=3600 * 24 * 3)
    index = HistoryIndex(tmp_path / "history.sqlite3", folder)
    index.sync()

    def found(**wanted):
        return names(index.query(HistoryFilter(**wanted), frozenset({owl.name, old.name})))

    assert found(text="red fox") == [inpaint.name, fox.name]  # every word, any case, anywhere
    assert found(text="fox red") == [inpaint.name, fox.name]
    assert found(text="100%") == [owl.name]  # LIKE's wildcards are matched as text
    assert found(text="_") == []
    assert found(model="other") == [owl.name]
    assert found(mode="inpaint") == [inpaint.name]
    assert found(since=os.stat(owl).st_mtime - 1) == [inpaint.name, owl.name]
    assert found(favourites_only=True) == [owl.name, old.name]
    assert found(text="red", favourites_only=True) == [old.name]


def test_a_damaged_index_is_set_aside_and_rebuilt_from_the_images(folder, tmp_path):
    made(folder, recipe("kept in the file"))
    db = tmp_path / "history.sqlite3"
    HistoryIndex(db, folder).close()
    db.write_bytes(b"this is not an SQLite database at all" * 200)
    index = HistoryIndex(db, folder)
    index.sync()
    assert [e.prompt for e in index.query(HistoryFilter())] == ["kept in the file"]
    assert [p.name.startswith("history.damaged-") for p in tmp_path.iterdir() if p.name != "outputs"].count(True) == 1


def test_a_missing_index_or_one_of_another_schema_is_rebuilt(folder, tmp_path):
    made(folder, recipe("from the file"))
    db = tmp_path / "history.sqlite3"
    index = HistoryIndex(db, folder)
    index.sync()
    index.close()
    with sqlite3.connect(db) as raw:
        raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    index = HistoryIndex(db, folder)
    assert index.query(HistoryFilter()) == []  # emptied, not misread
    index.sync()
    assert [e.prompt for e in index.query(HistoryFilter())] == ["from the file"]
    index.close()
    for path in tmp_path.glob("history.sqlite3*"):
        path.unlink()
    index = HistoryIndex(db, folder)
    index.sync()
    assert [e.prompt for e in index.query(HistoryFilter())] == ["from the file"]
    assert index._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_favourites_survive_in_their_own_file_and_damage_is_set_aside(tmp_path):
    path = tmp_path / "favourites.json"
    assert load_favourites(path) == frozenset()
    save_favourites(frozenset({"00001-2.png", "ünïcode.png"}), path)
    assert load_favourites(path) == {"00001-2.png", "ünïcode.png"}
    path.write_text('{"names": [1, 2]}')
    assert load_favourites(path) == frozenset()
    assert not path.exists() and len(list(tmp_path.glob("favourites.damaged-*.json"))) == 1


def test_rebuild_sets_a_damaged_open_index_aside_and_starts_again(folder, tmp_path):
    made(folder, recipe("survives"))
    db = tmp_path / "history.sqlite3"
    index = HistoryIndex(db, folder)
    index.sync()
    index.rebuild()
    assert index.query(HistoryFilter()) == []
    index.sync()
    assert [e.prompt for e in index.query(HistoryFilter())] == ["survives"]
    assert len(list(tmp_path.glob("history.damaged-*.sqlite3"))) == 1
