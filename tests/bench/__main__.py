"""``python -m tests.bench [engine] [gui] [prompt] [metadata] [library] [history] [speed] [control] [floor] [--steps N]
[--size S] [--rounds R] [--files F] [--model DIR] [--tiny] [--draft] [--int8] [--channels-last]``: print
benchmark figures.

Defaults: engine 4 steps and 2 rounds; gui 2 steps and 3 launch rounds; prompt 5 rounds; library 1,000 files;
history 10,000 files; speed (whole-process ``studio generate``, PyTorch and OpenVINO in fp32 and fast precision,
against a diffusers script) 20 steps and 2 alternating rounds, with ``--draft``, ``--int8`` and ``--channels-last``
rows; floor (the fp32 floor of a UNet call on this CPU: its FLOPs over the CPU's matrix-multiply rate). The GPU
benchmark is its own command: ``python -m tests.bench.gpu``.
"""

import argparse
from pathlib import Path

from tests.bench import engine_bench


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("which", nargs="*", default=["engine"],
                        choices=["engine", "gui", "prompt", "metadata", "library", "history", "speed", "control",
                                 "floor"])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--files", type=int, default=None)
    parser.add_argument("--model", type=Path, default=None, help="speed: a diffusers folder instead of random weights")
    parser.add_argument("--tiny", action="store_true", help="speed: the tests' tiny model (checks the script)")
    parser.add_argument("--draft", action="store_true", help="speed: add a row decoded by the tiny autoencoder (TAESD)")
    parser.add_argument("--int8", action="store_true", help="speed: add OpenVINO rows with NNCF int8 weights")
    parser.add_argument("--channels-last", action="store_true", help="speed: add PyTorch's channels_last row")
    args = parser.parse_args()
    if "engine" in args.which:
        figures = engine_bench.run(args.steps or 4, args.size, args.rounds or 2)
        print(engine_bench.report(figures), flush=True)
    if "gui" in args.which:
        from tests.bench import gui_bench

        print(gui_bench.report(gui_bench.run(args.steps or 2, args.size, args.rounds or 3)), flush=True)
    if "prompt" in args.which:
        from tests.bench import prompt_bench

        print(prompt_bench.report(prompt_bench.run(args.rounds or 5)), flush=True)
    if "metadata" in args.which:
        from tests.bench import metadata_bench

        print(metadata_bench.report(metadata_bench.run()), flush=True)
    if "control" in args.which:
        from tests.bench import control_bench

        print(control_bench.report(control_bench.run(args.size, args.rounds or 3)), flush=True)
    if "floor" in args.which:
        from tests.bench import floor_bench

        print(floor_bench.report(floor_bench.run(args.size)), flush=True)
    if "library" in args.which:
        from tests.bench import library_bench

        print(library_bench.report(library_bench.run(args.files or 1000)), flush=True)
    if "history" in args.which:
        from tests.bench import history_bench

        print(history_bench.report(history_bench.run(args.files or 10_000)), flush=True)
    if "speed" in args.which:
        from tests.bench import speed

        print(speed.report(speed.run(args.steps or 20, args.size, args.model, args.tiny, args.draft, args.int8,
                                     args.rounds or 2, args.channels_last)), flush=True)


main()
