"""Image sizes a model family was trained around: its native square and common aspect ratios at a similar area."""

from studio.core.model_info import ModelFamily

# (width, height), all multiples of 64 (so of 8, as the latent grid needs); landscape and portrait of each ratio.
_SIZES: dict[ModelFamily, list[tuple[int, int]]] = {
    ModelFamily.SD1: [(512, 512), (576, 448), (448, 576), (640, 384), (384, 640), (768, 512), (512, 768)],
    ModelFamily.SD2: [(768, 768), (896, 640), (640, 896), (1024, 576), (576, 1024)],
    ModelFamily.SDXL: [(1024, 1024), (1152, 896), (896, 1152), (1216, 832), (832, 1216), (1344, 768), (768, 1344)],
}
# Flux.1, SD 3.5, Chroma, Flux.2 Klein and Z-Image are trained around the same megapixel (their sides must be
# multiples of 16, as these are); Qwen-Image's pipeline makes 1024 x 1024 by default (its model card's sizes are
# larger, about 1.7 megapixels).
_SIZES.update(dict.fromkeys((ModelFamily.FLUX, ModelFamily.SD3, ModelFamily.CHROMA, ModelFamily.FLUX2,
                             ModelFamily.QWEN_IMAGE, ModelFamily.Z_IMAGE),
                            _SIZES[ModelFamily.SDXL]))


def native_sizes(family: ModelFamily) -> list[tuple[int, int]]:
    return list(_SIZES[family])


def foreign_preset(size: tuple[int, int], family: ModelFamily) -> bool:
    """True for a preset of another family that is not one of ``family``'s (a size to replace on a model switch)."""
    return size not in _SIZES[family] and any(size in sizes for sizes in _SIZES.values())


def size_label(width: int, height: int) -> str:
    shape = "square" if width == height else "landscape" if width > height else "portrait"
    return f"{width} × {height}  {shape}"
