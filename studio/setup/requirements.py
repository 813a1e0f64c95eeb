"""What the set-up installs besides torch: the rest of the ``engine`` extra, and the ``openvino`` extra, read from
the app's own metadata (or from pyproject.toml in a source checkout, whose installed metadata may be stale)."""

import importlib.metadata
import re
import tomllib
from pathlib import Path

DISTRIBUTION = "latent-studio"
ENGINE = "engine"
OPENVINO = "openvino"


def engine_requirements() -> list[str]:
    """The ``engine`` extra's requirements other than torch, e.g. ``["accelerate>=0.30"]``."""
    return [req for req in extra_requirements(ENGINE) if requirement_name(req) != "torch"]


def extra_requirements(extra: str) -> list[str]:
    """The requirements of one of the app's extras, as pinned there, e.g. ``["openvino>=2026.4"]``."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():  # a source checkout: its pyproject.toml is newer than any installed metadata
        with pyproject.open("rb") as f:
            project = tomllib.load(f).get("project", {})
        if project.get("name") == DISTRIBUTION:
            return list(project["optional-dependencies"][extra])
    requires = importlib.metadata.requires(DISTRIBUTION) or []
    marker = re.compile(r"""extra\s*==\s*["']%s["']""" % re.escape(extra))
    return [req.split(";", 1)[0].strip() for req in requires if ";" in req and marker.search(req.split(";", 1)[1])]


def requirement_name(requirement: str) -> str:
    """``"openvino>=2026.4"`` -> ``"openvino"`` (normalised as package names are)."""
    return re.split(r"[\s<>=!~\[;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")
