"""Model sources behind one function: folders, hub ids (from the local hub cache), single files; devices."""

import hashlib
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from studio.core.errors import StudioError
from studio.core.request import GenerationRequest
from studio.engine.devices import choose_device
from studio.engine.engine import Engine


def _fill_hub_cache(cache, repo_id: str, folder) -> None:
    """Lay a diffusers folder out the way huggingface_hub caches a downloaded repo."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(folder, repo / "snapshots" / commit)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)


_HUB_SCRIPT = """
import hashlib, sys
import numpy as np
from studio.core.errors import StudioError
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine
engine = Engine("cpu")
try:
    info = engine.load(sys.argv[1])
except StudioError as exc:
    print("error:", exc)
    raise SystemExit(0)
image = engine.generate(GenerationRequest(prompt="x", seed=1, steps=2, width=64, height=64)).images[0]
print(info.name, info.family.value, len(info.model_hash), hashlib.sha256(np.asarray(image).tobytes()).hexdigest())
"""


def _load_in_subprocess(source: str, cache, tmp_path) -> str:
    """huggingface_hub reads its cache location at import, so each cache gets a fresh process."""
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "STUDIO_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", _HUB_SCRIPT, source], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_hub_id_loads_from_the_cache_offline(tiny_sd_dir, tmp_path):
    cache = tmp_path / "hub"
    _fill_hub_cache(cache, "tiny-org/tiny-sd", tiny_sd_dir)
    name, family, hash_len, digest = _load_in_subprocess("tiny-org/tiny-sd", cache, tmp_path).split()
    assert (name, family, hash_len) == ("tiny-org/tiny-sd", "sd1", "10")
    reference = Engine("cpu")
    reference.load(str(tiny_sd_dir))
    image = reference.generate(GenerationRequest(prompt="x", seed=1, steps=2, width=64, height=64)).images[0]
    assert digest == hashlib.sha256(np.asarray(image).tobytes()).hexdigest()


def test_uncached_hub_id_offline_is_a_clear_error(tmp_path):
    out = _load_in_subprocess("nobody/nothing", tmp_path / "empty-cache", tmp_path)
    assert out.startswith("error: The model 'nobody/nothing' is not downloaded yet")


def test_folder_without_model_index_is_refused(tmp_path):
    with pytest.raises(StudioError, match="not a diffusers model folder"):
        Engine("cpu").load(str(tmp_path))


def test_damaged_folder_is_refused_and_the_engine_stays_usable(tiny_sd_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_sd_dir, broken)
    weights = next((broken / "unet").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:1000])
    engine = Engine("cpu")
    with pytest.raises(StudioError, match="incomplete or damaged"):
        engine.load(str(broken))
    assert engine.info is None
    engine.load(str(tiny_sd_dir))
    assert engine.generate(GenerationRequest(prompt="x", seed=1, steps=1, width=64, height=64)).images


def test_sd2_folder_is_detected(tiny_sd2_dir):
    engine = Engine("cpu")
    assert engine.load(str(tiny_sd2_dir)).family.value == "sd2"
    result = engine.generate(GenerationRequest(prompt="x", seed=1, steps=2, width=64, height=64))
    assert result.recipes[0].model_family == "sd2"


def test_devices_default_to_cpu_here_and_refuse_missing_accelerators():
    choice = choose_device("auto")
    assert choice.device.type == "cpu" and str(choice.dtype) == "torch.float32"
    with pytest.raises(StudioError, match="no NVIDIA GPU"):
        choose_device("cuda")
    with pytest.raises(StudioError, match="no Apple GPU"):
        choose_device("mps")
    with pytest.raises(StudioError, match="Unknown device 'tpu'"):
        choose_device("tpu")


def test_a_long_library_error_is_cut_at_a_word_not_inside_one():
    from studio.engine.loading import _short

    text = "Cannot load the requested component because " + "a fairly long explanation follows " * 8
    short = _short(ValueError(text + "\nsecond line"))
    assert len(short) <= 161 and short.endswith("…")
    assert text.startswith(short[:-1]) and text[len(short) - 1] == " "  # the cut falls between words
    assert _short(ValueError("short one\nmore")) == "short one"


def test_a_model_that_fails_the_cheap_checks_leaves_the_loaded_model_working(tiny_sd_dir, tmp_path):
    engine = Engine("cpu")
    engine.load(str(tiny_sd_dir))
    half_copied = tmp_path / "half-copied"
    shutil.copytree(tiny_sd_dir, half_copied)
    shutil.rmtree(half_copied / "unet")
    not_safetensors = tmp_path / "model.safetensors"
    not_safetensors.write_bytes(b"<html>404</html>")
    for source, message in [
        (half_copied, "The model folder 'half-copied' is incomplete: it has no unet folder."),
        (not_safetensors, "'model.safetensors' is not a valid .safetensors file."),
        (tmp_path / "nowhere", "No model found at"),
    ]:
        with pytest.raises(StudioError) as raised:
            engine.load(str(source))
        assert str(raised.value).startswith(message)
        assert engine.info.name == tiny_sd_dir.name
    assert engine.generate(GenerationRequest(prompt="x", seed=1, steps=1, width=64, height=64)).images
