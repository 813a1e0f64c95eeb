"""Shared fixtures: tiny offline pipelines (built once per session) and an isolated app root per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import tiny_models


@pytest.fixture(autouse=True)
def _isolated_studio_home(tmp_path_factory, monkeypatch):
    """No test touches the real user folder or the network."""
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path_factory.mktemp("studio_home")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _build(tmp_path_factory, name: str) -> Path:
    return tiny_models.BUILDERS[name](tmp_path_factory.mktemp(f"tiny_{name}"))


@pytest.fixture(scope="session")
def tiny_sd_dir(tmp_path_factory) -> Path:
    """A saved diffusers folder: tiny random SD 1.x ``StableDiffusionPipeline``."""
    return _build(tmp_path_factory, "sd")


@pytest.fixture(scope="session")
def tiny_sd_inpaint_dir(tmp_path_factory) -> Path:
    """A saved diffusers folder: tiny random SD 1.x ``StableDiffusionInpaintPipeline`` (9-channel UNet)."""
    return _build(tmp_path_factory, "sd_inpaint")


@pytest.fixture(scope="session")
def tiny_sd2_dir(tmp_path_factory) -> Path:
    """A saved diffusers folder: tiny random SD 2.x pipeline (``v_prediction``)."""
    return _build(tmp_path_factory, "sd2")


@pytest.fixture(scope="session")
def tiny_sdxl_dir(tmp_path_factory) -> Path:
    """A saved diffusers folder: tiny random ``StableDiffusionXLPipeline``."""
    return _build(tmp_path_factory, "sdxl")
