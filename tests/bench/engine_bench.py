"""Engine overhead: the engine (with a preview every step) against diffusers' own pipeline call.

Both run the same SD 1.5-architecture pipeline, the same settings and seed, alternating, in one process;
the figure that matters is the ratio, since this machine is noisy.
"""

import statistics
import tempfile
import time

import torch

from studio.core.model_info import ModelFamily
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine
from studio.engine.families import plugin_of_family
from studio.engine.previews import linear_preview
from tests.bench.sd15 import build_sd15


def _time(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(steps: int = 4, size: int = 512, rounds: int = 2) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        build_sd15(folder)
        engine = Engine("cpu", previews="linear")
        engine.load(folder)
    request = GenerationRequest(prompt="a castle on a hill", seed=1, steps=steps, cfg_scale=7.0, width=size,
                                height=size, scheduler="euler")
    previews: list = []

    def with_engine():
        engine.generate(request, on_step=previews.append)

    def direct():
        direct_pipe = engine._pipeline(request.mode)
        with torch.inference_mode():
            direct_pipe(prompt=request.prompt, negative_prompt="", num_inference_steps=steps, guidance_scale=7.0,
                        width=size, height=size, generator=torch.Generator("cpu").manual_seed(1))

    direct()  # warm-up: first-call costs belong to neither side
    engine_times, direct_times = [], []
    for index in range(rounds):
        # Alternate which side goes first, so neither gains from the order (a warmer cache, a drifting clock).
        if index % 2:
            engine_times.append(_time(with_engine))
            direct_times.append(_time(direct))
        else:
            direct_times.append(_time(direct))
            engine_times.append(_time(with_engine))
    latents = torch.randn(1, 4, size // 8, size // 8)
    sd_factors = plugin_of_family(ModelFamily.SD1).preview_factors(ModelFamily.SD1)
    n = 200
    preview_ms = _time(lambda: [linear_preview(latents, sd_factors) for _ in range(n)]) / n * 1000
    return {
        "steps": steps,
        "size": size,
        "diffusers_s": statistics.median(direct_times),
        "engine_s": statistics.median(engine_times),
        "ratio": statistics.median(e / d for e, d in zip(engine_times, direct_times)),
        "preview_ms_per_step": preview_ms,
        "previews_received": len(previews),
    }


def report(figures: dict[str, float]) -> str:
    return (
        f"engine vs diffusers, SD1.5 architecture, {figures['size']}x{figures['size']}, {figures['steps']} steps, CPU\n"
        f"  diffusers pipeline call : {figures['diffusers_s']:.2f} s (median)\n"
        f"  engine with previews    : {figures['engine_s']:.2f} s (median)\n"
        f"  ratio engine/diffusers  : {figures['ratio']:.3f}   (target <= 1.03)\n"
        f"  linear preview per step : {figures['preview_ms_per_step']:.3f} ms\n"
    )
