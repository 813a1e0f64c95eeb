"""GGUF files (quantized transformers, as city96's Flux conversions ship them), read with the ``gguf`` package.

Only the tensor index is read to recognise a file; diffusers loads the weights itself (``GGUFQuantizationConfig``,
see ``quantized``), keeping them quantized and dequantizing per layer on the fly. ``gguf`` is the optional ``gguf`` extra.
"""

from __future__ import annotations

import logging
from pathlib import Path

from studio.core.errors import StudioError

log = logging.getLogger(__name__)

GGUF_SUFFIX = ".gguf"
MISSING = "GGUF files need the optional gguf package: pip install 'latent-studio[gguf]'."


def read_gguf_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and their shapes in torch's order (GGUF stores them reversed); no tensor data is read."""
    try:
        from gguf import GGUFReader
    except ImportError:
        raise StudioError(MISSING) from None
    try:
        reader = GGUFReader(str(path))
    except Exception as exc:  # a damaged or foreign file raises anything; details in the log
        log.exception("Reading GGUF file %s failed", path)
        raise StudioError(f"'{Path(path).name}' is not a valid GGUF file.") from exc
    return {t.name: tuple(int(n) for n in reversed(t.shape.tolist())) for t in reader.tensors}
