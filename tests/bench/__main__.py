"""``python -m tests.bench [engine] [gui] [prompt] [metadata] [library] [history] [--steps N] [--size S]
[--rounds R] [--files F]``: print benchmark figures.

Defaults: engine 4 steps and 2 rounds; gui 2 steps and 3 launch rounds; prompt 5 rounds; library 1,000 files;
history 10,000 files.
"""

import argparse

from tests.bench import engine_bench


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("which", nargs="*", default=["engine"],
                        choices=["engine", "gui", "prompt", "metadata", "library", "history"])
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--files", type=int, default=None)
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
    if "library" in args.which:
        from tests.bench import library_bench

        print(library_bench.report(library_bench.run(args.files or 1000)), flush=True)
    if "history" in args.which:
        from tests.bench import history_bench

        print(history_bench.report(history_bench.run(args.files or 10_000)), flush=True)


main()
