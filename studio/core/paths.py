"""Where the app keeps its state: one root folder, ``STUDIO_HOME`` or the platform's user data dir."""

import os
from pathlib import Path

import platformdirs

APP_NAME = "LatentStudio"


def studio_home() -> Path:
    root = os.environ.get("STUDIO_HOME")
    path = Path(root).expanduser() if root else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _subdir(name: str) -> Path:
    path = studio_home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def outputs_dir() -> Path:
    return _subdir("outputs")


def logs_dir() -> Path:
    return _subdir("logs")


def cache_dir() -> Path:
    return _subdir("cache")


def openvino_cache_dir() -> Path:
    """OpenVINO's converted models (made by the backend with its first conversion, not here)."""
    return cache_dir() / "openvino"


def models_dir() -> Path:
    """User-managed models (checkpoints, diffusers folders, optional preview decoders)."""
    return _subdir("models")
