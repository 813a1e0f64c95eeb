"""folder_size on real folders: files at any depth, links counted as their targets or as links as asked, linked
folders never entered, a missing folder and a file that vanishes during the walk."""

import os

import pytest

from studio.core import disk_usage
from studio.core.disk_usage import folder_size


@pytest.fixture
def folder(tmp_path):
    """300 bytes in two files (one a level down), a link to a 1000-byte file and a link to a folder outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "blob").write_bytes(b"o" * 1000)
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.bin").write_bytes(b"a" * 100)
    (root / "sub" / "b.bin").write_bytes(b"b" * 200)
    (root / "linked.bin").symlink_to(outside / "blob")
    (root / "linked-folder").symlink_to(outside, target_is_directory=True)
    return root


def test_a_linked_file_counts_as_its_target_when_links_are_followed(folder):
    assert folder_size(folder, follow_links=True) == 300 + 1000  # the linked folder is not entered


def test_a_linked_file_counts_as_the_link_when_links_are_not_followed(folder):
    link = os.lstat(folder / "linked.bin").st_size
    assert link < 1000
    assert folder_size(folder, follow_links=False) == 300 + link


def test_the_path_itself_a_file_or_a_link(folder, tmp_path):
    assert folder_size(folder / "a.bin", follow_links=False) == 100
    assert folder_size(folder / "linked.bin", follow_links=True) == 1000
    entry = tmp_path / "entry"  # a link to a folder: its contents, or only the link
    entry.symlink_to(folder, target_is_directory=True)
    assert folder_size(entry, follow_links=True) == 1300
    assert folder_size(entry, follow_links=False) == os.lstat(entry).st_size


def test_a_missing_folder_is_zero(tmp_path):
    assert folder_size(tmp_path / "gone", follow_links=True) == 0
    assert folder_size(tmp_path / "gone", follow_links=False) == 0


@pytest.mark.parametrize("follow_links", [True, False])
def test_a_file_that_vanishes_during_the_walk_is_skipped(folder, monkeypatch, follow_links):
    walk = os.walk

    def walk_then_remove(top, *args, **kwargs):
        for where, dirs, files in walk(top, *args, **kwargs):
            if "b.bin" in files:  # listed, then removed before it is measured
                os.remove(os.path.join(where, "b.bin"))
            yield where, dirs, files

    monkeypatch.setattr(disk_usage.os, "walk", walk_then_remove)
    (folder / "linked.bin").unlink()
    assert folder_size(folder, follow_links=follow_links) == 100
