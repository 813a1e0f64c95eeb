"""Installer sizes and the first start after an install: ``make package-report``.

    python packaging/report.py [--wheels DIR]

Prints the size of every installer in ``dist/``, then runs the smoke test on this OS's installer with an empty
uv cache and prints the size of the app's environment before and after the first-run set-up and the timings:
install (downloads included), the set-up, the first start of the window after the install (spawn to first
completed paint, offscreen) and a second start.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import release
import smoke

MB = 1024 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, default=None, help="torch wheels for the set-up (STUDIO_TORCH_WHEELS)")
    args = parser.parse_args(argv)
    installers = sorted(p for p in release.DIST.glob("*") if p.suffix in {".gz", ".exe", ".dmg"})
    if not installers:
        print("no installers in dist/: run `make package` first", file=sys.stderr)
        return 1
    print(f"Latent Studio {release.version()} installers (dist/):")
    for path in installers:
        print(f"  {path.name:48s} {path.stat().st_size / MB:7.1f} MB")

    package = smoke.default_package(release.host_os())
    scratch = Path(tempfile.mkdtemp(prefix="studio-report-"))
    try:
        figures = smoke.smoke(package, args.wheels, scratch, fresh_cache=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\nInstalled from {package.name} into a scratch home (empty uv cache):")
    print(f"  install (downloads the locked base dependencies) : {figures['install_s']:6.1f} s")
    print(f"  app environment after install, before PyTorch    : {figures['env_before_torch_bytes'] / MB:6.0f} MB")
    print(f"  first-run set-up (PyTorch CPU{' from ' + str(args.wheels) if args.wheels else ''}) : "
          f"{figures['setup_s']:6.1f} s")
    print(f"  app environment with PyTorch                     : {figures['env_with_torch_bytes'] / MB:6.0f} MB")
    print(f"  first start after install (window shown)         : {figures['first_start_s']:6.2f} s")
    print(f"  second start (window shown)                      : {figures['second_start_s']:6.2f} s")
    print(f"  generate, 64x64, 2 steps, tiny model (CLI)       : {figures['generate_s']:6.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
