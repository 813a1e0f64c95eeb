"""Atomic writes: permissions through the umask, durable renames, claimed names, retries, stale temporary files."""

import os
import stat
import sys
import time

import pytest

from studio.core import atomic
from studio.core.atomic import NameTaken, atomic_create_bytes, atomic_write_bytes, clean_stale_temps, set_aside

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX permissions and folder syncs")


@posix_only
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_files_honour_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        written = atomic_write_bytes(tmp_path / "a.png", b"x")
        created = atomic_create_bytes(tmp_path / "b.png", b"y")
    finally:
        os.umask(old)
    assert stat.S_IMODE(written.stat().st_mode) == mode
    assert stat.S_IMODE(created.stat().st_mode) == mode


@posix_only
def test_the_folder_is_synced_after_the_rename(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def fsync(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    atomic_write_bytes(tmp_path / "state.json", b"{}")
    assert synced == [False, True]  # the file's data first, then the folder holding its new name


def test_create_never_replaces_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "00000-1.png"
    target.write_bytes(b"someone else's")
    with pytest.raises(NameTaken):
        atomic_create_bytes(target, b"mine")
    assert target.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00000-1.png"]


def _held_open_for(monkeypatch, refusals: int) -> list[str]:
    """os.replace refuses ``refusals`` times, as Windows does while a viewer holds the target open."""
    calls = []
    real_replace = os.replace

    def replace(src, dst):
        calls.append(dst)
        if len(calls) <= refusals:
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(atomic, "REPLACE_RETRY_DELAYS", (0.0, 0.001, 0.002))
    return calls


def test_a_file_held_open_for_a_moment_is_replaced_on_a_later_try(tmp_path, monkeypatch):
    target = tmp_path / "cover.png"
    target.write_bytes(b"old")
    calls = _held_open_for(monkeypatch, refusals=2)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new" and len(calls) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["cover.png"]


def test_a_file_held_open_for_good_gives_one_clear_error_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "cover.png"
    target.write_bytes(b"old")
    calls = _held_open_for(monkeypatch, refusals=99)
    with pytest.raises(PermissionError) as raised:
        atomic_write_bytes(target, b"new")
    assert raised.value.strerror == "the file is in use by another program"
    assert raised.value.filename == str(target) and len(calls) == 4  # the first try and three retries
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["cover.png"]


@pytest.mark.skipif(sys.platform == "win32", reason="the retry is what Windows gets")
def test_without_the_windows_retry_a_refusal_is_raised_at_once(tmp_path, monkeypatch):
    calls = _held_open_for(monkeypatch, refusals=1)
    monkeypatch.setattr(atomic, "REPLACE_RETRY_DELAYS", ())
    with pytest.raises(PermissionError):
        atomic_write_bytes(tmp_path / "x", b"new")
    assert len(calls) == 1


def test_only_old_temporary_files_of_our_own_are_cleaned(tmp_path):
    two_hours_ago = time.time() - 2 * 3600
    old_ours = [tmp_path / ".00001-5.png.1a2b3c4d.tmp", tmp_path / ".state.json.k9_x2mq7.tmp"]  # ours, earlier ours
    fresh_ours = tmp_path / ".00002-5.png.deadbeef.tmp"  # a save running now in another process
    not_ours = [tmp_path / name for name in ("render.tmp", ".swap.tmp", "00003-5.png", ".x.TOOLONG99.tmp")]
    for path in [*old_ours, fresh_ours, *not_ours]:
        path.write_bytes(b"data")
    for path in [*old_ours, *not_ours]:
        os.utime(path, (two_hours_ago, two_hours_ago))
    assert sorted(clean_stale_temps(tmp_path)) == sorted(old_ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in [fresh_ours, *not_ours])
    assert clean_stale_temps(tmp_path / "missing") == []


def test_setting_aside_twice_in_one_second_keeps_both(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("first")
    first = set_aside(path)
    path.write_text("second")
    second = set_aside(path)
    assert first != second and not path.exists()
    assert (first.read_text(), second.read_text()) == ("first", "second")
    assert first.name.startswith("state.damaged-") and first.suffix == ".json"
