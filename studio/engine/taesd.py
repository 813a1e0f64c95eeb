"""The tiny autoencoder (TAESD): full-size previews, and the final decode of a draft. Only ever from local files.

madebyollin's tiny autoencoders: ``taesd`` (SD 1.x/2.x), ``taesdxl``, and the 16-channel ``taef1`` (Flux.1, and
Chroma, which has Flux's VAE) and ``taesd3`` (SD 3.5). Each decodes what its family's VAE decodes, given the
denoiser's latents unscaled by the scale and shift in its own config, as a pipeline does with the VAE.
"""

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
    ModelFamily.FLUX: ("taef1", "madebyollin/taef1"),
    ModelFamily.CHROMA: ("taef1", "madebyollin/taef1"),
    ModelFamily.SD3: ("taesd3", "madebyollin/taesd3"),
}


class TinyAutoencoder:
    """A local ``AutoencoderTiny``, decoding the denoiser's (unpacked) latents as a diffusers pipeline whose ``vae``
    it is would: unscaled with its own ``scaling_factor`` and ``shift_factor`` (1 and 0 for taesd/taesdxl, which
    decode the latents as they are; taef1 and taesd3 decode the VAE's unscaled latents), and turned into RGB by the
    same image processor."""

    def __init__(self, source: Path | str, device: torch.device, dtype: torch.dtype) -> None:
        from diffusers import AutoencoderTiny
        from diffusers.image_processor import VaeImageProcessor

        self.vae = AutoencoderTiny.from_pretrained(source, local_files_only=True).to(device, dtype)
        self.vae.requires_grad_(False)
        self._processor = VaeImageProcessor(vae_scale_factor=8)

    @torch.inference_mode()
    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """A batch of latents -> NxHxWx3 uint8."""
        config = self.vae.config
        latents = latents.to(self.vae.device, self.vae.dtype) / config.scaling_factor + config.shift_factor
        images = self.vae.decode(latents, return_dict=False)[0]
        rgb = self._processor.postprocess(images, output_type="np")
        return (rgb * 255).round().astype(np.uint8)  # as the processor's own numpy_to_pil

    def images(self, latents: torch.Tensor) -> list[Image.Image]:
        return [Image.fromarray(rgb) for rgb in self.decode(latents)]


def find_tiny_autoencoder(family: ModelFamily, device: DeviceChoice) -> TinyAutoencoder | None:
    """None when there is none on disk for ``family`` (its linear preview, and the VAE for drafts, are used)."""
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
