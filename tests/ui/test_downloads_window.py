"""Model downloads in the window (scripted engine, a local HTTP server): the dialog downloads into the models
folder with progress and the library lists the file; cancel and resume; offline is one sentence; the "Get a
model" guide lists starter models with sizes and downloads one; a Hugging Face id downloads as a diffusers
folder, which the library lists."""

from __future__ import annotations

import socket

import pytest
from PySide6.QtCore import Qt

from studio.core import downloads
from studio.core.model_folders import ModelKind
from studio.core.paths import models_dir
from studio.core.starter_models import STARTER_MODELS
from studio.ui.model_picker import GET_MODEL
from tests.download_server import TINY_PIPELINE_LAYOUT, tiny_pipeline_files
from tests.model_files import kohya_lora_shapes, write_safetensors
from tests.ui.conftest import TIMEOUT, wait_ready
from tests.ui.fakes import FakeEngine


@pytest.fixture
def window(open_window, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(downloads, "CHUNK", 64 * 1024)
    monkeypatch.setattr(downloads, "PROGRESS_INTERVAL_S", 0.0)
    folder = tmp_path / "fake-model"
    folder.mkdir()
    window = open_window(str(folder), make_engine=FakeEngine)
    wait_ready(qtbot, window)
    return window


@pytest.fixture
def lora_bytes(tmp_path_factory) -> bytes:
    shapes = kohya_lora_shapes(768) | {"lora_unet_mid_block_attentions_0_proj_in.lora_down.weight": (256, 1024)}
    return write_safetensors(tmp_path_factory.mktemp("served") / "ink.safetensors", shapes).read_bytes()


def _names(window, kind: ModelKind) -> list[str]:
    return [e.name for e in window.library.of_kind(kind)]


def test_the_dialog_downloads_with_progress_and_the_library_lists_the_file(window, qtbot, download_server,
                                                                           lora_bytes):
    url = download_server.serve("/files/ink.safetensors", lora_bytes)
    window.library_binding.downloads.download_action.trigger()
    dialog = window.library_binding.downloads.dialog
    assert dialog.isVisible()
    dialog.source_edit.setText(url)
    dialog.kind_combo.setCurrentIndex(dialog.kind_combo.findData(ModelKind.LORA.value))
    assert dialog.folder_label.text() == str(models_dir() / "loras")
    shown = []  # the dialog's text after each progress report (its own slot runs first)
    window.library_binding.downloads.downloads.progress.connect(lambda p: shown.append((p, dialog.status.text())))
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Downloaded"), timeout=TIMEOUT)
    assert "ink.safetensors" in dialog.status.text() and "sha256 checked" in dialog.status.text()
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum()
    assert shown[-1][0].done == len(lora_bytes) == shown[-1][0].total
    assert shown[-1][1].startswith("ink.safetensors: 1.1 MB of 1.1 MB")
    assert any(" MB/s · about " in text for progress, text in shown if progress.speed > 0)
    assert (models_dir() / "loras" / "ink.safetensors").read_bytes() == lora_bytes
    qtbot.waitUntil(lambda: _names(window, ModelKind.LORA) == ["ink"], timeout=TIMEOUT)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=TIMEOUT)
    assert window.status.currentMessage() == "Downloaded ink.safetensors."


def test_the_dialog_downloads_a_hugging_face_id_as_a_diffusers_folder(window, qtbot, download_server,
                                                                       monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", download_server.url(""))
    files = tiny_pipeline_files()
    download_server.serve_repo("org/tiny-sd", files)
    dialog = window.library_binding.downloads.show_dialog()
    dialog.set_request("org/tiny-sd", ModelKind.CHECKPOINT)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Downloaded"), timeout=TIMEOUT)
    folder = models_dir() / "checkpoints" / "tiny-sd"
    assert dialog.status.text() == f"Downloaded tiny-sd into {folder.parent} (size and sha256 checked)."
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum()
    assert {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()} == {
        local: files[path] for path, local in TINY_PIPELINE_LAYOUT.items()}
    qtbot.waitUntil(lambda: _names(window, ModelKind.CHECKPOINT) == ["tiny-sd"], timeout=TIMEOUT)


def test_cancel_then_resume_in_the_dialog(window, qtbot, download_server, lora_bytes):
    url = download_server.serve("/files/ink.safetensors", lora_bytes, hold_after=200_000)
    served = download_server.files["/files/ink.safetensors"]
    dialog = window.library_binding.downloads.show_dialog()
    dialog.set_request(url, ModelKind.LORA)
    dialog.start()
    qtbot.waitUntil(lambda: "0.2 MB of 1." in dialog.status.text(), timeout=TIMEOUT)
    assert dialog.cancel_button.isEnabled() and not dialog.start_button.isEnabled()
    assert 150 < dialog.progress_bar.value() < 250
    dialog.cancel_button.click()
    served.gate.set()
    qtbot.waitUntil(lambda: dialog.start_button.text() == "Resume", timeout=TIMEOUT)
    part = models_dir() / "loras" / "ink.safetensors.part"
    assert not (models_dir() / "loras" / "ink.safetensors").exists()
    kept = part.stat().st_size
    assert 0 < kept < len(lora_bytes)
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=TIMEOUT)

    served.hold_after = None
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Downloaded"), timeout=TIMEOUT)
    assert download_server.ranges_seen("/files/ink.safetensors") == [None, f"bytes={kept}-"]
    assert (models_dir() / "loras" / "ink.safetensors").read_bytes() == lora_bytes and not part.exists()


def test_offline_and_bad_input_are_one_sentence_and_the_dialog_keeps_working(window, qtbot, monkeypatch,
                                                                               download_server, lora_bytes):
    dialog = window.library_binding.downloads.show_dialog()
    dialog.set_request("just words", ModelKind.CHECKPOINT)
    dialog.start()
    assert "is neither a Hugging Face id or file" in dialog.status.text() and dialog.start_button.isEnabled()

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: (
        real(host, *a, **k) if host == "127.0.0.1" else (_ for _ in ()).throw(socket.gaierror(-2, "unknown"))))
    dialog.set_request("stabilityai/sdxl-turbo/sd_xl_turbo_1.0_fp16.safetensors", ModelKind.CHECKPOINT)
    dialog.start()
    qtbot.waitUntil(lambda: dialog.status.text() != "Connecting…", timeout=TIMEOUT)
    assert dialog.start_button.text() == "Download again"
    assert dialog.status.text() == ("Cannot reach huggingface.co: this computer seems to be offline "
                                    "(the name does not resolve).")
    qtbot.waitUntil(lambda: dialog.start_button.isEnabled(), timeout=TIMEOUT)
    assert list((models_dir() / "checkpoints").iterdir()) == []

    dialog.set_request(download_server.serve("/files/ink.safetensors", lora_bytes, etag="0" * 64), ModelKind.LORA)
    dialog.start()
    qtbot.waitUntil(lambda: "sha256 differs" in dialog.status.text(), timeout=TIMEOUT)
    assert list((models_dir() / "loras").iterdir()) == []


def test_the_model_list_leads_newcomers_to_the_starter_models_which_download(window, qtbot, download_server,
                                                                               monkeypatch, tmp_path):
    picker = window.model_picker
    picker.set_recent([])
    picker.forget(window.session.model_source)
    assert picker.itemText(0) == "No model" and "Get a model…" in picker.itemData(0, Qt.ItemDataRole.ToolTipRole)
    picker.activated.emit(picker.findData(f"action:{GET_MODEL}"))
    starters = window.library_binding.downloads.starters
    assert starters.isVisible()
    rows = [(starters.tree.topLevelItem(i).text(0), starters.tree.topLevelItem(i).text(2))
            for i in range(starters.tree.topLevelItemCount())]
    assert ("Stable Diffusion 1.5 (fp16)", "about 2.13 GB") in rows and ("SDXL base 1.0", "about 6.94 GB") in rows
    assert len(rows) == len(STARTER_MODELS)

    sd15 = STARTER_MODELS[0]
    checkpoint = write_safetensors(tmp_path / "sd15.safetensors", {"model.diffusion_model.input_blocks.0.0.weight":
                                                                   (32, 4, 3, 3)}).read_bytes()
    monkeypatch.setenv("HF_ENDPOINT", download_server.url(""))
    repo, file = sd15.repo, sd15.source.removeprefix(sd15.repo + "/")
    download_server.serve("/blobs/sd15", checkpoint)
    download_server.serve(f"/{repo}/resolve/main/{file}", redirect_to="/blobs/sd15")
    starters.download_button.click()
    dialog = window.library_binding.downloads.dialog
    assert dialog.source_edit.text() == sd15.source
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Downloaded"), timeout=TIMEOUT)
    assert "size and sha256 checked" in dialog.status.text()
    qtbot.waitUntil(lambda: _names(window, ModelKind.CHECKPOINT) == [file.removesuffix(".safetensors")],
                    timeout=TIMEOUT)
    assert picker.findData(f"model:{models_dir() / 'checkpoints' / file}") >= 0
