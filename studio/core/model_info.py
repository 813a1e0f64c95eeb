"""What the app knows about a loaded model, in plain data the UI can show without importing the engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from studio.core.memory_plan import PlanChoice

if TYPE_CHECKING:  # fewstep reads headers, whose module needs ModelFamily from here
    from studio.core.fewstep import Detection


class ModelFamily(str, Enum):
    SD1 = "sd1"
    SD2 = "sd2"
    SDXL = "sdxl"
    FLUX = "flux"
    SD3 = "sd3"
    CHROMA = "chroma"
    FLUX2 = "flux2"
    QWEN_IMAGE = "qwen_image"
    Z_IMAGE = "z_image"

    @property
    def native_size(self) -> int:
        return {ModelFamily.SD1: 512, ModelFamily.SD2: 768}.get(self, 1024)

    @property
    def label(self) -> str:
        return {ModelFamily.SD1: "SD 1.x", ModelFamily.SD2: "SD 2.x", ModelFamily.SDXL: "SDXL",
                ModelFamily.FLUX: "Flux.1", ModelFamily.SD3: "SD 3.5", ModelFamily.CHROMA: "Chroma",
                ModelFamily.FLUX2: "Flux.2 Klein", ModelFamily.QWEN_IMAGE: "Qwen-Image",
                ModelFamily.Z_IMAGE: "Z-Image"}[self]


@dataclass(frozen=True)
class FamilyControls:
    """How a family's model is driven, for the window and the CLI: what the guidance value means, whether a
    negative prompt and the sampler choice apply, the defaults of its pipeline, and what prompt syntax does."""

    guidance_label: str = "CFG"
    guidance_tip: str = "Guidance (CFG) scale: how strictly the image follows the prompt."
    default_guidance: float = 7.0
    guidance_used: bool = True  # False: the model ignores the value (Flux schnell)
    negative_prompt: bool = True
    own_sampler: str = ""  # set: the model's own sampler is the only one (its A1111-style label)
    default_steps: int = 25
    size_multiple: int = 8
    prompt_note: str = ""  # what A1111's weight syntax does here, when it is not CLIP emphasis
    latent_hires: bool = True  # latent hires upscalers work on its latents


@dataclass(frozen=True)
class ModelInfo:
    name: str  # display name, written into metadata
    source: str  # what the user gave: folder, file or hub id
    family: ModelFamily
    inpaint_unet: bool  # a dedicated inpainting model (9-channel UNet, Flux Fill)
    model_hash: str
    default_sampler: str  # A1111 label of the model's own scheduler
    device: str
    dtype: str
    fewstep: Detection | None = None  # an LCM, Turbo, Lightning or Hyper-SD model, and the settings it needs
    controls: FamilyControls = field(default_factory=FamilyControls)
    edits: bool = False  # an instruction-editing model (Flux Kontext, Qwen-Image-Edit): the canvas image plus an instruction
    memory: PlanChoice | None = None  # where its weights live while it runs (core.memory_plan)
