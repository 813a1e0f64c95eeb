"""The working state on disk: saved atomically, restored exactly, robust to damage and to crashes."""

import json

from studio.core.workspace import Workspace, WorkspaceState


def test_round_trip(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(image_png=b"IMG", mask_png=b"MASK", data={"prompt": "a cat", "zoom": 2.0}))
    back = Workspace(tmp_path).load()
    assert (back.image_png, back.mask_png, back.data) == (b"IMG", b"MASK", {"prompt": "a cat", "zoom": 2.0})


def test_old_files_are_removed_and_unchanged_ones_not_rewritten(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(image_png=b"one", mask_png=b"m"))
    mask_file = next(tmp_path.glob("mask-*.png"))
    before = mask_file.stat().st_mtime_ns
    ws.save(WorkspaceState(image_png=b"two", mask_png=b"m"))
    assert len(list(tmp_path.glob("image-*.png"))) == 1
    assert mask_file.stat().st_mtime_ns == before
    assert ws.load().image_png == b"two"


def test_crash_before_the_state_file_keeps_the_previous_state(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(image_png=b"saved", data={"prompt": "p"}))
    ws._blob("image", b"half-way")  # a crash after writing a new image, before state.json
    assert ws.load().image_png == b"saved"


def test_missing_or_damaged_state_is_none(tmp_path):
    assert Workspace(tmp_path).load() is None
    (tmp_path / "state.json").write_text("{broken")
    assert Workspace(tmp_path).load() is None
    (tmp_path / "state.json").write_text(json.dumps({"schema": 1, "image": "image-gone.png"}))
    assert Workspace(tmp_path).load() is None


def test_empty_canvas_state(tmp_path):
    ws = Workspace(tmp_path)
    ws.save(WorkspaceState(data={"prompt": "only text"}))
    back = ws.load()
    assert back.image_png is None and back.mask_png is None and back.data["prompt"] == "only text"
