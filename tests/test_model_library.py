"""The model library in core: folders and layouts, scanning headers and sidecars, A1111's hashes."""

from __future__ import annotations

import hashlib
import json

import pytest

from studio.core import hashing
from studio.core.model_folders import LibraryFolder, ModelKind, layout_folders, library_folders, own_folders
from studio.core.model_info import ModelFamily
from studio.core.model_scan import find_entry, scan
from studio.core.paths import models_dir
from tests.model_files import kohya_lora_shapes, tag_frequency, write_safetensors


def _kinds(folders):
    return {f.path.name: f.kind for f in folders}


def test_own_folders_are_created_on_first_use():
    folders = own_folders()
    assert [f.kind for f in folders] == list(ModelKind)
    for name in ("checkpoints", "loras", "embeddings", "vae", "controlnet", "upscalers", "ipadapter",
                 "clip_vision", "diffusion_models", "text_encoders"):
        assert (models_dir() / name).is_dir()


def test_a1111_models_folder_is_read_by_its_layout_with_embeddings_beside_it(tmp_path):
    webui = tmp_path / "stable-diffusion-webui"
    for name in ("models/Stable-diffusion", "models/Lora", "models/VAE", "models/ControlNet", "models/ESRGAN",
                 "embeddings"):
        (webui / name).mkdir(parents=True)
    for given in (webui / "models", webui):  # the models/ folder, or the web UI's own folder
        kinds = _kinds(layout_folders(given))
        assert kinds == {"Stable-diffusion": ModelKind.CHECKPOINT, "Lora": ModelKind.LORA, "VAE": ModelKind.VAE,
                         "ControlNet": ModelKind.CONTROLNET, "ESRGAN": ModelKind.UPSCALER,
                         "embeddings": ModelKind.EMBEDDING}
    assert (webui / "embeddings") in [f.path for f in layout_folders(webui / "models")]


def test_comfyui_models_folder_is_read_by_its_layout(tmp_path):
    models = tmp_path / "ComfyUI" / "models"
    for name in ("checkpoints", "loras", "vae", "controlnet", "upscale_models", "embeddings"):
        (models / name).mkdir(parents=True)
    expected = {"checkpoints": ModelKind.CHECKPOINT, "loras": ModelKind.LORA, "vae": ModelKind.VAE,
                "controlnet": ModelKind.CONTROLNET, "upscale_models": ModelKind.UPSCALER,
                "embeddings": ModelKind.EMBEDDING}
    assert _kinds(layout_folders(models)) == expected
    assert _kinds(layout_folders(models.parent)) == expected


def test_a_folder_with_no_known_layout_is_mixed_and_a_missing_one_is_nothing(tmp_path):
    assert layout_folders(tmp_path) == [LibraryFolder(tmp_path, None)]
    assert layout_folders(tmp_path / "gone") == []
    assert len(library_folders([str(tmp_path), str(tmp_path)])) == len(ModelKind) + 1


def test_scan_reads_kind_family_size_preview_and_triggers_from_headers_and_sidecars(tmp_path, tiny_sdxl_checkpoint):
    root = models_dir()
    ckpt = root / "checkpoints" / "xl" / "base.safetensors"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(tiny_sdxl_checkpoint.read_bytes())
    (ckpt.parent / "base.preview.png").write_bytes(b"png")
    lora = write_safetensors(root / "loras" / "style" / "ink.safetensors", kohya_lora_shapes(768),
                             tag_frequency(ink=5, sketch=9, paper=1))
    xl_lora = write_safetensors(root / "loras" / "xl_detail.safetensors",
                                kohya_lora_shapes(64, te=("lora_te1", "lora_te2")))
    (root / "loras" / "xl_detail.civitai.info").write_text(json.dumps({"trainedWords": ["detailed", " "]}))
    (root / "loras" / "xl_detail.png").write_bytes(b"png")
    emb = write_safetensors(root / "embeddings" / "badhands.safetensors", {"emb_params": (2, 1024)})
    (root / "loras" / "notes.txt").write_text("not a model")
    (root / "loras" / "broken.safetensors").write_bytes(b"\x10\x00\x00\x00garbage")

    entries = scan(own_folders())
    by_name = {e.name: e for e in entries}
    assert set(by_name) == {"xl/base", "style/ink", "xl_detail", "badhands", "broken"}
    base = by_name["xl/base"]
    assert (base.kind, base.family, base.size, base.preview) == (
        ModelKind.CHECKPOINT, ModelFamily.SDXL, ckpt.stat().st_size, ckpt.parent / "base.preview.png")
    ink = by_name["style/ink"]
    assert (ink.kind, ink.family, ink.path, ink.triggers, ink.preview) == (
        ModelKind.LORA, ModelFamily.SD1, lora, ("sketch", "ink", "paper"), None)
    detail = by_name["xl_detail"]
    assert (detail.family, detail.triggers, detail.preview) == (
        ModelFamily.SDXL, ("detailed",), root / "loras" / "xl_detail.png")
    assert detail.path == xl_lora
    assert (by_name["badhands"].kind, by_name["badhands"].family) == (ModelKind.EMBEDDING, ModelFamily.SD2)
    assert by_name["badhands"].path == emb
    assert "not a valid .safetensors file" in by_name["broken"].problem
    assert find_entry(entries, ModelKind.LORA, "ink") is ink
    assert find_entry(entries, ModelKind.LORA, "STYLE\\ink") is ink
    assert find_entry(entries, ModelKind.EMBEDDING, "ink") is None


def test_a_mixed_folder_gets_each_files_kind_from_its_header(tmp_path, tiny_sd_checkpoint, tiny_sd_dir):
    (tmp_path / "model.safetensors").write_bytes(tiny_sd_checkpoint.read_bytes())
    write_safetensors(tmp_path / "lora.safetensors", kohya_lora_shapes(32))
    write_safetensors(tmp_path / "emb.safetensors", {"clip_l": (1, 768), "clip_g": (1, 1280)})
    write_safetensors(tmp_path / "vae.safetensors", {"encoder.conv_in.weight": (8, 3, 3, 3),
                                                     "decoder.conv_out.weight": (3, 8, 3, 3)})
    write_safetensors(tmp_path / "other.safetensors", {"something": (2, 2, 2)})
    (tmp_path / "old.ckpt").write_bytes(b"pickle")
    entries = scan([LibraryFolder(tmp_path, None)])
    found = {e.name: (e.kind, e.family) for e in entries}
    assert found == {"model": (ModelKind.CHECKPOINT, ModelFamily.SD1), "lora": (ModelKind.LORA, None),
                     "emb": (ModelKind.EMBEDDING, ModelFamily.SDXL), "vae": (ModelKind.VAE, None)}
    (tmp_path / "ckpts" / "sub").mkdir(parents=True)
    (tmp_path / "ckpts" / "sub" / "tiny").symlink_to(tiny_sd_dir, target_is_directory=True)
    diffusers = scan([LibraryFolder(tmp_path / "ckpts", ModelKind.CHECKPOINT)])
    assert [(e.name, e.family) for e in diffusers] == [("sub/tiny", ModelFamily.SD1)]


def test_hashes_are_a1111s_and_cached_until_the_file_changes(tmp_path):
    lora = write_safetensors(tmp_path / "x.safetensors", kohya_lora_shapes(8), tag_frequency(a=1))
    data = lora.read_bytes()
    header_end = 8 + int.from_bytes(data[:8], "little")
    assert hashing.sha256_of_file(lora) == hashlib.sha256(data).hexdigest()
    assert hashing.addnet_hash(lora) == hashlib.sha256(data[header_end:]).hexdigest()
    assert hashing.network_hash(lora) == hashing.addnet_hash(lora)
    assert hashing.file_hash(lora) == hashlib.sha256(data).hexdigest()[:10]
    assert hashing.cached_hash(lora, "addnet") == hashlib.sha256(data[header_end:]).hexdigest()
    write_safetensors(lora, kohya_lora_shapes(8), tag_frequency(b=2))  # same tensors, other metadata
    assert hashing.addnet_hash(lora) == hashlib.sha256(data[header_end:]).hexdigest()
    assert hashing.sha256_of_file(lora) == hashlib.sha256(lora.read_bytes()).hexdigest() != hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("content", [b"", b"\x00" * 4, b"\xff" * 16, b"\x05\x00\x00\x00\x00\x00\x00\x00[1,2]"])
def test_bad_safetensors_are_listed_with_one_sentence(content):
    path = models_dir() / "vae" / "bad.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    (entry,) = [e for e in scan(own_folders()) if e.name == "bad"]
    assert entry.problem == "'bad.safetensors' is not a valid .safetensors file."
