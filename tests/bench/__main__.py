"""``python -m tests.bench [engine] [--steps N] [--size S] [--rounds R]``: print benchmark figures."""

import argparse

from tests.bench import engine_bench


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench")
    parser.add_argument("which", nargs="*", default=["engine"], choices=["engine"])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if "engine" in args.which:
        print(engine_bench.report(engine_bench.run(args.steps, args.size, args.rounds)), flush=True)


main()
