"""Whole-process speed: ``studio generate`` (PyTorch and OpenVINO) against a plain diffusers script.

Each run is its own process, timed from start to exit with its peak resident memory (``wait4``), as a user meets
it: imports, loading, 20 steps, decoding, writing the PNG. OpenVINO runs twice on an empty cache: the first run
converts the UNet and VAE (and says so), the second is the steady state. The pictures are compared with the
diffusers script's (same model, scheduler, seed, size). The model is the SD 1.5 architecture with random weights
unless ``--model`` names one; ``--tiny`` uses the test suite's tiny model, to check this script in seconds.

The modes that change pixels add rows, each compared with its full-precision run (time and max pixel difference):
``--draft`` decodes with the tiny autoencoder (TAESD's architecture with random weights, put where the app looks
for one), against "studio, PyTorch"; ``--int8`` runs OpenVINO with NNCF int8 weights (a first run that converts,
then the steady state), against "OpenVINO steady". With random weights the draft's pixel difference says nothing
about a real TAESD's (two random decoders); its time does.

Not part of the test suite (the figures depend on the machine): ``python -m tests.bench speed [--size 512]
[--steps 20] [--model DIR] [--tiny] [--draft] [--int8]``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
from PIL import Image

PROMPT = "a castle on a hill at sunset"
SEED = 1

# The script a diffusers user would write: the model's own scheduler, CFG 7, the seed's CPU generator.
DIFFUSERS_SCRIPT = textwrap.dedent("""
    import sys, torch
    from diffusers import StableDiffusionPipeline
    folder, steps, size, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    pipe = StableDiffusionPipeline.from_pretrained(folder, local_files_only=True, safety_checker=None)
    image = pipe({prompt!r}, negative_prompt="", num_inference_steps=steps, guidance_scale=7.0, width=size,
                 height=size, generator=[torch.Generator("cpu").manual_seed({seed})]).images[0]
    image.save(out)
""").format(prompt=PROMPT, seed=SEED)


def _measure(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in GB, and stderr of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stderr = process.stderr.read()
    _pid, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss / 1024 ** 2, stderr


def run(steps: int = 20, size: int = 512, model: Path | None = None, tiny: bool = False, draft: bool = False,
        int8: bool = False) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="studio-speed-"))
    if model is None:
        model = work / "model"
        if tiny:
            from tests.tiny_models import build_tiny_sd

            build_tiny_sd(model)
        else:
            from tests.bench.sd15 import build_sd15

            build_sd15(model)
    env = os.environ | {"STUDIO_HOME": str(work / "home"), "HF_HUB_OFFLINE": "1"}
    python = sys.executable
    runs = [("diffusers script", [python, "-c", DIFFUSERS_SCRIPT, str(model), str(steps), str(size)])]
    studio = [python, "-m", "studio", "generate", "--model", str(model), "--prompt", PROMPT, "--seed", str(SEED),
              "--steps", str(steps), "--width", str(size), "--height", str(size), "--device", "cpu"]
    runs += [("studio, PyTorch", studio + ["--backend", "torch"]),
             ("studio, PyTorch channels_last", studio + ["--backend", "torch", "--channels-last"]),
             ("studio, OpenVINO first run", studio + ["--backend", "openvino"]),
             ("studio, OpenVINO steady", studio + ["--backend", "openvino"])]
    full = {}  # a row that changes pixels -> its full-precision row
    if draft:
        _tiny_autoencoder(work / "home" / "models" / "taesd", tiny)
        runs.append(("studio, PyTorch, TAESD draft", studio + ["--backend", "torch", "--draft-decode"]))
        full["studio, PyTorch, TAESD draft"] = "studio, PyTorch"
    if int8:
        int8_run = studio + ["--backend", "openvino", "--openvino-weights", "int8"]
        runs += [("studio, OpenVINO int8 first run", int8_run), ("studio, OpenVINO int8 steady", int8_run)]
        full |= dict.fromkeys(["studio, OpenVINO int8 first run", "studio, OpenVINO int8 steady"],
                              "studio, OpenVINO steady")
    rows = []
    for index, (name, command) in enumerate(runs):
        out = work / f"{index}.png"
        command = command + ([str(out)] if name == "diffusers script" else ["--out", str(out)])
        wall, rss, stderr = _measure(command, env)
        rows.append(dict(name=name, wall_s=wall, peak_rss_gb=rss, converted="Converting" in stderr,
                         pixels=np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)))
        print(f"  {name}: {wall:.1f} s", file=sys.stderr, flush=True)
    by_name = {row["name"]: row for row in rows}
    reference, base = rows[0]["wall_s"], rows[0]["pixels"]
    for row in rows:
        row["ratio"] = row["wall_s"] / reference
        row["max_diff"] = int(np.abs(row["pixels"] - base).max())
        if row["name"] in full:
            against = by_name[full[row["name"]]]
            row["vs_full"] = (row["wall_s"] / against["wall_s"], int(np.abs(row["pixels"] - against["pixels"]).max()))
    return [dict({k: v for k, v in row.items() if k != "pixels"}, steps=steps, size=size) for row in rows]


def _tiny_autoencoder(folder: Path, tiny: bool) -> None:
    """TAESD's own architecture with random weights (``--tiny``: the tests' tiny one), where the app looks."""
    if tiny:
        from tests.tiny_models import save_tiny_taesd

        save_tiny_taesd(folder)
        return
    import torch
    from diffusers import AutoencoderTiny

    torch.manual_seed(0)
    AutoencoderTiny().save_pretrained(folder)  # the defaults are madebyollin/taesd's configuration


def report(rows: list[dict]) -> str:
    head = rows[0]
    lines = [f"whole process, {head['size']}x{head['size']}, {head['steps']} steps, CPU "
             f"({os.cpu_count()} cores); targets: OpenVINO <= 0.6x, PyTorch <= 0.95x the diffusers script",
             f"  {'run':32} {'wall s':>8} {'x diffusers':>12} {'peak RSS GB':>12} {'max diff':>9}  converted"
             f"  {'x full':>7} {'diff vs full':>12}"]
    for row in rows:
        ratio, diff = (f"{row['vs_full'][0]:.2f}", str(row["vs_full"][1])) if "vs_full" in row else ("", "")
        lines.append(f"  {row['name']:32} {row['wall_s']:8.1f} {row['ratio']:12.2f} {row['peak_rss_gb']:12.2f} "
                     f"{row['max_diff']:9d}  {'yes' if row['converted'] else '':9}  {ratio:>7} {diff:>12}")
    if any("vs_full" in row for row in rows):
        lines.append("  x full / diff vs full: against the same run at full precision (PyTorch's VAE decode for the "
                     "draft, OpenVINO fp32 steady for int8)")
    return "\n".join(lines) + "\n"
