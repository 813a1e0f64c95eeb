"""Finding a tiny autoencoder (TAESD) for full-size previews, only ever from local files."""

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
}


def find_tiny_autoencoder(family: ModelFamily, device: DeviceChoice) -> TinyAutoencoderPreview | None:
    """None for families without a known tiny autoencoder here (Flux, SD 3.5: their linear preview is used)."""
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
