"""Whole Hugging Face repositories downloaded as diffusers folders, against a local server with the Hub API's
file list: which files are chosen, one progress over the total, cancel and resume per file, hashes checked, a
name never replaced, and one sentence for what is no diffusers pipeline."""

from __future__ import annotations

import pytest

from studio import cli
from studio.core import downloads
from studio.core.cancel import CancelToken
from studio.core.download_source import HubRepo, parse_source
from studio.core.downloads import DownloadCancelled
from studio.core.errors import StudioError
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.model_scan import scan
from studio.core.paths import models_dir
from studio.core.repo_download import RepoFile, choose_files, download_repo
from tests.download_server import TINY_PIPELINE_LAYOUT, tiny_pipeline_files


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(downloads, "CHUNK", 64 * 1024)
    monkeypatch.setattr(downloads, "PROGRESS_INTERVAL_S", 0.0)


@pytest.fixture
def hub(download_server, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", download_server.url(""))
    return download_server


def _files_in(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_repo_downloads_as_a_diffusers_folder_with_what_a_pipeline_needs(hub, tmp_path):
    files = tiny_pipeline_files()
    hub.serve_repo("org/tiny-sd", files, revision="v2")
    events = []
    result = download_repo(parse_source("org/tiny-sd@v2"), tmp_path, on_progress=events.append, token="secret")
    assert result.path == tmp_path / "tiny-sd" and result.verified and result.sha256 is None
    assert _files_in(result.path) == {local: files[path] for path, local in TINY_PIPELINE_LAYOUT.items()}
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-sd"]  # the staging folder became it
    total = sum(len(files[path]) for path in TINY_PIPELINE_LAYOUT)
    assert result.size == total
    assert events[0].done == 0 and events[-1].done == total == events[-1].total
    assert [e.done for e in events] == sorted(e.done for e in events) and {e.name for e in events} == {"tiny-sd"}
    assert {s.authorization for s in hub.seen} == {"Bearer secret"}
    assert "/org/tiny-sd/resolve/v2/unet/diffusion_pytorch_model.bin" not in {s.path for s in hub.seen}
    library = scan([LibraryFolder(tmp_path, ModelKind.CHECKPOINT)])
    assert [(e.name, e.path) for e in library] == [("tiny-sd", result.path)]


def test_cancel_keeps_the_staging_folder_which_the_library_skips_and_the_next_download_resumes(hub, tmp_path):
    files = tiny_pipeline_files()
    hub.serve_repo("org/tiny-sd", files)
    cancel = CancelToken()
    unet = "unet/diffusion_pytorch_model.safetensors"

    def stop_in_the_unet(progress):
        if progress.done > progress.total // 2:
            cancel.cancel()

    with pytest.raises(DownloadCancelled):
        download_repo(HubRepo("org/tiny-sd"), tmp_path, cancel=cancel, on_progress=stop_in_the_unet)
    staging = tmp_path / "tiny-sd.part"
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-sd.part"]
    kept = (staging / (unet + ".part")).stat().st_size
    assert 0 < kept < len(files[unet])
    assert (staging / "model_index.json").is_file()
    assert scan([LibraryFolder(tmp_path, ModelKind.CHECKPOINT)]) == []

    events = []
    result = download_repo(HubRepo("org/tiny-sd"), tmp_path, on_progress=events.append)
    assert hub.ranges_seen(f"/org/tiny-sd/resolve/main/{unet}") == [None, f"bytes={kept}-"]
    assert hub.ranges_seen("/org/tiny-sd/resolve/main/tokenizer/vocab.json") == [None]  # finished: not again
    assert events[0].resumed_from == events[0].done > kept
    assert _files_in(result.path) == {local: files[path] for path, local in TINY_PIPELINE_LAYOUT.items()}
    assert [p.name for p in tmp_path.iterdir()] == ["tiny-sd"]


def test_a_file_with_a_wrong_hash_is_refused_and_no_folder_appears(hub, tmp_path):
    files = tiny_pipeline_files()
    hub.serve_repo("org/tiny-sd", files, listed_sha256={"unet/diffusion_pytorch_model.safetensors": "0" * 64})
    with pytest.raises(StudioError, match="'unet/diffusion_pytorch_model.safetensors' arrived damaged"):
        download_repo(HubRepo("org/tiny-sd"), tmp_path)
    assert not (tmp_path / "tiny-sd").exists()
    assert not (tmp_path / "tiny-sd.part" / "unet" / "diffusion_pytorch_model.safetensors.part").exists()


def test_a_taken_folder_name_is_never_replaced(hub, tmp_path):
    hub.serve_repo("org/tiny-sd", tiny_pipeline_files())
    (tmp_path / "tiny-sd").mkdir()
    (tmp_path / "tiny-sd" / "mine.txt").write_text("mine")
    with pytest.raises(StudioError, match="'tiny-sd' is already in .*nothing was replaced"):
        download_repo(HubRepo("org/tiny-sd"), tmp_path)
    assert hub.seen == []  # refused before asking the server
    result = download_repo(HubRepo("org/tiny-sd"), tmp_path, name="tiny-sd-2")
    assert result.path == tmp_path / "tiny-sd-2" and (tmp_path / "tiny-sd" / "mine.txt").read_text() == "mine"


def test_a_name_taken_while_downloading_keeps_both(hub, tmp_path):
    hub.serve_repo("org/tiny-sd", tiny_pipeline_files())

    def someone_else_saves(progress):
        (tmp_path / "tiny-sd").mkdir(exist_ok=True)

    with pytest.raises(StudioError, match="appeared in .* meanwhile; it was not replaced"):
        download_repo(HubRepo("org/tiny-sd"), tmp_path, on_progress=someone_else_saves)
    assert list((tmp_path / "tiny-sd").iterdir()) == []
    assert (tmp_path / "tiny-sd.part" / "model_index.json").is_file()


def test_a_repo_that_is_no_diffusers_pipeline_is_one_sentence(hub, tmp_path):
    hub.serve_repo("org/ink-lora", {"README.md": b"#", "ink.safetensors": b"x" * 10})
    with pytest.raises(StudioError, match=r"^'org/ink-lora' is not a diffusers pipeline \(it has no "
                                          r"model_index.json\): name one of its files instead, such as "
                                          r"org/ink-lora/ink.safetensors\.$"):
        download_repo(HubRepo("org/ink-lora"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_component_with_only_onnx_weights_is_one_sentence(hub, tmp_path):
    files = tiny_pipeline_files()
    del files["unet/diffusion_pytorch_model.safetensors"], files["unet/diffusion_pytorch_model.bin"]
    del files["unet/diffusion_pytorch_model.fp16.safetensors"]
    files["unet/model.onnx"] = b"onnx"
    hub.serve_repo("org/tiny-sd", files)
    with pytest.raises(StudioError, match="'unet' of this repository has no PyTorch weights"):
        download_repo(HubRepo("org/tiny-sd"), tmp_path)


def test_pytorch_weights_are_taken_when_a_component_has_no_safetensors_but_never_openvino_or_flax():
    paths = ["model_index.json", "text_encoder/config.json", "text_encoder/pytorch_model.bin",
             "text_encoder/openvino_model.bin", "text_encoder/openvino_model.xml", "text_encoder/flax_model.msgpack",
             "text_encoder/model.fp16.safetensors", "text_encoder/model.bf16.safetensors"]
    files = {p: RepoFile(p, 1, None) for p in paths}
    chosen = choose_files({"text_encoder": ["transformers", "CLIPTextModel"]}, files)
    assert [(f.path, f.target) for f in chosen] == [
        ("model_index.json", "model_index.json"), ("text_encoder/config.json", "text_encoder/config.json"),
        ("text_encoder/model.fp16.safetensors", "text_encoder/model.safetensors")]
    del files["text_encoder/model.fp16.safetensors"], files["text_encoder/model.bf16.safetensors"]
    chosen = choose_files({"text_encoder": ["transformers", "CLIPTextModel"]}, files)
    assert [f.path for f in chosen] == ["model_index.json", "text_encoder/config.json",
                                        "text_encoder/pytorch_model.bin"]


@pytest.mark.parametrize(("status", "token", "message"), [
    (404, None, r"^There is no 'org/tiny-sd' on Hugging Face \(HTTP 404\)"),
    (401, None, "'org/tiny-sd' needs a Hugging Face login"),
    (401, "hf_x", "Your Hugging Face token has no access to 'org/tiny-sd'"),
])
def test_missing_and_gated_repos_are_the_same_sentences_as_files(hub, tmp_path, status, token, message):
    if status != 404:
        hub.serve("/api/models/org/tiny-sd/revision/main", status=status)
    with pytest.raises(StudioError, match=message):
        download_repo(HubRepo("org/tiny-sd"), tmp_path, token=token)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("text", "repo"), [
    ("stabilityai/sdxl-turbo", HubRepo("stabilityai/sdxl-turbo")),
    (" org/repo@fp16 ", HubRepo("org/repo", "fp16")),
    ("org/repo@refs/pr/1", HubRepo("org/repo", "refs/pr/1")),
])
def test_a_bare_id_names_a_repository(text, repo):
    assert parse_source(text) == repo


def test_the_download_command_downloads_a_repo_into_checkpoints(hub, capsys):
    files = tiny_pipeline_files()
    hub.serve_repo("org/tiny-sd", files)
    assert cli.main(["download", "org/tiny-sd", "--kind", "checkpoints"]) == 0
    out, err = capsys.readouterr()
    folder = models_dir() / "checkpoints" / "tiny-sd"
    assert out.strip() == str(folder)
    assert "1.2 MB of 1.2 MB" in err and "size and sha256 checked" in err
    assert _files_in(folder) == {local: files[path] for path, local in TINY_PIPELINE_LAYOUT.items()}
