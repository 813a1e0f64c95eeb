"""Well-known models to start with, for the "Get a model" guide: where each file is and about how large.

Sizes are as Hugging Face lists them (decimal GB/MB), rounded; the download checks the exact size and sha256
the server gives. Each is a single ``.safetensors`` file, the form the model library and every other UI use.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.core.model_folders import ModelKind


@dataclass(frozen=True)
class StarterModel:
    title: str
    source: str  # what the download takes: "org/repo/file"
    kind: ModelKind
    size_gb: float  # about
    about: str  # one line for a newcomer

    @property
    def repo(self) -> str:
        return "/".join(self.source.split("/")[:2])

    @property
    def page(self) -> str:
        return f"https://huggingface.co/{self.repo}"


STARTER_MODELS: tuple[StarterModel, ...] = (
    StarterModel("Stable Diffusion 1.5 (fp16)", "stable-diffusion-v1-5/stable-diffusion-v1-5/"
                 "v1-5-pruned-emaonly-fp16.safetensors", ModelKind.CHECKPOINT, 2.13,
                 "The classic first model: 512×512, fast, runs on 4 GB of VRAM or on the CPU; most LoRAs are for it."),
    StarterModel("Stable Diffusion 1.5", "stable-diffusion-v1-5/stable-diffusion-v1-5/"
                 "v1-5-pruned-emaonly.safetensors", ModelKind.CHECKPOINT, 4.27,
                 "The same model in full precision (float32), for CPUs and GPUs without half precision."),
    StarterModel("SDXL base 1.0", "stabilityai/stable-diffusion-xl-base-1.0/sd_xl_base_1.0.safetensors",
                 ModelKind.CHECKPOINT, 6.94,
                 "Sharper, 1024×1024 images that follow the prompt better; wants 8 GB of VRAM or more."),
    StarterModel("SDXL Turbo (fp16)", "stabilityai/sdxl-turbo/sd_xl_turbo_1.0_fp16.safetensors",
                 ModelKind.CHECKPOINT, 6.94,
                 "SDXL distilled to 1–4 steps at 512×512 with CFG 1: images in a second on a GPU (non-commercial licence)."),
    StarterModel("LCM LoRA for SD 1.5", "latent-consistency/lcm-lora-sdv1-5/pytorch_lora_weights.safetensors",
                 ModelKind.LORA, 0.135,
                 "A small LoRA that lets SD 1.5 models draw in 4–8 steps (with the LCM scheduler and CFG 1–2)."),
    StarterModel("SD VAE ft-MSE", "stabilityai/sd-vae-ft-mse-original/vae-ft-mse-840000-ema-pruned.safetensors",
                 ModelKind.VAE, 0.335,
                 "The improved SD 1.x VAE many models expect: crisper faces and less washed-out colours."),
)
