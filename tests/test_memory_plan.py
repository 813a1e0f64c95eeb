"""Memory plans: the choice for real model sizes on 8/12/16/24 GB cards (core), what the engine installs for each
plan (diffusers' and accelerate's hooks, checked on this CPU-only machine), and that the offload plans still
give the same pixels when their hooks run (with the CPU as their execution device)."""

import numpy as np
import pytest
import torch
from accelerate.hooks import AlignDevicesHook, CpuOffload, remove_hook_from_module
from diffusers import DiffusionPipeline

from studio import cli
from studio.core.errors import StudioError
from studio.core.memory_plan import (
    GIB, ROOMY_TILING_PIXELS, SLACK, TIGHT_TILING_PIXELS, ComponentSizes, MemoryPlan, PlanChoice, choose_plan, peak,
)
from studio.core.request import GenerationRequest
from studio.engine.engine import Engine
from studio.engine.placement import Placement, component_sizes

# Parameters x 2 bytes (fp16/bf16), from the released models' configs.
CLIP_L = 123_060_480 * 2
CLIP_G = 694_659_841 * 2  # OpenCLIP bigG text model with projection (SDXL, SD 3.5)
T5_XXL = 4_762_310_656 * 2  # the encoder only (Flux, SD 3.5, Chroma)
SD_VAE = 83_653_863 * 2
FLOW_VAE = 83_819_683 * 2  # 16 latent channels
MODELS = {
    "SD 1.5": ComponentSizes(859_520_964 * 2, (CLIP_L,), SD_VAE),
    "SDXL": ComponentSizes(2_567_463_684 * 2, (CLIP_L, CLIP_G), SD_VAE),
    "Flux.1-dev bf16": ComponentSizes(11_901_408_320 * 2, (CLIP_L, T5_XXL), FLOW_VAE),
    "Flux.1-dev GGUF Q8_0": ComponentSizes(12_700_000_000, (CLIP_L, T5_XXL), FLOW_VAE),  # the file's size
    "Flux.1-dev GGUF Q4_K_S": ComponentSizes(6_810_000_000, (CLIP_L, T5_XXL), FLOW_VAE),
    "SD 3.5 Large": ComponentSizes(8_050_000_000 * 2, (CLIP_L, CLIP_G, T5_XXL), FLOW_VAE),
    "Chroma": ComponentSizes(8_900_000_000 * 2, (T5_XXL,), FLOW_VAE),
}
CARDS_GB = (8, 12, 16, 24)
GPU, ENC, OFF, SEQ = MemoryPlan.GPU, MemoryPlan.OFFLOAD_ENCODERS, MemoryPlan.OFFLOAD, MemoryPlan.SEQUENTIAL
EXPECTED = {  # the table in core/memory_plan.py's docstring
    "SD 1.5": (GPU, GPU, GPU, GPU),
    "SDXL": (ENC, GPU, GPU, GPU),
    "Flux.1-dev bf16": (SEQ, SEQ, SEQ, SEQ),
    "Flux.1-dev GGUF Q8_0": (SEQ, SEQ, OFF, GPU),
    "Flux.1-dev GGUF Q4_K_S": (SEQ, OFF, OFF, GPU),
    "SD 3.5 Large": (SEQ, SEQ, SEQ, OFF),
    "Chroma": (SEQ, SEQ, SEQ, OFF),
}


def _free(card_gb: int) -> int:
    """A card's free memory when a model loads: its size less 0.6 GiB (the CUDA context and a desktop)."""
    return int((card_gb - 0.6) * GIB)


# ------------------------------------------------------------------------------------------- the choice (core)
@pytest.mark.parametrize("model", MODELS)
def test_the_plan_for_each_card_size(model):
    chosen = tuple(choose_plan(MODELS[model], _free(card)).plan for card in CARDS_GB)
    assert chosen == EXPECTED[model]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("card", CARDS_GB)
def test_the_chosen_plan_fits_and_no_faster_plan_does(model, card):
    sizes, free = MODELS[model], _free(card)
    plan = choose_plan(sizes, free).plan
    order = [GPU, ENC, OFF, SEQ]
    if plan is not SEQ:
        assert peak(plan, sizes) + SLACK <= free
    assert all(peak(faster, sizes) + SLACK > free for faster in order[:order.index(plan)])


def test_leaner_plans_need_less_memory_at_once():
    for sizes in MODELS.values():
        assert peak(GPU, sizes) >= peak(ENC, sizes) >= peak(OFF, sizes) > peak(SEQ, sizes) == 0


def test_a_chosen_plan_is_kept_and_the_cpu_keeps_everything_in_ram():
    sdxl = MODELS["SDXL"]
    assert choose_plan(sdxl, _free(24), "sequential").plan is SEQ  # even where everything would fit
    assert "chosen" in choose_plan(sdxl, _free(24), "sequential").why
    cpu = choose_plan(sdxl, None, "offload")
    assert cpu.plan is MemoryPlan.RAM and cpu.line == "Memory plan: everything in RAM (CPU)"
    line = choose_plan(MODELS["Flux.1-dev bf16"], _free(24)).line
    assert line == "Memory plan: sequential CPU offload (31.4 GiB of weights, 23.4 GiB free)"


def test_offload_plans_tile_the_vae_from_one_megapixel():
    assert PlanChoice(GPU, "").tile_vae_from == PlanChoice(MemoryPlan.RAM, "").tile_vae_from == ROOMY_TILING_PIXELS
    assert {PlanChoice(p, "").tile_vae_from for p in (ENC, OFF, SEQ)} == {TIGHT_TILING_PIXELS}


def test_component_sizes_sort_a_pipelines_components_by_name():
    sizes = ComponentSizes.of({"transformer": 10, "text_encoder": 2, "text_encoder_2": 5, "vae": 1,
                               "image_encoder": 3})
    assert sizes == ComponentSizes(10, (2, 5), 1, 3) and sizes.total == 21


# ------------------------------------------------------------------------------------------- the engine's calls
@pytest.fixture
def tiny_pipe(tiny_sd_dir):
    return DiffusionPipeline.from_pretrained(tiny_sd_dir, local_files_only=True)


def test_sizes_are_read_from_the_loaded_pipeline(tiny_pipe):
    sizes = component_sizes(tiny_pipe)
    unet = sum(p.numel() * 4 for p in tiny_pipe.unet.parameters()) + sum(
        b.numel() * b.element_size() for b in tiny_pipe.unet.buffers())
    assert sizes.denoiser == unet and len(sizes.text_encoders) == 1 and sizes.vae > 0


def test_model_offload_on_a_cuda_device_installs_diffusers_hooks(tiny_pipe):
    Placement(tiny_pipe, OFF, torch.device("cuda"))  # enable_model_cpu_offload(device="cuda"): no GPU touched
    cuda0 = torch.device("cuda:0")
    assert tiny_pipe._offload_device == cuda0 and len(tiny_pipe._all_hooks) == 3
    for module in (tiny_pipe.text_encoder, tiny_pipe.unet, tiny_pipe.vae):
        assert isinstance(module._hf_hook, CpuOffload) and module._hf_hook.execution_device == cuda0
        assert {p.device.type for p in module.parameters()} == {"cpu"}  # waiting in RAM until it runs
    assert tiny_pipe._execution_device == cuda0


def test_sequential_offload_asks_diffusers_for_the_device_and_streams_the_weights(tiny_pipe, monkeypatch):
    calls = []
    monkeypatch.setattr(tiny_pipe, "enable_sequential_cpu_offload", lambda **kw: calls.append(kw))
    Placement(tiny_pipe, SEQ, torch.device("cuda"))
    assert calls == [{"device": torch.device("cuda")}]  # its hooks put the buffers on the GPU at once: not here
    monkeypatch.undo()
    Placement(tiny_pipe, SEQ, torch.device("cpu"))  # the same hooks, with the CPU as their execution device
    hooks = [m._hf_hook for m in tiny_pipe.unet.modules() if isinstance(getattr(m, "_hf_hook", None), AlignDevicesHook)]
    assert {h.execution_device for h in hooks if h.offload} == {torch.device("cpu:0")}  # the top one only aligns
    assert {p.device.type for p in tiny_pipe.unet.parameters()} == {"meta"}  # streamed in layer by layer


def test_offloading_the_encoders_hooks_them_and_the_denoiser_sends_them_back(tiny_pipe):
    placement = Placement(tiny_pipe, ENC, torch.device("cpu"))  # a CUDA device would move the UNet to it
    encoder_hook = tiny_pipe.text_encoder._hf_hook
    assert isinstance(encoder_hook, CpuOffload)
    assert type(tiny_pipe.unet._hf_hook).__name__ == "_EncodersOut"
    assert tiny_pipe.unet._hf_hook.encoders[0].model is tiny_pipe.text_encoder
    remove_hook_from_module(tiny_pipe.unet)  # what diffusers' LoRA and IP-Adapter loading does to every hook
    placement.ensure()
    assert type(tiny_pipe.unet._hf_hook).__name__ == "_EncodersOut"
    Placement(tiny_pipe, GPU, torch.device("cpu"))
    assert not any(hasattr(m, "_hf_hook") for m in (tiny_pipe.text_encoder, tiny_pipe.unet, tiny_pipe.vae))


def _request(**kw) -> GenerationRequest:
    return GenerationRequest(**(dict(prompt="a lighthouse", seed=3, steps=3, width=64, height=64) | kw))


@pytest.mark.parametrize("fixture", ["tiny_sd_dir", "tiny_flux_dir"])
def test_every_plan_runs_with_its_hooks_and_gives_the_same_pixels(fixture, request):
    engine = Engine("cpu", previews="linear")
    engine.load(str(request.getfixturevalue(fixture)))
    cfg = dict(cfg_scale=3.5) if fixture == "tiny_flux_dir" else {}
    pipe = engine._loaded.pipe
    _realign_weights(pipe)
    baseline = np.asarray(engine.generate(_request(**cfg)).images[0])
    # Not sequential: diffusers names the device "cpu:0", and accelerate's layer hooks then fail on the CPU
    # (a plain tensor where they expect a parameter; with "cpu" they run). Its hooks are checked above.
    for plan in (ENC, OFF):
        engine._placement = Placement(pipe, plan, torch.device("cpu"))  # the hooks run; the moves are no-ops
        engine._pipes = {}
        pixels = np.asarray(engine.generate(_request(**cfg)).images[0])
        assert np.array_equal(pixels, baseline), plan


def _realign_weights(pipe) -> None:
    """Every weight in a fresh allocation, as the offload hooks' moves leave them. Loaded from the tiny
    safetensors files they are not on a 64-byte boundary (24 bytes past one for the tiny Flux), and on some CPUs
    (an AMD EPYC here) the fp32 matrix multiply then rounds differently: one level in one pixel of the tiny Flux
    picture, from where the same numbers lie, not from the plan."""
    for module in pipe.components.values():
        if isinstance(module, torch.nn.Module):
            for tensor in module.parameters():
                tensor.data = tensor.data.clone()


def test_the_cpu_engine_says_everything_is_in_ram(sd_engine):
    assert sd_engine.info.memory.plan is MemoryPlan.RAM
    assert sd_engine.info.memory.line == "Memory plan: everything in RAM (CPU)"
    with pytest.raises(StudioError, match="Unknown memory plan 'lots'; choose one of: auto, gpu"):
        Engine("cpu", memory_plan="lots")


# ------------------------------------------------------------------------------------------- the command line
def test_the_cli_prints_the_plan(tiny_sd_dir, tmp_path, capsys):
    out = tmp_path / "a.png"
    assert cli.main(["generate", "--model", str(tiny_sd_dir), "--prompt", "a boat", "--steps", "1", "--width", "64",
                     "--height", "64", "--device", "cpu", "--memory-plan", "offload", "--out", str(out)]) == 0
    assert "Memory plan: everything in RAM (CPU)" in capsys.readouterr().err.splitlines()
    assert out.is_file()


def test_offload_is_the_old_spelling_of_a_memory_plan(tiny_sd_dir, capsys):
    args = ["generate", "--model", str(tiny_sd_dir), "--prompt", "a boat", "--device", "cpu"]
    assert cli.main([*args, "--offload", "--memory-plan", "gpu"]) == 2
    err = capsys.readouterr().err
    assert "--offload means --memory-plan offload" in err and "Memory plan" not in err  # refused before loading
