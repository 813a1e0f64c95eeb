"""What the app knows about a loaded model, in plain data the UI can show without importing the engine."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # fewstep reads headers, whose module needs ModelFamily from here
    from studio.core.fewstep import Detection


class ModelFamily(str, Enum):
    SD1 = "sd1"
    SD2 = "sd2"
    SDXL = "sdxl"

    @property
    def native_size(self) -> int:
        return {ModelFamily.SD1: 512, ModelFamily.SD2: 768, ModelFamily.SDXL: 1024}[self]

    @property
    def label(self) -> str:
        return {ModelFamily.SD1: "SD 1.x", ModelFamily.SD2: "SD 2.x", ModelFamily.SDXL: "SDXL"}[self]


@dataclass(frozen=True)
class ModelInfo:
    name: str  # display name, written into metadata
    source: str  # what the user gave: folder, file or hub id
    family: ModelFamily
    inpaint_unet: bool  # a dedicated 9-channel inpainting UNet
    model_hash: str
    default_sampler: str  # A1111 label of the model's own scheduler
    device: str
    dtype: str
    fewstep: Detection | None = None  # an LCM, Turbo, Lightning or Hyper-SD model, and the settings it needs
