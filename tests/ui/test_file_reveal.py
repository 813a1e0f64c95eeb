"""Show in folder selects the file: Explorer and Finder by their commands, a freedesktop file manager over D-Bus,
and the folder opened where nothing can select it (this machine has no session bus)."""

import subprocess
from pathlib import Path

import pytest

from studio.ui import file_reveal
from studio.ui.file_reveal import reveal_command, reveal_file


@pytest.mark.parametrize(("platform", "expected"), [
    ("win32", ["explorer", r"/select,C:\Users\ana\Pictures\00012-42.png"]),
    ("darwin", ["open", "-R", r"C:\Users\ana\Pictures\00012-42.png"]),
    ("linux", None),
])
def test_the_command_that_selects_a_file(platform, expected):
    assert reveal_command(Path(r"C:\Users\ana\Pictures\00012-42.png"), platform) == expected


def test_on_windows_and_macos_the_command_runs_without_waiting(monkeypatch, tmp_path):
    started, opened = [], []
    monkeypatch.setattr(file_reveal, "reveal_command", lambda path: ["open", "-R", str(path)])
    monkeypatch.setattr(subprocess, "Popen", lambda command: started.append(command))
    reveal_file(tmp_path / "a.png", opened.append)
    assert started == [["open", "-R", str(tmp_path / "a.png")]] and not opened


def test_a_command_that_cannot_run_opens_the_folder(monkeypatch, tmp_path):
    def missing(command):
        raise FileNotFoundError(command[0])

    opened = []
    monkeypatch.setattr(file_reveal, "reveal_command", lambda path: ["explorer", f"/select,{path}"])
    monkeypatch.setattr(subprocess, "Popen", missing)
    reveal_file(tmp_path / "a.png", opened.append)
    assert [url.toLocalFile() for url in opened] == [str(tmp_path)]


def test_without_a_file_manager_on_dbus_the_folder_opens(qapp, monkeypatch, tmp_path):
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    picture = tmp_path / "a.png"
    picture.write_bytes(b"png")
    opened = []
    reveal_file(picture, opened.append)  # linux here: no session bus to ask
    assert [url.toLocalFile() for url in opened] == [str(tmp_path)]
