"""``studio models`` and the library's options of ``studio generate`` (``--lora``, ``--vae``)."""

from __future__ import annotations

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
