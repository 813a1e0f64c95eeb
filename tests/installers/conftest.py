"""The packaging scripts live in packaging/ (not a Python package: that name is PyPI's `packaging`)."""

import sys
from pathlib import Path

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
sys.path.insert(0, str(PACKAGING))
sys.path.insert(0, str(PACKAGING / "tools"))
