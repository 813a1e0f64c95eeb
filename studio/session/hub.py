"""Models from the Hugging Face hub: telling a hub id from a path, and downloading one before it is loaded.

The download fetches what a diffusers folder needs (configs, tokenizers, safetensors weights), not the
single-file checkpoints and half-precision or non-EMA copies that many repositories also carry.
"""

import logging
from pathlib import Path

from studio.core.errors import StudioError

log = logging.getLogger(__name__)

ALLOW_PATTERNS = ["model_index.json", "*/*.json", "*/*.txt", "*/*.safetensors"]
IGNORE_PATTERNS = ["*.fp16.*", "*non_ema*", "*.ema.*"]


def download_model(repo_id: str) -> Path:
    """Blocking: fetch ``repo_id`` into the hub cache (a no-op when it is there) and return its folder."""
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo_id, allow_patterns=ALLOW_PATTERNS, ignore_patterns=IGNORE_PATTERNS)
    except Exception as exc:  # offline, unknown repo, gated repo, disk full: all mean "could not get it"
        log.warning("Downloading %s failed: %s", repo_id, exc, exc_info=True)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StudioError(f"The model '{repo_id}' could not be downloaded from the Hugging Face hub ({reason[:160]}).") from exc
    return Path(folder)
