"""The working state on disk: saved atomically, restored exactly, robust to damage and to crashes, and never a
reason to delete a file it does not own."""

import json
import os
import time

from studio.core.workspace import Workspace, WorkspaceState


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_round_trip(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(image_png=b"IMG", mask_png=b"MASK", data={"prompt": "a cat", "zoom": 2.0}))
    loaded = Workspace(tmp_path).load()
    back = loaded.state
    assert (back.image_png, back.mask_png, back.data) == (b"IMG", b"MASK", {"prompt": "a cat", "zoom": 2.0})
    assert (loaded.missing, loaded.damaged, loaded.set_aside) == (frozenset(), False, None)


def test_old_files_are_removed_and_unchanged_ones_not_rewritten(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(image_png=b"one", mask_png=b"m"))
    mask_file = next(tmp_path.glob("mask-*.png"))
    before = mask_file.stat().st_mtime_ns
    ws.save(WorkspaceState(image_png=b"two", mask_png=b"m"))
    assert len(list(tmp_path.glob("image-*.png"))) == 1
    assert mask_file.stat().st_mtime_ns == before
    assert ws.load().state.image_png == b"two"


def test_files_named_by_the_state_read_at_start_are_removed_once_superseded(tmp_path):
    Workspace(tmp_path).save(WorkspaceState(image_png=b"yesterday", mask_png=b"m"))
    ws = Workspace(tmp_path)  # the next start
    ws.load()
    ws.save(WorkspaceState(image_png=b"today"))
    assert _names(tmp_path) == sorted(["state.json", next(tmp_path.glob("image-*.png")).name])
    assert ws.load().state.image_png == b"today"


def test_crash_before_the_state_file_keeps_the_previous_state(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(image_png=b"saved", data={"prompt": "p"}))
    ws._blob("image", b"half-way")  # a crash after writing a new image, before state.json
    assert ws.load().state.image_png == b"saved"


def test_files_the_workspace_does_not_know_are_never_removed(tmp_path):
    (tmp_path / "holiday.png").write_bytes(b"a user's picture")
    orphan = Workspace(tmp_path)._blob("image", b"written just before a crash")
    ws = Workspace(tmp_path)
    assert ws.load().state is None  # no state.json yet
    ws.save(WorkspaceState(image_png=b"one"))
    ws.save(WorkspaceState(image_png=b"two"))
    assert {"holiday.png", orphan} <= set(_names(tmp_path))
    assert len(list(tmp_path.glob("image-*.png"))) == 2  # the orphan and "two"


def test_a_damaged_state_is_set_aside_the_newest_intact_image_restored_and_nothing_deleted(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(image_png=b"older", data={"prompt": "p"}))
    older = next(tmp_path.glob("image-*.png"))
    os.utime(older, (time.time() - 60, time.time() - 60))
    ws._blob("image", b"newest")
    (tmp_path / "state.json").write_text("{ half a fi")
    files_before = set(_names(tmp_path)) - {"state.json"}

    ws = Workspace(tmp_path)
    loaded = ws.load()
    assert loaded.damaged and loaded.state.image_png == b"newest" and loaded.state.data == {}
    assert loaded.set_aside.read_text() == "{ half a fi" and loaded.set_aside.name.startswith("state.damaged-")
    ws.save(WorkspaceState(image_png=b"after the restart"))
    ws.save(WorkspaceState(image_png=b"and again"))
    assert files_before <= set(_names(tmp_path))
    assert Workspace(tmp_path).load().state.image_png == b"and again"


def test_every_kind_of_damaged_state_is_set_aside(tmp_path):
    damages = [b"\xff\xfe not utf-8", b"[1, 2]", b"[" * 100_000, json.dumps({"image": 42}).encode(),
               json.dumps({"image": "../../elsewhere.png"}).encode(), json.dumps({"data": [1]}).encode(),
               json.dumps({"image": "mask-0123456789abcdef.png"}).encode()]
    (tmp_path.parent / "elsewhere.png").write_bytes(b"not ours")
    for index, damage in enumerate(damages):
        folder = tmp_path / f"workspace{index}"
        folder.mkdir()
        (folder / "state.json").write_bytes(damage)
        ws = Workspace(folder)
        loaded = ws.load()
        assert loaded.damaged and loaded.state is None, damage[:40]
        assert loaded.set_aside.read_bytes() == damage
        ws.save(WorkspaceState(image_png=b"x"))
        ws.save(WorkspaceState(image_png=b"y"))
    assert (tmp_path.parent / "elsewhere.png").read_bytes() == b"not ours"


def test_a_missing_mask_leaves_the_image_restored(tmp_path):
    Workspace(tmp_path).save(WorkspaceState(image_png=b"picture", mask_png=b"mask", data={"prompt": "p"}))
    next(tmp_path.glob("mask-*.png")).unlink()
    loaded = Workspace(tmp_path).load()
    assert loaded.missing == {"mask"} and not loaded.damaged
    assert (loaded.state.image_png, loaded.state.mask_png, loaded.state.data) == (b"picture", None, {"prompt": "p"})


def test_a_damaged_image_file_is_left_out_and_kept(tmp_path):
    Workspace(tmp_path).save(WorkspaceState(image_png=b"picture", mask_png=b"mask"))
    image_file = next(tmp_path.glob("image-*.png"))
    image_file.write_bytes(b"pict")  # truncated
    ws = Workspace(tmp_path)
    loaded = ws.load()
    assert loaded.missing == {"image"} and loaded.state.image_png is None and loaded.state.mask_png == b"mask"
    ws.save(WorkspaceState(image_png=b"a new picture"))
    assert image_file.read_bytes() == b"pict"  # not ours to judge: kept


def test_a_damaged_image_file_is_rewritten_when_the_same_image_is_saved(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(image_png=b"picture"))
    image_file = next(tmp_path.glob("image-*.png"))
    image_file.write_bytes(b"pic")  # damaged behind the running app's back
    ws.save(WorkspaceState(image_png=b"picture"))
    assert image_file.read_bytes() == b"picture"
    image_file.write_bytes(b"pic")
    Workspace(tmp_path).save(WorkspaceState(image_png=b"picture"))  # a fresh start, same canvas
    assert image_file.read_bytes() == b"picture"


def test_stale_temporary_files_of_killed_saves_are_cleaned_on_load(tmp_path):
    Workspace(tmp_path).save(WorkspaceState(image_png=b"picture"))
    stale, fresh = tmp_path / ".state.json.0badf00d.tmp", tmp_path / ".state.json.1badf00d.tmp"
    for path in (stale, fresh):
        path.write_bytes(b"{")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert Workspace(tmp_path).load().state.image_png == b"picture"
    assert not stale.exists() and fresh.exists()


def test_missing_state_is_nothing_to_restore(tmp_path):
    loaded = Workspace(tmp_path / "never-made").load()
    assert loaded.state is None and not loaded.damaged and loaded.missing == frozenset()


def test_empty_canvas_state(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(data={"prompt": "only text"}))
    back = ws.load().state
    assert back.image_png is None and back.mask_png is None and back.data["prompt"] == "only text"


def test_a_file_the_caller_could_not_use_is_never_removed(tmp_path):
    Workspace(tmp_path).save(WorkspaceState(image_png=b"picture", mask_png=b"mask of another size"))
    mask_file = next(tmp_path.glob("mask-*.png"))
    ws = Workspace(tmp_path)
    ws.load()
    ws.disown("mask")  # e.g. the mask did not fit the image
    ws.save(WorkspaceState(image_png=b"picture"))
    ws.save(WorkspaceState(image_png=b"another picture"))
    assert mask_file.read_bytes() == b"mask of another size"
    assert len(list(tmp_path.glob("image-*.png"))) == 1
