"""Saving outputs: A1111-style running numbers, never overwriting (not even across processes), atomic writes."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from studio.core import paths
from studio.core.atomic import atomic_write, atomic_write_bytes
from studio.core.metadata import read_recipe
from studio.core.outputs import save_image, write_image
from studio.core.recipe import Recipe

RECIPE = Recipe(
    prompt="a red fox in the snow",
    negative_prompt="",
    seed=777,
    steps=20,
    cfg_scale=7.0,
    width=64,
    height=64,
    sampler="Euler a",
    model="tiny",
)


def _image(colour="orange") -> Image.Image:
    return Image.new("RGB", (64, 64), colour)


def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_first_save_goes_to_the_outputs_folder_as_00000():
    path = save_image(_image(), RECIPE)
    assert path == paths.outputs_dir() / "00000-777.png"
    assert path.is_relative_to(paths.studio_home())
    assert read_recipe(path) == RECIPE
    with Image.open(path) as im:
        assert im.size == (64, 64) and im.getpixel((0, 0)) == (255, 165, 0)


def test_counter_continues_after_the_highest_number(tmp_path):
    for name in ("00003-1.png", "00041-99.png", "00007-5.txt", "notes.txt", "2024-01-01.png", "grid-0099.png"):
        (tmp_path / name).write_bytes(b"keep")
    first = save_image(_image(), RECIPE, tmp_path)
    second = save_image(_image(), Recipe(**{**RECIPE.to_dict(), "seed": 8}), tmp_path)
    assert (first.name, second.name) == ("00042-777.png", "00043-8.png")
    assert (tmp_path / "00041-99.png").read_bytes() == b"keep"


def test_folder_is_created_when_missing(tmp_path):
    folder = tmp_path / "new" / "nested"
    assert save_image(_image(), RECIPE, str(folder)) == folder / "00000-777.png"


def test_same_seed_twice_never_overwrites(tmp_path):
    first = save_image(_image("red"), RECIPE, tmp_path)
    first_bytes = first.read_bytes()
    second = save_image(_image("blue"), RECIPE, tmp_path)
    assert first != second
    assert first.read_bytes() == first_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00000-777.png", "00001-777.png"]


def test_racing_saves_in_one_process_get_distinct_numbers(tmp_path):
    barrier = threading.Barrier(8)
    saved, errors = [], []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            for round_ in range(5):
                recipe = Recipe(**{**RECIPE.to_dict(), "seed": index * 100 + round_})
                saved.append((save_image(_image(), recipe, tmp_path), recipe))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(int(path.name[:5]) for path, _ in saved) == list(range(40))
    for path, recipe in saved:
        assert read_recipe(path) == recipe
    assert _leftovers(tmp_path) == []


def test_save_leaves_no_temporary_files(tmp_path):
    for _ in range(3):
        save_image(_image(), RECIPE, tmp_path)
    assert _leftovers(tmp_path) == []
    assert len(list(tmp_path.iterdir())) == 3


def test_a_full_disk_while_claiming_the_name_leaves_the_folder_as_it_was(tmp_path, monkeypatch):
    existing = save_image(_image(), RECIPE, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", disk_full)  # then the exclusive-create fallback, whose rename fails too
    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError):
        save_image(_image("black"), RECIPE, tmp_path)
    monkeypatch.undo()
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert read_recipe(existing) == RECIPE


def test_failing_write_keeps_the_old_file_intact(tmp_path):
    target = tmp_path / "settings.json"
    atomic_write_bytes(target, b"old and complete")

    def half_then_fail(f):
        f.write(b"new but")
        raise RuntimeError("disk pulled out")

    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_fail)
    assert target.read_bytes() == b"old and complete"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_write_image_to_a_chosen_path_replaces_it_atomically(tmp_path):
    target = tmp_path / "sub" / "cover.png"
    assert write_image(target, _image("red"), RECIPE) == target
    second = Recipe(**{**RECIPE.to_dict(), "seed": 9})
    write_image(str(target), _image("blue"), second)
    assert read_recipe(target) == second
    with Image.open(target) as im:
        assert im.getpixel((0, 0)) == (0, 0, 255)
    assert _leftovers(target.parent) == []


def test_without_hard_links_names_are_still_claimed_exclusively(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(1, "Operation not permitted")  # what Linux says on FAT and exFAT

    monkeypatch.setattr(os, "link", no_links)
    first = save_image(_image("red"), RECIPE, tmp_path)
    second = save_image(_image("blue"), RECIPE, tmp_path)
    assert (first.name, second.name) == ("00000-777.png", "00001-777.png")
    with Image.open(first) as im:
        assert im.getpixel((0, 0)) == (255, 0, 0)
    assert _leftovers(tmp_path) == []


def test_a_name_taken_by_another_process_moves_on_to_the_next_number(tmp_path, monkeypatch):
    from studio.core import outputs

    monkeypatch.setattr(outputs, "_next_number", lambda folder: 0)  # as if the folder was listed before the other save
    (tmp_path / "00000-777.png").write_bytes(b"the other process's image")
    path = save_image(_image(), RECIPE, tmp_path)
    assert path.name == "00001-777.png"
    assert (tmp_path / "00000-777.png").read_bytes() == b"the other process's image"


SAVER = """
import sys, time
from pathlib import Path
from PIL import Image
from studio.core.outputs import save_image
from studio.core.recipe import Recipe

folder, name, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
image = Image.new("RGB", (8, 8), "white")
go.with_name(f"ready-{name}").touch()
while not go.exists():
    time.sleep(0.005)
for i in range(200):  # one seed for all: two processes want the very same names
    save_image(image, Recipe(prompt=f"{name} {i}", negative_prompt="", seed=5, steps=1, cfg_scale=1.0,
                             width=8, height=8, sampler="Euler", model="tiny"), folder)
"""


def test_two_processes_saving_into_one_folder_keep_every_image(tmp_path):
    folder, go = tmp_path / "outputs", tmp_path / "go"
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    savers = [
        subprocess.Popen([sys.executable, "-c", SAVER, str(folder), name, str(go)], env=env, stderr=subprocess.PIPE)
        for name in ("first", "second")
    ]
    while not all((tmp_path / f"ready-{name}").exists() for name in ("first", "second")):
        assert all(saver.poll() is None for saver in savers)
        time.sleep(0.01)
    go.touch()  # both start together, once both have imported everything
    for saver in savers:
        _, err = saver.communicate(timeout=120)
        assert saver.returncode == 0, err.decode()
    files = sorted(folder.iterdir())
    assert len(files) == 400 and _leftovers(folder) == []
    prompts = {read_recipe(path).prompt for path in files}
    assert prompts == {f"{name} {i}" for name in ("first", "second") for i in range(200)}
