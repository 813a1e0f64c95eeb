"""The full recipe of one generated image: what is written into its PNG and read back from it."""

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Recipe:
    prompt: str
    negative_prompt: str
    seed: int
    steps: int
    cfg_scale: float
    width: int
    height: int
    sampler: str  # A1111 label, e.g. "Euler a" or "DPM++ 2M Karras"
    model: str  # a short display name: file stem, folder name or hub id
    model_hash: str = ""  # A1111 style: first 10 hex digits of the checkpoint's sha256
    mode: str = "txt2img"
    strength: float | None = None  # image-to-image and inpainting only
    mask_feather: int | None = None  # inpainting only
    model_family: str = ""
    scheduler: str = ""  # our stable name, empty for the model's own
    batch_size: int = 1
    batch_index: int = 0
    clip_skip: int = 1  # A1111's "Clip skip" (1 = the last layer, written only when above 1)
    lora_hashes: str = ""  # A1111's "Lora hashes": "NAME: first 12 hex digits of the addnet hash, ..."
    ti_hashes: str = ""  # A1111's "TI hashes": "NAME: first 12 hex digits of the file's sha256, ..."
    vae: str = ""  # a VAE chosen instead of the model's own (A1111's "VAE"), and its "VAE hash" (10 digits)
    vae_hash: str = ""
    app_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Recipe":
        """Build from a dict, ignoring unknown keys (recipes written by newer versions)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
