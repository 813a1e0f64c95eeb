"""Shared fixtures: tiny offline pipelines (built once per session) and an isolated app root per test."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from tests import tiny_models
from tests.download_server import running_download_server


def pytest_configure(config):
    """Session-wide fixtures (built before any per-test fixture) must not touch the real user folder either."""
    os.environ["STUDIO_HOME"] = tempfile.mkdtemp(prefix="studio-test-home-")
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_studio_home(tmp_path_factory, monkeypatch):
    """No test touches the real user folder or the network."""
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path_factory.mktemp("studio_home")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def download_server():
    """A local HTTP server on 127.0.0.1 for download tests (``tests/download_server.py``)."""
    with running_download_server() as server:
        yield server


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


def _checkpoint(tmp_path_factory, folder: Path, name: str) -> Path:
    return tiny_models.save_single_file(folder, tmp_path_factory.mktemp("ckpt") / f"tiny-{name}.safetensors")


@pytest.fixture(scope="session")
def tiny_sd_checkpoint(tmp_path_factory, tiny_sd_dir) -> Path:
    """``tiny_sd_dir`` as an original LDM single-file ``.safetensors`` (load with ``config=tiny_sd_dir``)."""
    return _checkpoint(tmp_path_factory, tiny_sd_dir, "sd1")


@pytest.fixture(scope="session")
def tiny_sd_inpaint_checkpoint(tmp_path_factory, tiny_sd_inpaint_dir) -> Path:
    """``tiny_sd_inpaint_dir`` as a single-file ``.safetensors`` (9-channel ``input_blocks.0.0``)."""
    return _checkpoint(tmp_path_factory, tiny_sd_inpaint_dir, "sd1-inpainting")


@pytest.fixture(scope="session")
def tiny_sd2_checkpoint(tmp_path_factory, tiny_sd2_dir) -> Path:
    """``tiny_sd2_dir`` as a single-file ``.safetensors`` with the OpenCLIP text encoder layout."""
    return _checkpoint(tmp_path_factory, tiny_sd2_dir, "sd2")


@pytest.fixture(scope="session")
def tiny_sdxl_checkpoint(tmp_path_factory, tiny_sdxl_dir) -> Path:
    """``tiny_sdxl_dir`` as an SGM single-file ``.safetensors`` (``conditioner.embedders.0/1``)."""
    return _checkpoint(tmp_path_factory, tiny_sdxl_dir, "sdxl")


def _engine(folder: Path):
    from studio.engine.engine import Engine

    engine = Engine("cpu", previews="linear")
    engine.load(str(folder))
    return engine


@pytest.fixture(scope="module")
def sd_engine(tiny_sd_dir):
    """The real engine with the tiny SD 1.x model loaded, shared by a test module."""
    return _engine(tiny_sd_dir)


@pytest.fixture(scope="module")
def sdxl_engine(tiny_sdxl_dir):
    """The real engine with the tiny SDXL model loaded, shared by a test module."""
    return _engine(tiny_sdxl_dir)


@pytest.fixture(scope="session")
def tiny_flux_dir(tmp_path_factory) -> Path:
    """A saved diffusers folder: tiny random Flux.1-dev ``FluxPipeline`` (16-channel latents, T5 + CLIP)."""
    return _build(tmp_path_factory, "flux_dev")


@pytest.fixture(scope="session")
def tiny_flux_schnell_dir(tmp_path_factory) -> Path:
    """Tiny Flux.1-schnell: no guidance embedding, no dynamic shifting."""
    return _build(tmp_path_factory, "flux_schnell")


@pytest.fixture(scope="session")
def tiny_flux_fill_dir(tmp_path_factory) -> Path:
    """Tiny Flux.1 Fill (``FluxFillPipeline``, 384-channel ``x_embedder``): a dedicated inpainting model."""
    return _build(tmp_path_factory, "flux_fill")


@pytest.fixture(scope="session")
def tiny_flux_kontext_dir(tmp_path_factory) -> Path:
    """Tiny Flux.1 Kontext (``FluxKontextPipeline``): an instruction-editing model."""
    return _build(tmp_path_factory, "flux_kontext")


@pytest.fixture(scope="session")
def tiny_sd3_dir(tmp_path_factory) -> Path:
    """Tiny SD 3.5 (``StableDiffusion3Pipeline``: two CLIP encoders, T5, MMDiT transformer)."""
    return _build(tmp_path_factory, "sd3")


@pytest.fixture(scope="module")
def flux_engine(tiny_flux_dir):
    """The real engine with the tiny Flux.1-dev model loaded, shared by a test module."""
    return _engine(tiny_flux_dir)


@pytest.fixture(scope="session")
def tiny_chroma_dir(tmp_path_factory) -> Path:
    """Tiny Chroma (``ChromaPipeline``: T5 only, Flux's latent layout, true CFG)."""
    return _build(tmp_path_factory, "chroma")


@pytest.fixture(scope="session")
def tiny_flux2_klein_dir(tmp_path_factory) -> Path:
    """Tiny Flux.2 Klein base (``Flux2KleinPipeline``: Qwen3 encoder, 32-channel VAE in 2x2 patches, true CFG)."""
    return _build(tmp_path_factory, "flux2_klein")


@pytest.fixture(scope="session")
def tiny_qwen_image_dir(tmp_path_factory) -> Path:
    """Tiny Qwen-Image (``QwenImagePipeline``: a Qwen2.5-VL text encoder, a Wan-style VAE, true CFG)."""
    return _build(tmp_path_factory, "qwen_image")


@pytest.fixture(scope="session")
def tiny_qwen_image_edit_dir(tmp_path_factory) -> Path:
    """Tiny Qwen-Image-Edit (``QwenImageEditPipeline``: Qwen-Image's components plus a ``Qwen2VLProcessor``).

    Skipped without torchvision: transformers 5's ``Qwen2VLProcessor`` cannot be built or loaded without a video
    processor, which needs torchvision (the CPU torch of ``make test`` has none; ``make test-upscalers`` has)."""
    pytest.importorskip("torchvision", reason=tiny_models.QWEN_EDIT_NEEDS)
    return _build(tmp_path_factory, "qwen_image_edit")


@pytest.fixture(scope="session")
def tiny_z_image_dir(tmp_path_factory) -> Path:
    """Tiny Z-Image (``ZImagePipeline``: a Qwen3 encoder with a chat template, Flux's VAE, true CFG)."""
    return _build(tmp_path_factory, "z_image")


@pytest.fixture(scope="session")
def tiny_z_image_turbo_dir(tmp_path_factory) -> Path:
    """Tiny Z-Image-Turbo: the same model with Turbo's scheduler (shift 3.0)."""
    return _build(tmp_path_factory, "z_image_turbo")
