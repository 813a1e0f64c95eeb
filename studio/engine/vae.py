"""The VAE the pipeline decodes with: the model's own, or a file from a VAE folder chosen instead.

A VAE file comes in the original (LDM) layout, as A1111 VAE files do (``encoder.down.0.block.0...``, sometimes
under ``first_stage_model.``), or in diffusers' layout; the first is converted with diffusers' own
``convert_ldm_vae_checkpoint``. The weights go into a copy of the loaded VAE's architecture (its config), with a
strict load: a VAE for another architecture is one sentence, and the model keeps its own. Choosing "the model's
own" again puts the original module back; the base model is never reloaded.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from studio.core.errors import StudioError
from studio.core.model_scan import ModelEntry

log = logging.getLogger(__name__)


class VaeChoice:
    def __init__(self, pipe) -> None:
        self._pipe = pipe
        self._own = pipe.vae
        self._current: tuple | None = None  # the file in use, or None for the model's own

    def apply(self, entry: ModelEntry | None) -> bool:
        """Decode with ``entry`` (None: the model's own VAE); True when the pipeline's VAE changed."""
        key = None if entry is None else _file_key(entry.path)
        if key == self._current:
            return False
        vae = self._own if entry is None else self._load(entry.path)
        self._pipe.vae = vae
        self._current = key
        log.info("VAE: %s", "the model's own" if entry is None else entry.path)
        return True

    def _load(self, path: Path):
        from diffusers import AutoencoderKL
        from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

        state = _read(path)
        config = dict(self._own.config)
        if not any(k.startswith(("encoder.down_blocks.", "decoder.up_blocks.")) for k in state):
            state = convert_ldm_vae_checkpoint(state, config)
        vae = AutoencoderKL.from_config(config)
        try:
            vae.load_state_dict(state, strict=True)
        except RuntimeError as exc:  # missing, unexpected or differently shaped weights
            log.info("VAE %s does not fit the model: %s", path, str(exc)[:500])
            raise StudioError(f"The VAE '{path.name}' was made for another kind of model than the one loaded.") from exc
        return vae.to(dtype=self._own.dtype).eval()  # on the CPU: the engine's memory plan places it


def _read(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = state.get("state_dict", state) if isinstance(state, dict) else state
        if not isinstance(state, dict) or not state:
            raise ValueError("no tensors")
        return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    except Exception as exc:  # damaged, or a pickle that wants to run code
        log.exception("Reading VAE %s failed", path)
        raise StudioError(f"The VAE '{path.name}' could not be read (a damaged file, or one that is not plain "
                          "tensors).") from exc


def _file_key(path: Path) -> tuple:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
