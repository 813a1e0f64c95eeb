"""Model downloads against a local HTTP server: progress, cancel, resume, checks of size, hash and contents,
names never replaced, and one sentence for every failure."""

from __future__ import annotations

import hashlib
import io
import socket
import zipfile

import pytest

from studio import cli
from studio.core import downloads
from studio.core.cancel import CancelToken
from studio.core.download_source import parse_source
from studio.core.downloads import DownloadCancelled, describe_progress, download, part_path
from studio.core.errors import StudioError
from studio.core.model_folders import ModelKind
from studio.core.model_header import read_header
from studio.core.paths import models_dir
from tests.model_files import kohya_lora_shapes, write_safetensors


@pytest.fixture
def lora_bytes(tmp_path_factory) -> bytes:
    """A real LoRA file of about 1 MB (many chunks once CHUNK is small)."""
    shapes = kohya_lora_shapes(768) | {"lora_unet_mid_block_attentions_0_proj_in.lora_down.weight": (256, 1024)}
    return write_safetensors(tmp_path_factory.mktemp("source") / "ink.safetensors", shapes).read_bytes()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    monkeypatch.setattr(downloads, "CHUNK", 64 * 1024)
    monkeypatch.setattr(downloads, "PROGRESS_INTERVAL_S", 0.0)


def _get(url: str, folder, **kwargs):
    return download(parse_source(url), folder, **kwargs)


def test_a_download_reports_progress_checks_the_hash_and_lands_under_its_name(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/ink.safetensors", lora_bytes)
    events = []
    result = _get(url, tmp_path / "loras", kind=ModelKind.LORA, on_progress=events.append)
    assert result.path == tmp_path / "loras" / "ink.safetensors"
    assert result.path.read_bytes() == lora_bytes
    assert result.verified and result.sha256 == hashlib.sha256(lora_bytes).hexdigest()
    assert result.note is None
    assert not part_path(result.path).exists()
    assert [e.done for e in events] == sorted(e.done for e in events)
    assert events[0].done == 0 and events[-1].done == len(lora_bytes) == events[-1].total
    assert len(events) > 5 and all(e.name == "ink.safetensors" for e in events)
    assert "MB of" in describe_progress(events[-1])


def test_cancel_keeps_only_the_part_and_the_next_download_resumes_from_it(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/ink.safetensors", lora_bytes)
    cancel = CancelToken()
    folder = tmp_path / "loras"

    def stop_half_way(progress):
        if progress.done >= len(lora_bytes) // 2:
            cancel.cancel()

    with pytest.raises(DownloadCancelled):
        _get(url, folder, cancel=cancel, on_progress=stop_half_way)
    part = part_path(folder / "ink.safetensors")
    assert [p.name for p in folder.iterdir()] == [part.name]
    kept = part.stat().st_size
    assert 0 < kept < len(lora_bytes) and part.read_bytes() == lora_bytes[:kept]

    events = []
    result = _get(url, folder, on_progress=events.append)
    assert download_server.ranges_seen("/files/ink.safetensors") == [None, f"bytes={kept}-"]
    assert result.path.read_bytes() == lora_bytes and result.verified
    assert events[0].resumed_from == kept and events[0].done == kept
    assert [p.name for p in folder.iterdir()] == ["ink.safetensors"]


def test_a_server_ignoring_ranges_starts_over(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/ink.safetensors", lora_bytes, ranges=False)
    part = part_path(tmp_path / "ink.safetensors")
    part.write_bytes(b"stale bytes of another file")
    result = _get(url, tmp_path)
    assert result.path.read_bytes() == lora_bytes


def test_a_complete_part_is_finished_without_downloading_again(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/ink.safetensors", lora_bytes)
    part_path(tmp_path / "ink.safetensors").write_bytes(lora_bytes)
    result = _get(url, tmp_path)
    assert download_server.ranges_seen("/files/ink.safetensors") == [f"bytes={len(lora_bytes)}-"]
    assert result.path.read_bytes() == lora_bytes
    assert not result.verified  # a 416 answer carries no ETag (Hugging Face's redirect would)


def test_a_connection_closed_early_is_one_sentence_and_resumable(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/ink.safetensors", lora_bytes, cut_after=300_000)
    with pytest.raises(StudioError, match=r"stopped at 0\.3 MB of 1\.\d MB .*download it again to resume"):
        _get(url, tmp_path)
    assert not (tmp_path / "ink.safetensors").exists()
    assert part_path(tmp_path / "ink.safetensors").stat().st_size == 300_000
    download_server.files["/files/ink.safetensors"].cut_after = None
    assert _get(url, tmp_path).path.read_bytes() == lora_bytes


def test_a_wrong_hash_deletes_the_download(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/ink.safetensors", lora_bytes, etag="0" * 64)
    with pytest.raises(StudioError, match="arrived damaged: its sha256 differs"):
        _get(url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_hugging_face_files_follow_the_redirect_and_check_its_linked_size_and_hash(download_server, lora_bytes,
                                                                                  tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", download_server.url(""))
    download_server.serve("/cdn/blob", lora_bytes, etag="an-md5-like-etag")
    download_server.serve("/org/styles/resolve/main/loras/ink.safetensors", redirect_to="/cdn/blob")
    result = download(parse_source("org/styles/loras/ink.safetensors"), tmp_path, token="secret")
    assert result.path.name == "ink.safetensors" and result.verified
    auth = {s.path: s.authorization for s in download_server.seen}
    assert auth == {"/org/styles/resolve/main/loras/ink.safetensors": "Bearer secret", "/cdn/blob": "Bearer secret"}

    download_server.serve("/org/styles/resolve/main/bad.safetensors", redirect_to="/cdn/blob", linked_sha256="1" * 64)
    with pytest.raises(StudioError, match="sha256 differs"):
        download(parse_source(download_server.url("/org/styles/blob/main/bad.safetensors")), tmp_path)
    assert not (tmp_path / "bad.safetensors").exists() and not part_path(tmp_path / "bad.safetensors").exists()


def test_the_token_is_not_sent_to_another_host(download_server, lora_bytes, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://localhost:1")  # another host than 127.0.0.1
    url = download_server.serve("/files/ink.safetensors", lora_bytes)
    _get(url, tmp_path, token="secret")
    assert [s.authorization for s in download_server.seen] == [None]


def test_a_name_from_content_disposition_and_a_chosen_name(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/api/download/models/123", lora_bytes, disposition="inkStyle_v2.safetensors")
    assert _get(url, tmp_path).path.name == "inkStyle_v2.safetensors"
    assert _get(url, tmp_path, name="my ink").path.name == "my ink.safetensors"


def test_a_taken_name_is_never_replaced(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/ink.safetensors", lora_bytes)
    (tmp_path / "ink.safetensors").write_bytes(b"mine")
    with pytest.raises(StudioError, match="already in .*nothing was replaced"):
        _get(url, tmp_path)
    assert (tmp_path / "ink.safetensors").read_bytes() == b"mine"
    assert download_server.seen == []  # refused before asking the server


def test_a_name_taken_while_downloading_keeps_both(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/ink.safetensors", lora_bytes)

    def someone_else_saves(progress):
        if progress.done and not (tmp_path / "ink.safetensors").exists():
            (tmp_path / "ink.safetensors").write_bytes(b"theirs")

    with pytest.raises(StudioError, match="appeared in .* meanwhile; it was not replaced"):
        _get(url, tmp_path, on_progress=someone_else_saves)
    assert (tmp_path / "ink.safetensors").read_bytes() == b"theirs"
    assert part_path(tmp_path / "ink.safetensors").read_bytes() == lora_bytes


def _torch_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("archive/data.pkl", b"\x80\x02}q\x00.")
    return buffer.getvalue()


@pytest.mark.parametrize(("name", "data", "served", "message"), [
    ("page.safetensors", b"<!DOCTYPE html><html>Log in</html>", {}, "sent a web page"),
    ("login.safetensors", b"x" * 100, {"content_type": "text/html; charset=utf-8"}, "answered with a web page"),
    ("empty.safetensors", b"", {}, "sent an empty file"),
    ("garbage.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}", {}, "not a valid .safetensors"),
    ("huge-header.safetensors", (10**9).to_bytes(8, "little") + b"{}", {}, "not a valid .safetensors"),
    ("model.ckpt", b"GIF89a not a pickle", {}, "not a PyTorch file"),
    ("upscaler.pth", b"", {}, "sent an empty file"),
    ("readme.txt", b"hello", {}, r"not a model file \(expected .safetensors"),
])
def test_bad_files_are_refused_with_one_sentence_and_nothing_is_kept(download_server, tmp_path, name, data, served,
                                                                      message):
    url = download_server.serve(f"/files/{name}", data, **served)
    with pytest.raises(StudioError, match=message) as caught:
        _get(url, tmp_path / "models", kind=ModelKind.CHECKPOINT)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "models").exists() or list((tmp_path / "models").iterdir()) == []


def test_a_cut_short_safetensors_without_announced_size_is_refused(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/short.safetensors", lora_bytes[: len(lora_bytes) // 2], etag=None)
    with pytest.raises(StudioError, match="'short.safetensors' arrived damaged"):
        _get(url, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "kind", "note"), [
    ("model.ckpt", ModelKind.CHECKPOINT, "only when you allow pickle files"),
    ("easy.pt", ModelKind.EMBEDDING, "reads only its weights"),
    ("4x.pth", ModelKind.UPSCALER, "upscaler holding more than weights only when you allow pickle files"),
])
def test_pickle_files_download_with_a_note_about_the_pickle_rule(download_server, tmp_path, name, kind, note):
    data = _torch_zip()
    url = download_server.serve(f"/files/{name}", data)
    result = _get(url, tmp_path, kind=kind)
    assert result.path.read_bytes() == data and note in result.note


def test_a_file_that_looks_like_another_kind_says_so(download_server, lora_bytes, tmp_path):
    url = download_server.serve("/files/ink.safetensors", lora_bytes)
    result = _get(url, tmp_path, kind=ModelKind.CHECKPOINT)
    assert result.note == "Its contents look like a LoRA, not a checkpoint: move it to the loras folder."
    assert read_header(result.path).shapes


@pytest.mark.parametrize(("status", "source", "message"), [
    (404, "/files/missing.safetensors", "There is no .* at 127.0.0.1 \\(HTTP 404\\)"),
    (401, "/files/private.safetensors", "refused the download \\(HTTP 401\\): the link may need a login"),
    (503, "/files/busy.safetensors", "failed to answer \\(HTTP 503\\); try again later"),
])
def test_http_failures_are_one_sentence(download_server, tmp_path, status, source, message):
    url = download_server.serve(source, status=status) if status != 404 else download_server.url(source)
    with pytest.raises(StudioError, match=message):
        _get(url, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_gated_hugging_face_repo_asks_for_a_login(download_server, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", download_server.url(""))
    download_server.serve("/org/gated/resolve/main/model.safetensors", status=401)
    with pytest.raises(StudioError, match="'org/gated' needs a Hugging Face login: .*HF_TOKEN"):
        download(parse_source("org/gated/model.safetensors"), tmp_path)
    with pytest.raises(StudioError, match="Your Hugging Face token has no access to 'org/gated'"):
        download(parse_source("org/gated/model.safetensors"), tmp_path, token="hf_x")


def test_offline_is_one_sentence(tmp_path, monkeypatch):
    def no_dns(*_args, **_kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    with pytest.raises(StudioError, match="^Cannot reach huggingface.co: this computer seems to be offline"):
        download(parse_source("stabilityai/sdxl-turbo/sd_xl_turbo_1.0_fp16.safetensors"), tmp_path)


def test_a_refused_connection_is_one_sentence(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(StudioError, match="^Cannot reach 127.0.0.1: the connection was refused"):
        _get(f"http://127.0.0.1:{port}/x.safetensors", tmp_path)


@pytest.mark.parametrize(("text", "url", "name"), [
    ("org/repo/file.safetensors", "https://huggingface.co/org/repo/resolve/main/file.safetensors", "file.safetensors"),
    ("org/repo/sub dir/f.ckpt", "https://huggingface.co/org/repo/resolve/main/sub%20dir/f.ckpt", "f.ckpt"),
    ("https://huggingface.co/org/repo/blob/fp16/unet/m.safetensors",
     "https://huggingface.co/org/repo/resolve/fp16/unet/m.safetensors", "m.safetensors"),
    ("https://civitai.com/api/download/models/128713", "https://civitai.com/api/download/models/128713", None),
    (" https://example.com/a%20b.safetensors?x=1 ", "https://example.com/a%20b.safetensors?x=1", "a b.safetensors"),
])
def test_what_can_be_pasted(text, url, name):
    source = parse_source(text)
    assert (source.url, source.filename) == (url, name)


@pytest.mark.parametrize(("text", "message"), [
    ("", "Paste a Hugging Face id"),
    ("ftp://example.com/x.safetensors", "not a download link"),
    ("just words", "neither a Hugging Face id or file"),
])
def test_what_cannot_be_pasted(text, message):
    with pytest.raises(StudioError, match=message):
        parse_source(text)


def test_the_download_command_prints_progress_and_the_path(download_server, lora_bytes, capsys):
    url = download_server.serve("/files/ink.safetensors", lora_bytes)
    assert cli.main(["download", url, "--kind", "loras", "--name", "inked"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(models_dir() / "loras" / "inked.safetensors")
    assert "1.1 MB of 1.1 MB" in err and "size and sha256 checked" in err
    assert cli.main(["models", "--kind", "loras"]) == 0
    assert "inked" in capsys.readouterr().out


def test_the_download_command_refuses_with_one_sentence(download_server, lora_bytes, capsys, monkeypatch):
    url = download_server.serve("/files/ink.safetensors", lora_bytes, cut_after=100_000)
    assert cli.main(["download", url, "--kind", "loras"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith("error: The download of 'ink.safetensors' stopped at 0.1 MB")
    monkeypatch.setenv("HF_ENDPOINT", download_server.url(""))
    assert cli.main(["download", "org/repo", "--kind", "checkpoints"]) == 2
    assert "There is no 'org/repo' on Hugging Face (HTTP 404)" in capsys.readouterr().err
