"""Finding a tiny autoencoder (TAESD) for full-size previews, only ever from local files.

madebyollin's tiny autoencoders: ``taesd`` (SD 1.x/2.x), ``taesdxl``, and the 16-channel ``taef1`` (Flux.1, and
Chroma, which has Flux's VAE) and ``taesd3`` (SD 3.5). Each decodes what its family's VAE decodes; the preview
gives it the denoiser's latents unscaled by the scale and shift in its own config, as a pipeline does with the VAE
(``TinyAutoencoderPreview``).
"""

import logging

from studio.core.model_info import ModelFamily
from studio.core.paths import models_dir
from studio.engine.devices import DeviceChoice
from studio.engine.previews import TinyAutoencoderPreview

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


def find_tiny_autoencoder(family: ModelFamily, device: DeviceChoice) -> TinyAutoencoderPreview | None:
    """None when there is none on disk for ``family`` (its linear preview is used)."""
    if family not in TAESD_NAMES:
        return None
    folder_name, repo_id = TAESD_NAMES[family]
    for source in (models_dir() / folder_name, repo_id):
        if isinstance(source, str) or (source / "config.json").is_file():
            try:
                return TinyAutoencoderPreview(source, device.device, device.dtype)
            except (OSError, ValueError) as exc:
                log.debug("No tiny autoencoder at %s: %s", source, exc)
    return None
