"""channels_last (opt-in: ``--channels-last`` or the setting): the UNet and VAE in NHWC, pictures within 2 levels of
diffusers' layout; by default the pictures are diffusers' exactly."""

import numpy as np
import torch
from PIL import Image

from studio import cli
from studio.core.request import GenerationRequest
from studio.engine import engine as engine_module
from studio.engine.engine import Engine


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


def test_the_cli_runs_nhwc_when_asked_and_exact_by_default(tiny_sd_dir, tmp_path, monkeypatch):
    layouts = []
    real = engine_module.use_channels_last
    monkeypatch.setattr(engine_module, "use_channels_last", lambda *a: (layouts.append(a), real(*a)))
    common = ["generate", "--model", str(tiny_sd_dir), "--prompt", "a lighthouse", "--steps", "3", "--seed", "4",
              "--scheduler", "euler", "--width", "64", "--height", "64", "--device", "cpu"]
    assert cli.main(common + ["--channels-last", "--out", str(tmp_path / "fast.png")]) == 0
    assert layouts
    layouts.clear()
    assert cli.main(common + ["--out", str(tmp_path / "exact.png")]) == 0
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
