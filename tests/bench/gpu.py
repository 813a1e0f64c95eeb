"""GPU speed: plain diffusers against the engine, SD 1.5 at 512 and SDXL at 1024, fp16, random weights.

Rows: diffusers as it comes (SDPA attention, its default), diffusers with channels_last, the engine (which sets
channels_last), and with ``--compile`` the engine's UNet under ``torch.compile`` (opt-in; its compile time is the
first call's extra time, reported apart). it/s is taken between the first and the last step callbacks, so loading,
text encoding and decoding stay out of it; peak VRAM is ``torch.cuda.max_memory_allocated`` over the run.

``python -m tests.bench.gpu [--steps 20] [--compile] [--families sd15 sdxl]`` prints a table; without a CUDA GPU it
says so and exits 0. ``--self-check`` runs every row on the tests' tiny models on the CPU (seconds), so the script
itself is tested (tests/test_bench_gpu.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PROMPT = "a castle on a hill at sunset"


@dataclass(frozen=True)
class Family:
    name: str
    size: int
    build: Callable[[Path], None]  # saves the model (real architecture, random weights) into a folder


@dataclass
class Row:
    family: str
    variant: str
    its: float
    peak_vram_gb: float
    compile_s: float | None = None


def _build_sd15(folder: Path) -> None:
    from tests.bench.sd15 import build_sd15

    build_sd15(folder)


def _build_sdxl(folder: Path) -> None:
    """The SDXL base architecture from the shipped config folder, random weights."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

    from studio.core.model_info import ModelFamily
    from studio.engine.families import config_dir

    root = config_dir(ModelFamily.SDXL, False)
    torch.manual_seed(0)
    StableDiffusionXLPipeline(
        unet=UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(root / "unet")),
        vae=AutoencoderKL.from_config(AutoencoderKL.load_config(root / "vae")),
        text_encoder=CLIPTextModel(CLIPTextConfig.from_pretrained(root / "text_encoder")),
        text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig.from_pretrained(root / "text_encoder_2")),
        tokenizer=CLIPTokenizer.from_pretrained(root / "tokenizer"),
        tokenizer_2=CLIPTokenizer.from_pretrained(root / "tokenizer_2"),
        scheduler=EulerDiscreteScheduler.from_pretrained(root / "scheduler"),
    ).save_pretrained(folder)


FAMILIES = {"sd15": Family("SD 1.5", 512, _build_sd15), "sdxl": Family("SDXL", 1024, _build_sdxl)}


def _tiny(name: str):
    from tests import tiny_models

    return tiny_models.build_tiny_sdxl if name == "sdxl" else tiny_models.build_tiny_sd


class _StepClock:
    """Step callback times: steps per second between the first and the last callback."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self, *_args):
        self._sync()
        self.times.append(time.perf_counter())
        return _args[-1] if len(_args) == 4 else None  # diffusers' callback_on_step_end must return its dict

    def _sync(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()

    @property
    def its(self) -> float:
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


def _measure(call, device: str) -> tuple[float, float, float]:
    """(it/s, peak VRAM GB, seconds of the first call beyond a steady one) over a warm-up and a measured call."""
    import torch

    first = time.perf_counter()
    call(_StepClock())
    first = time.perf_counter() - first
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    clock = _StepClock()
    steady = time.perf_counter()
    call(clock)
    steady = time.perf_counter() - steady
    peak = torch.cuda.max_memory_allocated() / 1024 ** 3 if device == "cuda" else 0.0
    return clock.its, peak, max(0.0, first - steady)


def _rows(key: str, folder: Path, steps: int, size: int, device: str, compile_unet: bool) -> list[Row]:
    import torch

    rows = _diffusers_rows(FAMILIES[key].name, folder, steps, size, device)
    if device == "cuda":
        torch.cuda.empty_cache()  # the diffusers pipeline is gone: the engine starts from an empty GPU
    return rows + _engine_rows(FAMILIES[key].name, folder, steps, size, device, compile_unet)


def _diffusers_rows(family: str, folder: Path, steps: int, size: int, device: str) -> list[Row]:
    import torch
    from diffusers import DiffusionPipeline

    dtype = torch.float16 if device == "cuda" else torch.float32
    pipe = DiffusionPipeline.from_pretrained(folder, dtype=dtype, local_files_only=True).to(device)
    pipe.set_progress_bar_config(disable=True)

    def call(clock):
        with torch.inference_mode():
            pipe(PROMPT, num_inference_steps=steps, width=size, height=size, callback_on_step_end=clock,
                 generator=torch.Generator("cpu").manual_seed(1))

    rows = [Row(family, "diffusers (SDPA)", *_measure(call, device)[:2])]
    pipe.unet.to(memory_format=torch.channels_last)
    pipe.vae.to(memory_format=torch.channels_last)
    return rows + [Row(family, "diffusers + channels_last", *_measure(call, device)[:2])]


def _engine_rows(family: str, folder: Path, steps: int, size: int, device: str, compile_unet: bool) -> list[Row]:
    import torch

    from studio.core.request import GenerationRequest
    from studio.engine.engine import Engine

    engine = Engine(device, previews="linear", channels_last=True)
    engine.load(str(folder))
    request = GenerationRequest(PROMPT, seed=1, steps=steps, width=size, height=size)

    def call(clock):
        engine.generate(request, on_step=clock)

    rows = [Row(family, "engine (channels_last, SDPA)", *_measure(call, device)[:2])]
    if compile_unet:
        loaded = engine._loaded.pipe  # the bench reaches in: torch.compile is not an engine option (yet)
        loaded.unet = torch.compile(loaded.unet)
        engine._pipes = {}
        rows.append(Row(family, "engine + torch.compile", *_measure(call, device)))
    return rows


def run(families: list[str], steps: int, compile_unet: bool, self_check: bool) -> list[Row]:
    device = "cpu" if self_check else "cuda"
    rows: list[Row] = []
    for key in families:
        with tempfile.TemporaryDirectory() as folder:
            if self_check:
                _tiny(key)(Path(folder))
                size = 64
            else:
                FAMILIES[key].build(Path(folder))
                size = FAMILIES[key].size
            print(f"  {FAMILIES[key].name} at {size}x{size}...", file=sys.stderr, flush=True)
            rows += _rows(key, Path(folder), steps, size, device, compile_unet)
    return rows


def report(rows: list[Row], device: str) -> str:
    lines = [f"GPU benchmark on {device}, random weights",
             f"  {'model':8} {'variant':30} {'it/s':>8} {'peak VRAM GB':>13} {'compile s':>10}"]
    for row in rows:
        compiled = f"{row.compile_s:10.1f}" if row.compile_s is not None else f"{'':10}"
        lines.append(f"  {row.family:8} {row.variant:30} {row.its:8.2f} {row.peak_vram_gb:13.2f} {compiled}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.gpu", description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--compile", action="store_true", help="add the engine with torch.compile (slow first call)")
    parser.add_argument("--self-check", action="store_true", help="tiny models on the CPU: checks the script only")
    args = parser.parse_args(argv)
    import torch

    if not args.self_check and not torch.cuda.is_available():
        print("No CUDA GPU here: nothing to measure (--self-check runs the script on tiny CPU models).")
        return 0
    device = "cpu (self-check, fp32)" if args.self_check else f"{torch.cuda.get_device_name()}, fp16"
    rows = run(args.families, args.steps if not args.self_check else 3, args.compile, args.self_check)
    print(report(rows, device), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
