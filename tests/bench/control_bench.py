"""The cost of one ControlNet per denoising step, relative to the UNet step it conditions.

SD 1.5 architecture with random weights (``sd15.build_sd15``) and a ControlNet made from its UNet
(``ControlNetModel.from_unet``, the shape of the real SD 1.5 ControlNets). One step with CFG is a batch of 2: the
UNet call alone, and the ControlNet call whose residuals the UNet then takes; timed alternating, medians.
"""

import statistics
import time

import torch
from diffusers import ControlNetModel

from tests.bench.sd15 import build_sd15


def run(size: int = 256, rounds: int = 3) -> dict[str, float]:
    pipe = build_sd15()
    unet = pipe.unet.eval()
    controlnet = ControlNetModel.from_unet(unet).eval()
    latent = size // 8
    sample = torch.randn(2, 4, latent, latent)
    context = torch.randn(2, 77, 768)
    cond = torch.rand(2, 3, size, size)
    t = torch.tensor(500)
    unet_times, control_times = [], []
    with torch.inference_mode():
        unet(sample, t, context)  # warm-up
        for _ in range(rounds):
            start = time.perf_counter()
            unet(sample, t, context)
            unet_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            down, mid = controlnet(sample, t, context, controlnet_cond=cond, return_dict=False)
            control_times.append(time.perf_counter() - start)
            unet(sample, t, context, down_block_additional_residuals=down, mid_block_additional_residual=mid)
    u, c = statistics.median(unet_times), statistics.median(control_times)
    return {"size": size, "unet_s": u, "controlnet_s": c, "ratio": c / u}


def report(figures: dict[str, float]) -> str:
    return (f"one ControlNet per step ÷ UNet step ({figures['size']}x{figures['size']}, CFG batch 2): "
            f"{figures['ratio']:.2f} ({figures['controlnet_s']:.2f} s vs {figures['unet_s']:.2f} s)")
