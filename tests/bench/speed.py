"""Whole-process speed: ``studio generate`` (PyTorch and OpenVINO) against a plain diffusers script.

Each run is its own process, timed from start to exit with its peak resident memory (``wait4``), as a user meets
it: imports, loading, 20 steps, decoding, writing the PNG. The runs that convert come first, once, on an empty
cache: "OpenVINO first run" converts the UNet, the VAE and the text encoder (and says so). Then the steady rows
run in ``rounds`` alternating rounds (diffusers, PyTorch, OpenVINO, OpenVINO fast, ...), because this machine's
speed drifts by several percent from one minute to the next; each row's ratio is its total over the rounds
divided by the diffusers script's total over the same rounds, with the per-round range beside it. The pictures
are compared with the diffusers script's (same model, scheduler, seed, size). The model is the SD 1.5
architecture with random weights unless ``--model`` names one; ``--tiny`` uses the test suite's tiny model, to
check this script in seconds.

The modes that change pixels are each compared with their full-precision run (time and max pixel difference):
"OpenVINO fast" (bf16 where the CPU has it) and ``--int8`` (NNCF int8 weights: a first run that converts, then
steady rows) against "OpenVINO steady", ``--draft`` (the tiny autoencoder decodes: TAESD's architecture with
random weights, put where the app looks for one) against "studio, PyTorch". With random weights the draft's
pixel difference says nothing about a real TAESD's (two random decoders); its time does. ``--channels-last``
adds PyTorch's opt-in NHWC row.

Not part of the test suite (the figures depend on the machine): ``python -m tests.bench speed [--size 512]
[--steps 20] [--rounds 2] [--model DIR] [--tiny] [--draft] [--int8] [--channels-last]``.
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
        int8: bool = False, rounds: int = 2, channels_last: bool = False) -> list[dict]:
    """In a scratch folder removed afterwards (the model, the app root with its OpenVINO cache: 8-11 GB at 512)."""
    with tempfile.TemporaryDirectory(prefix="studio-speed-") as folder:
        return _rows(Path(folder), steps, size, model, tiny, draft, int8, rounds, channels_last)


def _rows(work: Path, steps: int, size: int, model: Path | None, tiny: bool, draft: bool, int8: bool, rounds: int,
          channels_last: bool) -> list[dict]:
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
    diffusers = [python, "-c", DIFFUSERS_SCRIPT, str(model), str(steps), str(size)]
    studio = [python, "-m", "studio", "generate", "--model", str(model), "--prompt", PROMPT, "--seed", str(SEED),
              "--steps", str(steps), "--width", str(size), "--height", str(size), "--device", "cpu"]
    openvino = studio + ["--backend", "openvino"]
    int8_run = openvino + ["--openvino-weights", "int8"]
    first = [("studio, OpenVINO first run", openvino)] + ([("studio, OpenVINO int8 first run", int8_run)] if int8 else [])
    steady = [("diffusers script", diffusers), ("studio, PyTorch", studio + ["--backend", "torch"])]
    if channels_last:
        steady.append(("studio, PyTorch channels_last", studio + ["--backend", "torch", "--channels-last"]))
    steady += [("studio, OpenVINO steady", openvino),
               ("studio, OpenVINO fast precision", openvino + ["--openvino-precision", "fast"])]
    full = {"studio, OpenVINO fast precision": "studio, OpenVINO steady"}  # a row that changes pixels -> its own
    if draft:
        _tiny_autoencoder(work / "home" / "models" / "taesd", tiny)
        steady.append(("studio, PyTorch, TAESD draft", studio + ["--backend", "torch", "--draft-decode"]))
        full["studio, PyTorch, TAESD draft"] = "studio, PyTorch"
    if int8:
        steady.append(("studio, OpenVINO int8 steady", int8_run))
        full |= dict.fromkeys(["studio, OpenVINO int8 first run", "studio, OpenVINO int8 steady"],
                              "studio, OpenVINO steady")
    rows: dict[str, dict] = {}
    for round_index, batch in enumerate([first] + [steady] * rounds):
        for name, command in batch:
            out = work / f"{round_index}-{name}.png"
            command = command + ([str(out)] if command is diffusers else ["--out", str(out)])
            wall, rss, stderr = _measure(command, env)
            row = rows.setdefault(name, dict(name=name, walls=[], peak_rss_gb=0.0, converted=False))
            row["walls"].append(wall)
            row["peak_rss_gb"] = max(row["peak_rss_gb"], rss)
            row["converted"] |= "Converting" in stderr
            row["pixels"] = np.asarray(Image.open(out).convert("RGB"), dtype=np.int16)
            print(f"  {name}: {wall:.1f} s", file=sys.stderr, flush=True)
    base = rows["diffusers script"]
    for row in rows.values():
        row["wall_s"] = sum(row["walls"]) / len(row["walls"])
    for row in rows.values():
        if len(row["walls"]) == len(base["walls"]):  # the steady rows: against diffusers' own rounds
            row["ratio"] = sum(row["walls"]) / sum(base["walls"])
            row["round_ratios"] = [mine / theirs for mine, theirs in zip(row["walls"], base["walls"])]
        else:  # a first run: against diffusers' mean
            row["ratio"] = row["wall_s"] / base["wall_s"]
            row["round_ratios"] = []
        row["max_diff"] = int(np.abs(row["pixels"] - base["pixels"]).max())
    for row in rows.values():
        if row["name"] in full:
            against = rows[full[row["name"]]]
            row["vs_full"] = (row["wall_s"] / against["wall_s"], int(np.abs(row["pixels"] - against["pixels"]).max()))
    order = [name for name, _ in steady[:2] + first + steady[2:]]
    return [dict({k: v for k, v in rows[name].items() if k != "pixels"}, steps=steps, size=size, rounds=rounds)
            for name in order]


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
    lines = [f"whole process, {head['size']}x{head['size']}, {head['steps']} steps, CPU ({os.cpu_count()} cores), "
             f"{head['rounds']} alternating rounds; targets: OpenVINO <= 0.6x, PyTorch <= 0.95x the diffusers script",
             f"  {'run':34} {'wall s':>8} {'x diffusers':>12} {'per round':>12} {'peak RSS GB':>12} {'max diff':>9}"
             f"  converted  {'x full':>7} {'diff vs full':>12}"]
    for row in rows:
        ratio, diff = (f"{row['vs_full'][0]:.2f}", str(row["vs_full"][1])) if "vs_full" in row else ("", "")
        spread = "-".join(f"{r:.2f}" for r in (min(row["round_ratios"]), max(row["round_ratios"]))) \
            if row["round_ratios"] else "once"
        lines.append(f"  {row['name']:34} {row['wall_s']:8.1f} {row['ratio']:12.2f} {spread:>12} "
                     f"{row['peak_rss_gb']:12.2f} {row['max_diff']:9d}  {'yes' if row['converted'] else '':9}  "
                     f"{ratio:>7} {diff:>12}")
    lines.append("  wall s: the mean over the rounds; x diffusers: the row's total over diffusers' total in the same "
                 "rounds (a first run: over diffusers' mean)")
    if any("vs_full" in row for row in rows):
        lines.append("  x full / diff vs full: against the same run at full precision (OpenVINO fp32 steady for the "
                     "fast precision and int8, PyTorch's VAE decode for the draft)")
    return "\n".join(lines) + "\n"
