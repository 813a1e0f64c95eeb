"""``studio models`` and the library's options of ``studio generate`` (``--lora``, ``--vae``)."""

from __future__ import annotations

import pytest

from studio import cli
from studio.core.paths import models_dir
from studio.core.settings import Settings, save_settings
from tests.model_files import kohya_lora_shapes, write_safetensors


def test_models_lists_the_own_folders_and_an_a1111_install_from_the_settings(tmp_path, tiny_sd_checkpoint, capsys):
    webui = tmp_path / "webui"
    (webui / "models" / "Stable-diffusion").mkdir(parents=True)
    (webui / "models" / "Lora" / "chars").mkdir(parents=True)
    (webui / "embeddings").mkdir()
    ckpt = webui / "models" / "Stable-diffusion" / "dream.safetensors"
    ckpt.write_bytes(tiny_sd_checkpoint.read_bytes())
    lora = write_safetensors(webui / "models" / "Lora" / "chars" / "hero.safetensors", kohya_lora_shapes(768))
    own = write_safetensors(models_dir() / "embeddings" / "neg.safetensors", {"emb_params": (2, 768)})
    save_settings(Settings(model_folders=[str(webui)]))

    assert cli.main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["KIND", "FAMILY", "NAME", "PATH"]
    rows = [line.split("  ") for line in lines[1:]]
    rows = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    assert rows == [
        ["checkpoints", "SD 1.x", "dream", str(ckpt)],
        ["loras", "SD 1.x", "chars/hero", str(lora)],
        ["embeddings", "SD 1.x", "neg", str(own)],
    ]
    assert cli.main(["models", "--kind", "loras"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "chars/hero" in out[1]


def test_models_on_empty_folders_says_where_to_put_them(capsys):
    assert cli.main(["models"]) == 0
    captured = capsys.readouterr()
    assert [line.split() for line in captured.out.splitlines()] == [["KIND", "FAMILY", "NAME", "PATH"]]
    assert str(models_dir()) in captured.err


def _gen(model, out, *extra: str) -> list[str]:
    return ["generate", "--model", str(model), "--prompt", "a lighthouse", "--steps", "2", "--width", "64",
            "--height", "64", "--device", "cpu", "--seed", "3", "--out", str(out), *extra]


def test_lora_option_is_the_prompt_tag_and_is_recorded(tiny_sd_dir, tmp_path, capsys):
    import numpy as np
    from diffusers import DiffusionPipeline
    from PIL import Image

    from studio.core.hashing import addnet_hash
    from studio.core.metadata import read_recipe
    from tests.tiny_networks import kohya_lora

    pipe = DiffusionPipeline.from_pretrained(tiny_sd_dir, local_files_only=True)
    lora = kohya_lora(pipe, models_dir() / "loras" / "sub" / "ink.safetensors")
    assert cli.main(_gen(tiny_sd_dir, tmp_path / "alias.png", "--lora", "sub/ink:0.7")) == 0
    assert cli.main([*_gen(tiny_sd_dir, tmp_path / "tag.png")[:-4], "--prompt", "a lighthouse <lora:sub/ink:0.7>",
                     "--seed", "3", "--out", str(tmp_path / "tag.png")]) == 0
    assert cli.main(_gen(tiny_sd_dir, tmp_path / "plain.png")) == 0
    alias, tag, plain = (np.asarray(Image.open(tmp_path / f"{n}.png")) for n in ("alias", "tag", "plain"))
    assert np.array_equal(alias, tag) and not np.array_equal(alias, plain)
    recipe = read_recipe(tmp_path / "alias.png")
    assert recipe.prompt == "a lighthouse <lora:sub/ink:0.7>"
    assert recipe.lora_hashes == f"sub/ink: {addnet_hash(lora)[:12]}"


def test_an_unknown_lora_is_refused_before_the_model_loads(tiny_sd_dir, tmp_path, capsys, monkeypatch):
    import studio.engine.engine as engine_module

    monkeypatch.setattr(engine_module.Engine, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    assert cli.main(_gen(tiny_sd_dir, tmp_path / "x.png", "--lora", "nowhere")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: The prompt asks for the LoRA 'nowhere'") and err.count("\n") == 0
    assert cli.main(_gen(tiny_sd_dir, tmp_path / "x.png", "--vae", "nowhere")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: There is no VAE called 'nowhere'") and err.count("\n") == 0
    assert not (tmp_path / "x.png").exists()
