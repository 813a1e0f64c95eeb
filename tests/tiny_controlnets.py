"""Tiny random-weight ControlNets for the tiny pipelines, built offline.

``ControlNetModel.from_unet`` copies the UNet's architecture, but its output ("zero") convolutions start at zero,
so such a ControlNet changes nothing: :func:`build_tiny_controlnet` gives them small random weights so that control
visibly matters.
"""

from __future__ import annotations

from pathlib import Path

import torch


def build_tiny_controlnet(model_dir: Path, out_dir: Path, seed: int = 1, union: bool = False) -> Path:
    """A diffusers ControlNet folder for the tiny pipeline saved in ``model_dir`` (``union``: an SDXL union one)."""
    from diffusers import ControlNetModel, ControlNetUnionModel, UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(model_dir, subfolder="unet", local_files_only=True)
    torch.manual_seed(seed)
    controlnet = ControlNetModel.from_unet(unet)
    if union:  # its control-type transformer is as wide as the first block (320 in SDXL)
        width = unet.config.block_out_channels[0]
        config = ControlNetUnionModel.from_unet(unet, load_weights_from_unet=False).config
        controlnet = ControlNetUnionModel.from_config(config, num_trans_channel=width, num_proj_channel=width,
                                                      num_trans_head=4)
    with torch.no_grad():
        extra = [controlnet.spatial_ch_projs] if union else []
        for conv in [*controlnet.controlnet_down_blocks, controlnet.controlnet_mid_block, *extra]:
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
