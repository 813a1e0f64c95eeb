"""The tiny autoencoder (TAESD): full-size previews, and the final decode of a draft. Only ever from local files."""

import logging
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from studio.core.model_info import ModelFamily
from studio.core.paths import models_dir
from studio.engine.devices import DeviceChoice

log = logging.getLogger(__name__)

# Folder names under <root>/models/ and the hub repos whose cached copies are used when present.
TAESD_NAMES = {
    ModelFamily.SD1: ("taesd", "madebyollin/taesd"),
    ModelFamily.SD2: ("taesd", "madebyollin/taesd"),
    ModelFamily.SDXL: ("taesdxl", "madebyollin/taesdxl"),
}


class TinyAutoencoder:
    """A local ``AutoencoderTiny``. It takes the UNet's latents as they are (its scaling factor is 1), and its
    pixels are those of a diffusers pipeline whose ``vae`` it is (the same image processor turns them into RGB)."""

    def __init__(self, source: Path | str, device: torch.device, dtype: torch.dtype) -> None:
        from diffusers import AutoencoderTiny
        from diffusers.image_processor import VaeImageProcessor

        self.vae = AutoencoderTiny.from_pretrained(source, local_files_only=True).to(device, dtype)
        self.vae.requires_grad_(False)
        self._processor = VaeImageProcessor(vae_scale_factor=8)

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """A batch of latents -> NxHxWx3 uint8."""
        images = self.vae.decode(latents.to(self.vae.device, self.vae.dtype), return_dict=False)[0]
        rgb = self._processor.postprocess(images, output_type="np")
        return (rgb * 255).round().astype(np.uint8)  # as the processor's own numpy_to_pil

    def images(self, latents: torch.Tensor) -> list[Image.Image]:
        return [Image.fromarray(rgb) for rgb in self.decode(latents)]


def find_tiny_autoencoder(family: ModelFamily, device: DeviceChoice) -> TinyAutoencoder | None:
    """None for families without a known tiny autoencoder here (Flux, SD 3.5: their linear preview is used)."""
    if family not in TAESD_NAMES:
        return None
    folder_name, repo_id = TAESD_NAMES[family]
    for source in (models_dir() / folder_name, repo_id):
        if isinstance(source, str) or (source / "config.json").is_file():
            try:
                return TinyAutoencoder(source, device.device, device.dtype)
            except (OSError, ValueError) as exc:
                log.debug("No tiny autoencoder at %s: %s", source, exc)
    return None


def missing_sentence(family: ModelFamily) -> str:
    """Why a draft is decoded by the full VAE after all, and what to put where to change that."""
    if family not in TAESD_NAMES:
        return f"Draft decoding has no tiny autoencoder for {family.label} models; this picture used the full VAE."
    folder_name, repo_id = TAESD_NAMES[family]
    return (f"Draft decoding needs a tiny autoencoder: put {repo_id} (its config.json and "
            f"diffusion_pytorch_model.safetensors) in {models_dir() / folder_name}; this picture used the full VAE.")
