"""Where a model's weights live while it runs: the memory plan, chosen from its component sizes and free VRAM.

The plans, from fastest to leanest (each moves more weights between system RAM and the GPU per run):

- ``gpu``: everything on the GPU.
- ``offload-encoders``: the denoiser (UNet or transformer) and the VAE stay on the GPU; the text encoders wait
  in system RAM, go to the GPU one at a time to encode the prompt, and back before the first denoising step.
- ``offload``: diffusers' model CPU offload (``enable_model_cpu_offload``): one whole component on the GPU at a
  time (encoders, then the denoiser, then the VAE); costs a copy of the denoiser over PCIe per run.
- ``sequential``: diffusers' sequential CPU offload (``enable_sequential_cpu_offload``): weights stream to the
  GPU layer by layer, every step; fits almost anywhere, slowest by far (the last resort).
- ``ram``: the CPU, where there is no VRAM: everything in system RAM.

How much room a plan needs (all figures in GiB, 2**30 bytes; weights at the run's dtype, 2 bytes a parameter):

- Working memory while denoising a 1-megapixel image (1024x1024, the native size of SDXL, Flux, SD 3.5 and
  Chroma): :data:`DENOISE_WORKING` = 1 GiB. SDXL's largest UNet activations are the 1280-channel attention
  stages; with CFG (batch 2) and SDPA its hidden states are tens of MB each. Flux has 4096 image + 512 text
  tokens of width 3072 (28 MB per hidden state, 113 MB per MLP activation).
- Working memory of the VAE decode at 1 MP: :data:`DECODE_WORKING` = 1.5 GiB. The decoder's last stage holds
  128 channels at full resolution: 1024 x 1024 x 128 x 2 bytes = 256 MiB per tensor, about five alive at once.
  Decoding in tiles (``vae.enable_tiling()``, 512-pixel tiles) cuts that by about four, which is why the
  offload plans tile every image above 1 MP (:data:`TIGHT_TILING_PIXELS`).
- Encoding a prompt: :data:`ENCODE_WORKING` = 0.25 GiB (T5-XXL over 512 tokens: 512 x 4096 floats per layer).
- Slack for the CUDA allocator's fragmentation and cuBLAS workspaces: :data:`SLACK` = 0.5 GiB.

So, with ``free`` the GPU's free memory when the model loads, a plan fits when its peak plus :data:`SLACK` does:

- ``gpu``: all weights + the larger of the two working memories;
- ``offload-encoders``: denoiser + VAE + the larger of (largest encoder + encoding, denoising, decoding);
- ``offload``: the largest of (largest encoder + encoding, denoiser + denoising, VAE + decoding);
- ``sequential``: always chosen when nothing else fits.

Real component sizes in bf16/fp16 (parameters x 2 bytes) and what :func:`choose_plan` picks on a card whose
free memory is its size minus 0.6 GiB (the CUDA context and a desktop; tested in ``tests/test_memory_plan.py``):

========================  ============================================  =====  =====  =====  =====
model                     denoiser / text encoders / VAE (GiB)          8 GB   12 GB  16 GB  24 GB
========================  ============================================  =====  =====  =====  =====
SD 1.5                    1.60 / 0.23 / 0.16                            gpu    gpu    gpu    gpu
SDXL                      4.78 / 0.23 + 1.29 / 0.16                     enc.   gpu    gpu    gpu
Flux.1-dev (bf16)         22.17 / 0.23 + 8.87 / 0.16                    seq.   seq.   seq.   seq.
Flux.1-dev GGUF Q8_0      11.83 (a 12.7 GB file) / 0.23 + 8.87 / 0.16   seq.   seq.   offl.  gpu
Flux.1-dev GGUF Q4_K_S    6.34 (6.81 GB) / 0.23 + 8.87 / 0.16           seq.   offl.  offl.  gpu
SD 3.5 Large              14.99 / 0.23 + 1.29 + 8.87 / 0.16             seq.   seq.   seq.   offl.
Chroma                    16.58 / 8.87 / 0.16                           seq.   seq.   seq.   offl.
========================  ============================================  =====  =====  =====  =====

(enc. = offload-encoders, offl. = offload, seq. = sequential.) Flux.1-dev's 11.9 B-parameter transformer is
22.2 GiB in bf16: on a 24 GB card model offload would leave it 1.2 GiB, under the 1.5 GiB of denoising working
memory and slack, so the automatic choice is sequential offload; ``--memory-plan offload`` tries it anyway (a
headless card has a little more free). An fp8 file is upcast to the run's dtype when it loads, so it is planned
like the bf16 model; a GGUF file stays quantized (its transformer is its file's size). Under model offload the
8.9 GiB T5-XXL encoder is the largest piece on the GPU at once, which is why quantized Flux on an 8 GB card
still needs sequential offload.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from studio.core.errors import StudioError

GIB = 2**30
DENOISE_WORKING = 1 * GIB
DECODE_WORKING = int(1.5 * GIB)
ENCODE_WORKING = GIB // 4
SLACK = GIB // 2
TIGHT_TILING_PIXELS = 1024 * 1024  # the offload plans decode larger images in tiles
ROOMY_TILING_PIXELS = 1536 * 1536  # everything else: only very large images (a full decode needs gigabytes)


class MemoryPlan(str, Enum):
    GPU = "gpu"
    OFFLOAD_ENCODERS = "offload-encoders"
    OFFLOAD = "offload"
    SEQUENTIAL = "sequential"
    RAM = "ram"

    @property
    def label(self) -> str:
        return {
            MemoryPlan.GPU: "everything on the GPU",
            MemoryPlan.OFFLOAD_ENCODERS: "text encoders offloaded after encoding",
            MemoryPlan.OFFLOAD: "model CPU offload",
            MemoryPlan.SEQUENTIAL: "sequential CPU offload",
            MemoryPlan.RAM: "everything in RAM",
        }[self]


AUTO = "auto"
PLAN_CHOICES = (AUTO, MemoryPlan.GPU.value, MemoryPlan.OFFLOAD_ENCODERS.value, MemoryPlan.OFFLOAD.value,
                MemoryPlan.SEQUENTIAL.value)
_DENOISERS = ("unet", "transformer")
_VAE = "vae"
_TEXT_ENCODER = "text_encoder"


@dataclass(frozen=True)
class ComponentSizes:
    """Bytes of a loaded model's weights at the run's dtype; ``text_encoders`` one entry per encoder."""

    denoiser: int
    text_encoders: tuple[int, ...] = ()
    vae: int = 0
    other: int = 0  # image encoders and the like: they stay with the denoiser

    @classmethod
    def of(cls, components: Mapping[str, int]) -> ComponentSizes:
        """From a pipeline's component names (``unet``/``transformer``, ``text_encoder*``, ``vae``) and sizes."""
        denoiser = sum(size for name, size in components.items() if name in _DENOISERS)
        encoders = tuple(size for name, size in components.items() if name.startswith(_TEXT_ENCODER))
        vae = components.get(_VAE, 0)
        other = sum(components.values()) - denoiser - sum(encoders) - vae
        return cls(denoiser, encoders, vae, other)

    @property
    def total(self) -> int:
        return self.denoiser + sum(self.text_encoders) + self.vae + self.other


@dataclass(frozen=True)
class PlanChoice:
    """The plan a model runs with, why, and from how many pixels the VAE decodes in tiles."""

    plan: MemoryPlan
    why: str

    @property
    def tile_vae_from(self) -> int:
        tight = self.plan in (MemoryPlan.OFFLOAD_ENCODERS, MemoryPlan.OFFLOAD, MemoryPlan.SEQUENTIAL)
        return TIGHT_TILING_PIXELS if tight else ROOMY_TILING_PIXELS

    @property
    def line(self) -> str:
        """One line for the user: the window's status bar and the CLI print it."""
        return f"Memory plan: {self.plan.label} ({self.why})"


def peak(plan: MemoryPlan, sizes: ComponentSizes) -> int:
    """The most GPU memory ``plan`` holds at once for a 1-megapixel image (without :data:`SLACK`)."""
    encoding = max(sizes.text_encoders, default=0) + ENCODE_WORKING
    if plan is MemoryPlan.GPU:
        return sizes.total + max(DENOISE_WORKING, DECODE_WORKING)
    if plan is MemoryPlan.OFFLOAD_ENCODERS:
        return sizes.denoiser + sizes.vae + sizes.other + max(encoding, DENOISE_WORKING, DECODE_WORKING)
    if plan is MemoryPlan.OFFLOAD:
        return max(encoding, sizes.denoiser + sizes.other + DENOISE_WORKING, sizes.vae + DECODE_WORKING)
    return 0  # sequential: one layer at a time; RAM: none


def choose_plan(sizes: ComponentSizes, free: int | None, choice: str = AUTO) -> PlanChoice:
    """The plan for a model of ``sizes`` with ``free`` bytes of GPU memory (None: there is no GPU, the CPU runs
    it) and the user's ``choice`` (one of :data:`PLAN_CHOICES`; anything but "auto" is taken as it is)."""
    if free is None:
        return PlanChoice(MemoryPlan.RAM, "CPU")
    weights = f"{_gib(sizes.total)} of weights, {_gib(free)} free"
    if choice != AUTO:
        return PlanChoice(MemoryPlan(choice), f"chosen; {weights}")
    for plan in (MemoryPlan.GPU, MemoryPlan.OFFLOAD_ENCODERS, MemoryPlan.OFFLOAD):
        if peak(plan, sizes) + SLACK <= free:
            return PlanChoice(plan, weights)
    return PlanChoice(MemoryPlan.SEQUENTIAL, weights)


def check_choice(choice: str) -> str:
    """``choice`` if it is one of :data:`PLAN_CHOICES`; raises :class:`StudioError` with the choices otherwise."""
    if choice not in PLAN_CHOICES:
        raise StudioError(f"Unknown memory plan '{choice}'; choose one of: {', '.join(PLAN_CHOICES)}.")
    return choice


def _gib(size: int) -> str:
    return f"{size / GIB:.1f} GiB"
