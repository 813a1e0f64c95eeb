"""The IP-Adapter of a request's image prompt: loaded into the UNet (diffusers' ``load_ip_adapter``) with the image
encoder it was trained with, kept while wanted and unloaded when a run has none, so nothing leaks into the next.

The adapter's ``image_proj`` input width says which encoder it needs; it is checked against the encoder's output
width (and the adapter's key/value width against the UNet's cross-attention width) before anything is loaded, so
the wrong encoder is one sentence, not a tensor-shape traceback. The encoder is registered on the loaded pipeline
and, on each call, on the pipeline actually called (ControlNet and mode pipelines made with ``from_pipe`` share
the UNet, so its attention processors, but each keeps its own ``image_encoder``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from safetensors.torch import load_file
from transformers import CLIPVisionModelWithProjection

from studio.core.errors import StudioError
from studio.core.image_prompt import ImagePrompt
from studio.core.image_prompt_files import image_encoders, resolve_ipadapter
from studio.core.model_folders import LibraryFolder

log = logging.getLogger(__name__)

# The encoders' names by the width an adapter reads: image embeddings (plain adapters) or hidden states (plus).
_EMBEDDING_NAMES = {768: "ViT-L", 1024: "ViT-H", 1280: "ViT-bigG"}
_HIDDEN_NAMES = {1024: "ViT-L", 1280: "ViT-H", 1664: "ViT-bigG"}


def read_adapter(path: Path) -> dict[str, dict[str, torch.Tensor]]:
    """An adapter file as diffusers' ``{"image_proj": ..., "ip_adapter": ...}`` state dict."""
    if path.suffix.lower() == ".safetensors":
        state: dict[str, dict[str, torch.Tensor]] = {"image_proj": {}, "ip_adapter": {}}
        for key, tensor in load_file(str(path)).items():
            part, _, rest = key.partition(".")
            if part in state:
                state[part][rest] = tensor
        return state
    return torch.load(path, map_location="cpu", weights_only=True)


def needed_width(state: dict) -> tuple[int, bool]:
    """The width the adapter's image projection reads, and whether it is the encoder's hidden states (plus and
    full-face adapters) rather than its image embeddings."""
    proj = state.get("image_proj", {})
    if "proj.weight" in proj:  # diffusers' ImageProjection
        return proj["proj.weight"].shape[1], False
    for key in ("proj_in.weight", "proj.0.weight"):  # the Resampler (plus), the full-face MLP
        if key in proj:
            return proj[key].shape[1], True
    raise StudioError("This file is not an IP-Adapter that Latent Studio can use (it has no image projection).")


def _encoder_width(folder: Path, hidden: bool) -> int | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    config = config.get("vision_config", config)  # a full CLIP config holds the vision one
    return config.get("hidden_size") if hidden else config.get("projection_dim")


def _encoder_words(width: int, hidden: bool) -> str:
    name = (_HIDDEN_NAMES if hidden else _EMBEDDING_NAMES).get(width)
    kind = "hidden states" if hidden else "image embeddings"
    return f"the {name} image encoder ({width}-wide {kind})" if name else f"an image encoder with {width}-wide {kind}"


def choose_encoder(adapter: Path, state: dict, folders: list[LibraryFolder]) -> Path:
    """The first image encoder whose width the adapter reads; one sentence naming both widths when none fits."""
    width, hidden = needed_width(state)
    found = image_encoders(adapter, folders)
    for folder in found:
        if _encoder_width(folder, hidden) == width:
            return folder
    needs = f"This IP-Adapter ('{adapter.stem}') needs {_encoder_words(width, hidden)}"
    if not found:
        raise StudioError(f"{needs}; put that CLIP vision encoder's folder in the clip_vision models folder.")
    have = ", ".join(f"'{f.name}' ({_encoder_width(f, hidden)}-wide)" for f in found)
    raise StudioError(f"{needs}, but the image encoders here are {have}; add the matching CLIP vision encoder.")


def check_unet(adapter: Path, state: dict, unet) -> None:
    """Refuse an adapter made for another family: its key/value layers read the text embeddings' width."""
    key = next((k for k in sorted(state.get("ip_adapter", {})) if k.endswith("to_k_ip.weight")), None)
    width = state["ip_adapter"][key].shape[1] if key else None
    wanted = unet.config.cross_attention_dim
    if width is not None and width != wanted:
        raise StudioError(
            f"The IP-Adapter '{adapter.stem}' is for models with {width}-wide text embeddings, but the loaded model's "
            f"are {wanted}-wide; choose an IP-Adapter made for this model family."
        )


class ImagePrompts:
    """The IP-Adapter (and image encoder) the last request wanted, by resolved paths."""

    def __init__(self, pipe) -> None:
        self._pipe = pipe
        self._loaded: tuple[Path, Path] | None = None

    def apply(self, prompt: ImagePrompt | None, folders: list[LibraryFolder]) -> None:
        """Load what ``prompt`` wants (or unload when it is None) and set its scale."""
        if prompt is None:
            self._unload()
            return
        if getattr(self._pipe, "unet", None) is None or not hasattr(self._pipe, "load_ip_adapter"):
            raise StudioError("Image prompts (IP-Adapter) work with Stable Diffusion 1.x, 2.x and SDXL models only.")
        adapter = resolve_ipadapter(prompt.adapter, folders).resolve()
        if self._loaded is None or self._loaded[0] != adapter:
            state = self._read(adapter)
            check_unet(adapter, state, self._pipe.unet)
            encoder = choose_encoder(adapter, state, folders).resolve()
            self._unload()
            self._load(adapter, state, encoder)
        self._pipe.set_ip_adapter_scale(float(prompt.scale))

    @staticmethod
    def _read(adapter: Path) -> dict:
        try:
            return read_adapter(adapter)
        except Exception as exc:  # a damaged file; the log has the details
            log.exception("Reading IP-Adapter %s failed", adapter)
            raise StudioError(f"The IP-Adapter '{adapter.name}' could not be read: it is damaged or not an "
                              "IP-Adapter; details are in the log.") from exc

    def _load(self, adapter: Path, state: dict, encoder: Path) -> None:
        pipe = self._pipe
        try:
            image_encoder = CLIPVisionModelWithProjection.from_pretrained(
                encoder, local_files_only=True, torch_dtype=pipe.unet.dtype).to(pipe._execution_device)
            pipe.register_modules(image_encoder=image_encoder)
            pipe.load_ip_adapter(state, subfolder="", weight_name="", image_encoder_folder=None)
        except Exception as exc:
            log.exception("Loading IP-Adapter %s with encoder %s failed", adapter, encoder)
            self._loaded = (adapter, encoder)
            self._unload()
            raise StudioError(f"The IP-Adapter '{adapter.name}' could not be loaded with the image encoder "
                              f"'{encoder.name}'; details are in the log.") from exc
        self._loaded = (adapter, encoder)
        log.info("Loaded IP-Adapter %s with image encoder %s", adapter, encoder)

    def _unload(self) -> None:
        if self._loaded is not None:
            self._pipe.unload_ip_adapter()
            self._loaded = None

    def attach(self, pipe) -> None:
        """Give ``pipe`` (a pipeline made from the loaded one) the loaded pipeline's image encoder, or none."""
        base = self._pipe
        if pipe is not base and hasattr(pipe, "image_encoder"):
            pipe.register_modules(image_encoder=base.image_encoder, feature_extractor=base.feature_extractor)

    @staticmethod
    def arguments(prompt: ImagePrompt | None) -> dict:
        return {} if prompt is None else {"ip_adapter_image": prompt.image.convert("RGB")}
