"""``studio setup``: the first-run PyTorch set-up for scripts and terminals; ``--openvino`` installs OpenVINO too
(or alone, when torch already fits).

Exit status: 0 the installed torch fits (``--check``) or the install verified; 3 a set-up is needed (or
``--yes`` was not given); 2 a problem, told in one sentence; 130 cancelled.
"""

import argparse
import sys
import threading

from studio.core.backends import OPENVINO_GAIN, openvino_installed
from studio.core.errors import StudioError
from studio.core.logs import setup_logging
from studio.setup import openvino_install
from studio.setup.builds import BUILDS, Build, builds_for, get_build, required_driver
from studio.setup.checks import WHEELS_ENV, local_wheels
from studio.setup.installer import DOWNLOADING, Progress, SetupCancelled
from studio.setup.procedure import Situation, look, set_up

NEEDS_SETUP = 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="studio setup",
        description="Install the PyTorch build that fits this computer into Latent Studio's own environment.",
        epilog=f"{WHEELS_ENV}=DIR installs torch from a local folder of wheels instead of PyTorch's index.")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--check", action="store_true", help="print what was found and whether the installed torch fits")
    what.add_argument("--list-builds", action="store_true", help="list the builds for this computer")
    what.add_argument("--yes", action="store_true", help="install without asking")
    parser.add_argument("--build", help="the build to install instead of the proposed one (see --list-builds)")
    parser.add_argument("--openvino", action="store_true",
                        help=f"also install OpenVINO, {OPENVINO_GAIN} (about {openvino_install.DOWNLOAD_MB} MB), "
                             "as pinned in the app's openvino extra")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    log_path = setup_logging()
    try:
        return _run(args)
    except StudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (SetupCancelled, KeyboardInterrupt):
        print("\ncancelled: the environment is unchanged; run `studio setup` again to resume", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback for us
        import logging

        logging.getLogger(__name__).exception("Unexpected failure in studio setup")
        print(f"error: unexpected failure ({type(exc).__name__}); details in {log_path}", file=sys.stderr)
        return 1


def _run(args) -> int:
    situation = look()
    if args.list_builds:
        _print_builds(situation)
        return 0
    _print_situation(situation)
    if args.check:
        return NEEDS_SETUP if situation.needs_setup else 0
    build = get_build(args.build) if args.build else situation.proposal.build
    if build is None:
        raise StudioError(situation.proposal.reason)
    torch_wanted = situation.needs_setup or bool(args.build)  # `--build NAME` reinstalls or switches
    openvino = _openvino_state() if args.openvino else None
    openvino_wanted = openvino in ("missing", "broken")
    if not torch_wanted and not openvino_wanted:
        return 0  # nothing to do
    what = ([f"torch {build.torch} ({_size(build, situation)})"] if torch_wanted else []) \
        + ([f"OpenVINO (about {openvino_install.DOWNLOAD_MB} MB to download)"] if openvino_wanted else [])
    if not args.yes:
        if not sys.stdin.isatty() or input(f"Install {' and '.join(what)}? [y/N] ").strip().lower() not in ("y", "yes"):
            again = "".join((" --build " + build.name if args.build else "", " --openvino" if args.openvino else ""))
            print(f"Nothing was installed; `studio setup --yes{again}` installs without asking.")
            return NEEDS_SETUP
    print(f"Installing {' and '.join(what)} into {sys.prefix}")
    if not torch_wanted:
        version = openvino_install.install_openvino(on_progress=_ProgressLine(), cancel=threading.Event(),
                                                    reinstall=openvino == "broken")
        print(f"\n{_openvino_ready(version)}")
        return 0
    done = set_up(build, situation.hardware, on_progress=_ProgressLine(), cancel=threading.Event(),
                  openvino=openvino_wanted)
    print(f"\nPyTorch {done.verified.torch} works ({done.verified.device}): Latent Studio is ready.")
    if done.openvino_problem:
        print(f"error: {done.openvino_problem}", file=sys.stderr)
        return 2
    if done.openvino:
        print(_openvino_ready(done.openvino))
    return 0


def _openvino_state() -> str:
    """"works", "missing", or "broken" (installed but its check fails: installed again)."""
    if not openvino_installed():
        return "missing"
    try:
        print(f"OpenVINO {openvino_install.verify_openvino()} is installed and works.")
        return "works"
    except StudioError as exc:
        print(f"OpenVINO needs a repair: {exc}")
        return "broken"


def _openvino_ready(version: str) -> str:
    return (f"OpenVINO {version} works: `studio generate --backend openvino`, or Engine › Run with OpenVINO in the "
            "window.")


def _print_situation(situation: Situation) -> None:
    print(f"Found: {situation.hardware.describe()}")
    for note in situation.hardware.notes:
        print(f"  note: {note}")
    proposal = situation.proposal
    print(f"Proposed build: {proposal.build.name + ' (torch ' + proposal.build.torch + ')' if proposal.build else 'none'}"
          f": {proposal.reason}")
    print(f"Installed: {situation.installed.version if situation.installed else 'no PyTorch'}")
    print(("Set-up needed: " if situation.needs_setup else "OK: ") + situation.explain())


def _print_builds(situation: Situation) -> None:
    here = {build.name for build in builds_for(situation.hardware)}
    proposed = situation.proposal.build.name if situation.proposal.build else None
    for build in BUILDS:
        mark = "*" if build.name == proposed else " " if build.name in here else "-"
        driver = required_driver(situation.hardware, build)
        size = _size(build, situation) if build.name in here else "not for this computer"
        print(f"{mark} {build.name:8} torch=={build.torch:16} {build.label}; {size}"
              + (f"; NVIDIA driver {driver}+" if driver else "") + f"; {build.index_url}")
    print("(* proposed, - no wheels for this computer)")


def _size(build: Build, situation: Situation) -> str:
    download, installed = build.sizes(situation.hardware.system)
    if local_wheels() is not None:
        return f"about {installed:,} MB on disk, from {local_wheels()}"
    return f"about {download:,} MB to download, {installed:,} MB on disk"


class _ProgressLine:
    def __init__(self) -> None:
        self.last = ""

    def __call__(self, progress: Progress) -> None:
        text = progress.describe()
        if text != self.last:
            end = "" if progress.phase == DOWNLOADING else "\n"
            sys.stderr.write(f"\r{text:<100}" + end)
            sys.stderr.flush()
            self.last = text
