"""Model-based preprocessors (depth, pose, lineart anime...) through ``controlnet_aux``, from weights on disk only.

Their weights are lllyasviel's ``Annotators`` files; they are looked for in ``<root>/models/annotators/`` and in
the Hugging Face cache, never downloaded: a missing file is one sentence saying what to download and where.
``controlnet_aux`` imports torchvision, which must be built for the installed torch, so it is optional.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from PIL import Image

from studio.core.errors import StudioError
from studio.core.paths import models_dir

log = logging.getLogger(__name__)

REPO = "lllyasviel/Annotators"
FOLDER = "annotators"
# Preprocessor -> (controlnet_aux class, weights file in REPO).
DETECTORS: dict[str, tuple[str, str]] = {
    "depth_midas": ("MidasDetector", "dpt_hybrid-midas-501f0c75.pt"),
    "openpose": ("OpenposeDetector", "body_pose_model.pth"),
    "lineart_anime": ("LineartAnimeDetector", "netG.pth"),
    "lineart_realistic": ("LineartDetector", "sk_model.pth"),
    "softedge_hed": ("HEDdetector", "ControlNetHED.pth"),
    "mlsd": ("MLSDdetector", "mlsd_large_512_fp32.pth"),
    "normal_bae": ("NormalBaeDetector", "scannet.pt"),
}
_detectors: dict[str, object] = {}


def annotators_dir() -> Path:
    return models_dir() / FOLDER


def weights_folder(name: str) -> Path:
    """The folder holding the preprocessor's weights file; :class:`StudioError` saying what to get if none does."""
    _cls, filename = DETECTORS[name]
    own = annotators_dir()
    if (own / filename).is_file():
        return own
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(REPO, filename)
    if isinstance(cached, str):
        return Path(cached).parent
    raise StudioError(
        f"The {name} preprocessor needs {filename} from huggingface.co/{REPO}; download it into {own}."
    )


def detect(name: str, image: Image.Image, resolution: int) -> Image.Image:
    """The control map of the model-based preprocessor ``name``."""
    if name not in DETECTORS:
        raise StudioError(f"Unknown preprocessor '{name}'.")
    folder = weights_folder(name)
    if name not in _detectors:
        try:
            module = importlib.import_module("controlnet_aux")
        except Exception as exc:  # missing, or torchvision built for another torch (RuntimeError)
            log.info("controlnet_aux cannot be imported", exc_info=True)
            raise StudioError(
                f"The {name} preprocessor needs the controlnet_aux package (pip install controlnet-aux, with a "
                "torchvision built for this torch); the built-in preprocessors (none, canny, scribble, lineart, "
                "invert) work without it."
            ) from exc
        cls_name, filename = DETECTORS[name]
        _detectors[name] = getattr(module, cls_name).from_pretrained(str(folder), filename=filename)
    return _detectors[name](image, detect_resolution=resolution, image_resolution=resolution)
