"""Checkpoints stored in fp8 (load, upcast to the run's dtype) and in bitsandbytes 4-bit or scaled fp8 (one
sentence on this machine: no CUDA, no bitsandbytes). The Flux fp8 transformer file is in tests/test_flux.py."""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from studio.core.errors import StudioError
from studio.core.model_header import read_header
from studio.core.request import GenerationRequest
from studio.core.weight_formats import StoredFormat, WeightFormat, stored_format
from studio.engine.engine import Engine

UNET = "model.diffusion_model."
FP8_TOLERANCE = 16  # levels of 255: 3-bit mantissas (6% steps) on random weights; measured 13 on SDXL


def _request() -> GenerationRequest:
    return GenerationRequest(prompt="a boat at dawn", seed=4, steps=3, width=64, height=64)


def _fp8_copy(checkpoint, path, *, prefix: str = UNET):
    """``checkpoint`` with every tensor under ``prefix`` stored as float8_e4m3fn, the way "fp8" files ship."""
    state = load_file(str(checkpoint))
    save_file({k: v.to(torch.float8_e4m3fn) if k.startswith(prefix) else v for k, v in state.items()}, str(path))
    return path


@pytest.mark.parametrize("family", ["sd", "sdxl"])
def test_an_fp8_checkpoint_loads_upcast_and_generates_close_to_its_full_precision_file(family, request, tmp_path):
    folder = request.getfixturevalue(f"tiny_{family}_dir")
    checkpoint = request.getfixturevalue(f"tiny_{family}_checkpoint")
    fp8 = _fp8_copy(checkpoint, tmp_path / f"tiny-{family}-fp8.safetensors")
    assert stored_format(read_header(fp8)) == StoredFormat(WeightFormat.FP8, "float8_e4m3fn", False)
    full, small = Engine("cpu", previews="linear"), Engine("cpu", previews="linear")
    full.load(str(checkpoint), config_dir=folder)
    small.load(str(fp8), config_dir=folder)
    weights, rounded = small._loaded.pipe.unet.conv_in.weight, full._loaded.pipe.unet.conv_in.weight
    assert weights.dtype == torch.float32  # upcast to the run's dtype
    assert torch.equal(weights, rounded.to(torch.float8_e4m3fn).float())  # exactly the stored fp8 values
    a = np.asarray(full.generate(_request()).images[0]).astype(int)
    b = np.asarray(small.generate(_request()).images[0]).astype(int)
    assert 0 < np.abs(a - b).max() <= FP8_TOLERANCE


def test_a_scaled_fp8_checkpoint_is_one_sentence_and_the_loaded_model_stays(tiny_sd_checkpoint, sd_engine, tmp_path):
    path = _fp8_copy(tiny_sd_checkpoint, tmp_path / "model_fp8_scaled.safetensors")
    state = load_file(str(path)) | {"scaled_fp8": torch.zeros(0, dtype=torch.float8_e4m3fn),
                                    UNET + "out.2.scale_weight": torch.ones(1)}
    save_file(state, str(path))
    before = sd_engine.info
    with pytest.raises(StudioError, match="is a scaled fp8 checkpoint .*use the model's plain fp8, fp16 or GGUF"):
        sd_engine.load(str(path))
    assert sd_engine.info == before


def _bnb_file(path, prefix: str, weight: str) -> None:
    """The keys bitsandbytes writes for one 4-bit weight (``Params4bit``: packed uint8 data, its quant state)."""
    name = prefix + weight
    save_file({name: torch.zeros(64, 1, dtype=torch.uint8), f"{name}.absmax": torch.ones(2),
               f"{name}.quant_map": torch.zeros(16), f"{name}.quant_state.bitsandbytes__nf4": torch.zeros(8, dtype=torch.uint8),
               prefix + "x_embedder.weight": torch.zeros(32, 64)}, str(path))


def test_nf4_files_are_recognised_and_what_they_need_is_one_sentence(tmp_path):
    diffusers_layout = tmp_path / "flux1-dev-nf4.safetensors"
    _bnb_file(diffusers_layout, "", "single_transformer_blocks.0.attn.to_q.weight")
    assert stored_format(read_header(diffusers_layout)) == StoredFormat(WeightFormat.BNB_4BIT, "nf4", True)
    forge = tmp_path / "flux1-dev-bnb-nf4-v2.safetensors"
    _bnb_file(forge, UNET, "double_blocks.0.img_attn.qkv.weight")
    assert stored_format(read_header(forge)).diffusers_layout is False
    engine = Engine("cpu")
    with pytest.raises(StudioError, match=r"^'flux1-dev-nf4.safetensors' holds bitsandbytes-quantized \(NF4\) "
                                          r"weights: loading them needs an NVIDIA GPU with CUDA and the bitsandbytes"):
        engine.load(str(diffusers_layout))
    with pytest.raises(StudioError, match="in the original \\(Forge\\) layout, which diffusers cannot load"):
        engine.load(str(forge))


def test_a_folder_saved_quantized_by_bitsandbytes_says_what_it_needs(tiny_sd_dir, tmp_path):
    folder = shutil.copytree(tiny_sd_dir, tmp_path / "sd-nf4")
    config = folder / "unet" / "config.json"
    quant = {"quant_method": "bitsandbytes", "load_in_4bit": True, "bnb_4bit_quant_type": "nf4"}
    config.write_text(json.dumps(json.loads(config.read_text()) | {"quantization_config": quant}))
    with pytest.raises(StudioError, match="^'sd-nf4' holds bitsandbytes-quantized \\(NF4\\) weights"):
        Engine("cpu").load(str(folder))


def test_plain_files_are_plain(tiny_sd_checkpoint):
    assert stored_format(read_header(tiny_sd_checkpoint)) == StoredFormat(WeightFormat.PLAIN, diffusers_layout=False)
