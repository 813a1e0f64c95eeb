"""Tiny random-weight ControlNets for the tiny pipelines, built offline.

``ControlNetModel.from_unet`` copies the UNet's architecture, but its output ("zero") convolutions start at zero,
so such a ControlNet changes nothing: :func:`build_tiny_controlnet` gives them small random weights so that control
visibly matters.
"""

from __future__ import annotations

from pathlib import Path

import torch


def build_tiny_controlnet(model_dir: Path, out_dir: Path, seed: int = 1) -> Path:
    """A diffusers ControlNet folder for the tiny pipeline saved in ``model_dir``."""
    from diffusers import ControlNetModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(model_dir, subfolder="unet", local_files_only=True)
    torch.manual_seed(seed)
    controlnet = ControlNetModel.from_unet(unet)
    with torch.no_grad():
        for conv in [*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block]:
            conv.weight.normal_(0, 0.3)
            conv.bias.normal_(0, 0.1)
    controlnet.save_pretrained(out_dir, safe_serialization=True)
    return Path(out_dir)


def control_image(size: int = 64, seed: int = 3):
    """A bright square on black with noise: a control map with structure."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
    pixels[size // 4 : size * 3 // 4, size // 4 : size * 3 // 4] = 230
    return Image.fromarray(pixels)
