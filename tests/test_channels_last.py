"""channels_last (opt-in): the UNet and VAE in NHWC, pictures within 2 levels of the default layout's."""

import numpy as np
import torch

from studio.core.request import GenerationRequest
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
