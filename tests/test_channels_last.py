"""channels_last (the app's default for PyTorch): the UNet and VAE in NHWC, pictures within 2 levels of diffusers'
layout; ``--no-channels-last`` (or the setting) gives diffusers' exact pixels. The rest of the suite runs with the
default turned off (tests/conftest.py), so here it is put back."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from studio import cli
from studio.core import settings as settings_module
from studio.core.request import GenerationRequest
from studio.core.settings import load_settings, settings_path
from studio.engine import engine as engine_module
from studio.engine.engine import Engine


@pytest.fixture
def app_default(monkeypatch):
    monkeypatch.setattr(settings_module, "CHANNELS_LAST_DEFAULT", True)


def test_channels_last_runs_nhwc_with_the_same_picture_within_two_levels(tiny_sd_dir, sd_engine):
    engine = Engine("cpu", previews="linear", channels_last=True)
    engine.load(str(tiny_sd_dir))
    request = GenerationRequest("a red fox in snow", seed=42, steps=4, width=64, height=64, scheduler="euler")

    ours = np.asarray(engine.generate(request).images[0], dtype=np.int16)
    plain = np.asarray(sd_engine.generate(request).images[0], dtype=np.int16)

    pipe = engine._loaded.pipe
    for conv in (pipe.unet.conv_in, pipe.vae.decoder.conv_in):
        assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert np.abs(ours - plain).max() <= 2


def test_it_is_the_default_and_older_settings_files_take_it(app_default):
    assert load_settings().settings.channels_last
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps({"version": 1, "prompt": "kept", "channels_last": False}))
    loaded = load_settings().settings
    assert loaded.channels_last and loaded.prompt == "kept"


def test_the_cli_runs_nhwc_by_default_and_exact_with_no_channels_last(app_default, tiny_sd_dir, tmp_path, monkeypatch):
    layouts = []
    real = engine_module.use_channels_last
    monkeypatch.setattr(engine_module, "use_channels_last", lambda *a: (layouts.append(a), real(*a)))
    common = ["generate", "--model", str(tiny_sd_dir), "--prompt", "a lighthouse", "--steps", "3", "--seed", "4",
              "--scheduler", "euler", "--width", "64", "--height", "64", "--device", "cpu"]
    assert cli.main(common + ["--out", str(tmp_path / "fast.png")]) == 0
    assert layouts
    layouts.clear()
    assert cli.main(common + ["--no-channels-last", "--out", str(tmp_path / "exact.png")]) == 0
    assert not layouts
    fast, exact = (np.asarray(Image.open(tmp_path / f"{name}.png").convert("RGB"), dtype=np.int16)
                   for name in ("fast", "exact"))
    request = GenerationRequest("a lighthouse", seed=4, steps=3, width=64, height=64, scheduler="euler")
    plain = Engine("cpu", previews="linear")
    plain.load(str(tiny_sd_dir))
    assert np.array_equal(exact, np.asarray(plain.generate(request).images[0], dtype=np.int16))
    assert np.abs(fast - exact).max() <= 2


def test_a_flux_model_loads_and_generates_with_the_default_layout(tiny_flux_dir, flux_engine):
    engine = Engine("cpu", previews="linear", channels_last=True)
    engine.load(str(tiny_flux_dir))  # no UNet: only the VAE goes NHWC
    assert engine._loaded.pipe.vae.decoder.conv_in.weight.is_contiguous(memory_format=torch.channels_last)
    request = GenerationRequest("a red fox in snow", seed=42, steps=2, width=64, height=64)
    ours = np.asarray(engine.generate(request).images[0], dtype=np.int16)
    plain = np.asarray(flux_engine.generate(request).images[0], dtype=np.int16)
    assert np.abs(ours - plain).max() <= 2
