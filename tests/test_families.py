"""Single-file family detection, and the config-only folders shipped for each family."""

import json
import shutil
import struct

import pytest
import torch
from safetensors.torch import save_file

from studio.core.errors import StudioError
from studio.core.model_info import ModelFamily
from studio.engine import families
from tests import tiny_models

SD1, SD2, SDXL = ModelFamily.SD1, ModelFamily.SD2, ModelFamily.SDXL


# ------------------------------------------------------------------------------------------- detection
@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("tiny_sd_checkpoint", (SD1, False)),
        ("tiny_sd_inpaint_checkpoint", (SD1, True)),
        ("tiny_sd2_checkpoint", (SD2, False)),
        ("tiny_sdxl_checkpoint", (SDXL, False)),
    ],
)
def test_detects_tiny_checkpoints(fixture, expected, request):
    assert families.detect_checkpoint(request.getfixturevalue(fixture)) == expected


def _assert_one_sentence(err: StudioError, *fragments: str) -> None:
    text = str(err)
    assert text.endswith(".") and "\n" not in text, text
    for fragment in fragments:
        assert fragment in text, text


def _write_header(path, header: dict, data: bytes = b"") -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00" * 4, id="shorter-than-header-length"),
        pytest.param(b"PK\x03\x04 this is a zip, a pickle .ckpt renamed" * 50, id="not-safetensors"),
        pytest.param(struct.pack("<Q", 11) + b"not json!!!", id="garbage-header"),
        pytest.param(struct.pack("<Q", 10**9) + b"{}", id="header-length-beyond-file"),
        pytest.param(struct.pack("<Q", 2) + b"[]", id="header-not-an-object"),
    ],
)
def test_invalid_files_raise_one_clear_sentence(tmp_path, content):
    path = tmp_path / "model.safetensors"
    path.write_bytes(content)
    with pytest.raises(StudioError) as err:
        families.detect_checkpoint(path)
    _assert_one_sentence(err.value, "'model.safetensors' is not a valid .safetensors file")


def test_truncated_checkpoint_is_invalid(tmp_path, tiny_sd_checkpoint):
    data = tiny_sd_checkpoint.read_bytes()
    for cut in (len(data) // 2, len(data) - 1, 100):
        path = tmp_path / "cut.safetensors"
        path.write_bytes(data[:cut])
        with pytest.raises(StudioError) as err:
            families.detect_checkpoint(path)
        _assert_one_sentence(err.value, "not a valid .safetensors file")


def test_tensor_offsets_beyond_the_file_are_invalid(tmp_path):
    path = tmp_path / "lying.safetensors"
    _write_header(path, {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\x00" * 8)
    with pytest.raises(StudioError, match="not a valid .safetensors file"):
        families.detect_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(StudioError) as err:
        families.detect_checkpoint(tmp_path / "nope.safetensors")
    _assert_one_sentence(err.value, "There is no file")


def _save_shapes(path, shapes: dict[str, tuple[int, ...]]) -> None:
    save_file({k: torch.zeros(s) for k, s in shapes.items()}, str(path))


UNET_IN = "model.diffusion_model.input_blocks.0.0.weight"


@pytest.mark.parametrize(
    "shapes",
    [
        pytest.param({"weight": (2, 2)}, id="unrelated-tensors"),
        pytest.param({UNET_IN: (32, 4, 3, 3)}, id="unet-without-text-encoder"),
        pytest.param({UNET_IN: (32, 4, 3, 3), "conditioner.embedders.0.model.ln_final.weight": (8,)}, id="xl-refiner"),
        pytest.param({"cond_stage_model.transformer.text_model.final_layer_norm.weight": (8,)}, id="text-encoder-only"),
        pytest.param({"conv_in.weight": (32, 4, 3, 3)}, id="diffusers-layout-unet"),
    ],
)
def test_safetensors_that_are_not_sd_checkpoints(tmp_path, shapes):
    path = tmp_path / "other.safetensors"
    _save_shapes(path, shapes)
    with pytest.raises(StudioError) as err:
        families.detect_checkpoint(path)
    _assert_one_sentence(err.value, "'other.safetensors' is not a Stable Diffusion 1.x, 2.x or SDXL checkpoint")


def test_diffusers_component_file_is_not_a_checkpoint(tiny_sd_dir):
    with pytest.raises(StudioError, match="is not a Stable Diffusion 1.x, 2.x or SDXL checkpoint"):
        families.detect_checkpoint(tiny_sd_dir / "unet" / "diffusion_pytorch_model.safetensors")


def test_edit_models_with_other_unet_inputs_are_refused(tmp_path):
    path = tmp_path / "pix2pix.safetensors"
    _save_shapes(path, {UNET_IN: (32, 8, 3, 3), "cond_stage_model.transformer.text_model.x": (1,)})
    with pytest.raises(StudioError) as err:
        families.detect_checkpoint(path)
    _assert_one_sentence(err.value, "8-channel UNet", "SD 1.x")


def test_detection_reads_only_the_header(tmp_path, tiny_sdxl_checkpoint, monkeypatch):
    import safetensors

    real_open = safetensors.safe_open

    class NoTensors:
        def __init__(self, *args, **kwargs):
            self._f = real_open(*args, **kwargs)

        def __enter__(self):
            self._f.__enter__()
            return self

        def __exit__(self, *exc):
            return self._f.__exit__(*exc)

        def keys(self):
            return self._f.keys()

        def get_slice(self, key):
            return self._f.get_slice(key)

        def get_tensor(self, key):
            raise AssertionError("detection must not read tensors")

    monkeypatch.setattr(safetensors, "safe_open", NoTensors)
    assert families.detect_checkpoint(tiny_sdxl_checkpoint) == (SDXL, False)


# ------------------------------------------------------------------------------------------- shipped folders
FOLDERS = {  # folder -> (family, inpaint, pipeline class, scheduler class, prediction type, native size)
    "sd1": (SD1, False, "StableDiffusionPipeline", "PNDMScheduler", "epsilon", 512),
    "sd1_inpaint": (SD1, True, "StableDiffusionInpaintPipeline", "DDIMScheduler", "epsilon", 512),
    "sd2": (SD2, False, "StableDiffusionPipeline", "DDIMScheduler", "v_prediction", 768),
    "sd2_inpaint": (SD2, True, "StableDiffusionInpaintPipeline", "PNDMScheduler", "epsilon", 512),
    "sdxl": (SDXL, False, "StableDiffusionXLPipeline", "EulerDiscreteScheduler", "epsilon", 1024),
    "sdxl_inpaint": (SDXL, True, "StableDiffusionXLInpaintPipeline", "EulerDiscreteScheduler", "epsilon", 1024),
}
EXPECTED_IDS = [49406, 320, 1125, 539, 320, 2368, 49407]  # "a photo of a cat"


def _json(path):
    return json.loads(path.read_text())


def _text_encoders(folder):
    return [p for p in ("text_encoder", "text_encoder_2") if (folder / p).is_dir()]


def test_config_dir_covers_every_family_and_variant():
    for name, (family, inpaint, *_rest) in FOLDERS.items():
        folder = families.config_dir(family, inpaint)
        assert folder.name == name and (folder / "model_index.json").is_file()
    assert sorted(p.name for p in families.MODEL_CONFIGS.iterdir() if p.is_dir()) == sorted(FOLDERS)


@pytest.mark.parametrize("name", list(FOLDERS))
def test_shipped_folder_is_internally_consistent(name):
    from diffusers import DiffusionPipeline

    family, inpaint, pipeline_cls, _sched, _pred, native = FOLDERS[name]
    folder = families.config_dir(family, inpaint)
    index = DiffusionPipeline.load_config(folder)
    assert index["_class_name"] == pipeline_cls
    components = {k for k, v in index.items() if isinstance(v, list) and v[0] is not None}
    expected = {"unet", "vae", "scheduler"} | set(_text_encoders(folder))
    expected |= {t.replace("text_encoder", "tokenizer") for t in _text_encoders(folder)}
    assert components == expected
    assert not list(folder.rglob("*.safetensors")) and not list(folder.rglob("*.bin"))

    unet, vae = _json(folder / "unet/config.json"), _json(folder / "vae/config.json")
    encoders = [_json(folder / te / "config.json") for te in _text_encoders(folder)]
    assert unet["cross_attention_dim"] == sum(te["hidden_size"] for te in encoders)
    assert unet["in_channels"] == (9 if inpaint else 4)
    assert unet["sample_size"] * 2 ** (len(vae["block_out_channels"]) - 1) == native
    assert unet["out_channels"] == vae["latent_channels"] == 4
    if family is SDXL:
        assert [te["architectures"][0] for te in encoders] == ["CLIPTextModel", "CLIPTextModelWithProjection"]
        assert unet["projection_class_embeddings_input_dim"] == 6 * unet["addition_time_embed_dim"] + encoders[1][
            "projection_dim"
        ]
        assert vae["scaling_factor"] == 0.13025 and vae["force_upcast"] is True
    else:
        assert unet.get("use_linear_projection", False) is (family is SD2)
        assert vae.get("scaling_factor", 0.18215) == 0.18215
    assert all(te["vocab_size"] == 49408 and te["max_position_embeddings"] == 77 for te in encoders)


@pytest.mark.parametrize("name", list(FOLDERS))
def test_shipped_tokenizers_and_scheduler_load_offline(name):
    import diffusers
    from transformers import CLIPTokenizer

    family, inpaint, _cls, sched_cls, prediction, _native = FOLDERS[name]
    folder = families.config_dir(family, inpaint)
    for sub in ("tokenizer", "tokenizer_2"):
        if not (folder / sub).is_dir():
            continue
        tok = CLIPTokenizer.from_pretrained(folder, subfolder=sub, local_files_only=True)
        assert len(tok) == 49408 and tok.model_max_length == 77
        assert tok("a photo of a cat").input_ids == EXPECTED_IDS
        assert tok("A Photo OF a  Cat").input_ids == EXPECTED_IDS
        openclip_pad = family is SD2 or sub == "tokenizer_2"
        assert (tok.pad_token, tok.pad_token_id) == (("!", 0) if openclip_pad else ("<|endoftext|>", 49407))
    scheduler = getattr(diffusers, sched_cls).from_pretrained(folder, subfolder="scheduler", local_files_only=True)
    assert scheduler.config.prediction_type == prediction
    assert (scheduler.config.beta_start, scheduler.config.beta_end) == (0.00085, 0.012)
    assert scheduler.config.beta_schedule == "scaled_linear"


# The original LDM / SGM inference configs' UNet and VAE settings (CompVis v1-inference.yaml, RunwayML
# v1-inpainting-inference.yaml, Stability v2-inference-v.yaml / v2-inpainting-inference.yaml, generative-models
# sd_xl_base.yaml; the SDXL inpainting model is sd_xl_base with 9 input channels).
_V1 = dict(in_channels=4, out_channels=4, model_channels=320, attention_resolutions=[4, 2, 1], num_res_blocks=2,
           channel_mult=[1, 2, 4, 4], num_heads=8, use_spatial_transformer=True, transformer_depth=1, context_dim=768)
_V2 = dict(in_channels=4, out_channels=4, model_channels=320, attention_resolutions=[4, 2, 1], num_res_blocks=2,
           channel_mult=[1, 2, 4, 4], num_head_channels=64, use_spatial_transformer=True,
           use_linear_in_transformer=True, transformer_depth=1, context_dim=1024)
_XL = dict(adm_in_channels=2816, num_classes="sequential", in_channels=4, out_channels=4, model_channels=320,
           attention_resolutions=[4, 2], num_res_blocks=2, channel_mult=[1, 2, 4], num_head_channels=64,
           use_spatial_transformer=True, use_linear_in_transformer=True, transformer_depth=[1, 2, 10],
           context_dim=2048)
_DDCONFIG = dict(double_z=True, z_channels=4, in_channels=3, out_ch=3, ch=128, ch_mult=[1, 2, 4, 4], num_res_blocks=2)
ORIGINAL = {
    "sd1": (_V1, 0.18215),
    "sd1_inpaint": ({**_V1, "in_channels": 9}, 0.18215),
    "sd2": (_V2, 0.18215),
    "sd2_inpaint": ({**_V2, "in_channels": 9}, 0.18215),
    "sdxl": (_XL, 0.13025),
    "sdxl_inpaint": ({**_XL, "in_channels": 9}, 0.13025),
}
DIFFUSERS_MODEL_TYPE = {
    "sd1": "v1",
    "sd1_inpaint": "inpainting",
    "sd2": "v2",
    "sd2_inpaint": "inpainting_v2",
    "sdxl": "xl_base",
    "sdxl_inpaint": "xl_inpaint",
}


def _meta_components(folder):
    """Full-size components built from the shipped configs on the meta device (no memory, no weights)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    with torch.device("meta"):
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder, subfolder="unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder, subfolder="vae"))
        encoders = []
        for sub, cls in (("text_encoder", CLIPTextModel), ("text_encoder_2", CLIPTextModelWithProjection)):
            if (folder / sub).is_dir():
                encoders.append(cls(CLIPTextConfig.from_pretrained(folder, subfolder=sub, local_files_only=True)))
    return unet, vae, encoders


def _shapes(state):
    return {k: tuple(v.shape) for k, v in state.items()}


@pytest.mark.parametrize("name", list(FOLDERS))
def test_shipped_unet_and_vae_match_the_original_ldm_configs(name):
    from diffusers.loaders.single_file_utils import (
        create_unet_diffusers_config_from_ldm,
        create_vae_diffusers_config_from_ldm,
    )

    family, inpaint, *_rest, native = FOLDERS[name]
    unet_params, scale = ORIGINAL[name]
    original = {"model": {"params": {
        "scale_factor": scale,
        "unet_config": {"params": unet_params},
        "first_stage_config": {"params": {"ddconfig": _DDCONFIG}},
    }}}
    unet, vae, _ = _meta_components(families.config_dir(family, inpaint))
    want = create_unet_diffusers_config_from_ldm(original, {}, image_size=native)
    for key, value in want.items():
        got = unet.config[key]
        got = list(got) if isinstance(got, tuple) else got
        assert got == value, (name, key, got, value)
    want_vae = create_vae_diffusers_config_from_ldm(original, {}, image_size=native)
    for key in ("block_out_channels", "layers_per_block", "latent_channels", "scaling_factor", "in_channels"):
        got = vae.config[key]
        assert (list(got) if isinstance(got, tuple) else got) == want_vae[key], (name, key)


@pytest.mark.parametrize("name", list(FOLDERS))
def test_full_size_layout_round_trips_and_is_detected(name):
    """The shipped configs at full size, as an original-layout key/shape map: our detection and diffusers' agree,
    and diffusers' own LDM -> diffusers conversion gives back exactly the shipped architecture."""
    from diffusers.loaders.single_file_utils import (
        convert_ldm_clip_checkpoint,
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
        convert_open_clip_checkpoint,
        infer_diffusers_model_type,
    )

    family, inpaint, *_rest = FOLDERS[name]
    unet, vae, encoders = _meta_components(families.config_dir(family, inpaint))
    state = tiny_models.single_file_state_dict(
        unet.state_dict(), dict(unet.config), vae.state_dict(), dict(vae.config),
        encoders[0].state_dict(), encoders[1].state_dict() if len(encoders) > 1 else None,
    )
    assert families.detect_keys(_shapes(state), name) == (family, inpaint)
    assert infer_diffusers_model_type(state) == DIFFUSERS_MODEL_TYPE[name]
    assert _shapes(convert_ldm_unet_checkpoint(state, dict(unet.config))) == _shapes(unet.state_dict())
    assert _shapes(convert_ldm_vae_checkpoint(state, dict(vae.config))) == _shapes(vae.state_dict())

    def flat(sd):
        return {k.removeprefix("text_model."): v for k, v in _shapes(sd).items()}

    if family is SD1:
        converted = [convert_ldm_clip_checkpoint(state)]
    elif family is SD2:
        converted = [convert_open_clip_checkpoint(encoders[0], state, prefix="cond_stage_model.model.")]
    else:
        converted = [
            convert_ldm_clip_checkpoint(state),
            convert_open_clip_checkpoint(encoders[1], state, prefix="conditioner.embedders.1.model."),
        ]
    for encoder, sd in zip(encoders, converted):
        assert flat(sd) == flat(encoder.state_dict())


@pytest.mark.parametrize(
    "name, ckpt_fixture, folder_fixture",
    [
        ("sd1", "tiny_sd_checkpoint", "tiny_sd_dir"),
        ("sd1_inpaint", "tiny_sd_inpaint_checkpoint", "tiny_sd_inpaint_dir"),
        ("sd2", "tiny_sd2_checkpoint", "tiny_sd2_dir"),
        ("sd2_inpaint", "tiny_sd2_checkpoint", "tiny_sd2_dir"),
        ("sdxl", "tiny_sdxl_checkpoint", "tiny_sdxl_dir"),
        ("sdxl_inpaint", "tiny_sdxl_checkpoint", "tiny_sdxl_dir"),
    ],
)
def test_shipped_folder_drives_from_single_file(name, ckpt_fixture, folder_fixture, request, tmp_path):
    """from_single_file with the shipped model_index, scheduler and tokenizers (the model configs swapped for the
    tiny ones so the tiny weights fit) builds the right pipeline offline, with no extra arguments."""
    import diffusers

    family, inpaint, pipeline_cls, sched_cls, prediction, _native = FOLDERS[name]
    tiny = request.getfixturevalue(folder_fixture)
    hybrid = tmp_path / name
    shutil.copytree(families.config_dir(family, inpaint), hybrid)
    for part in ("unet", "vae", *_text_encoders(hybrid)):
        shutil.copy(tiny / part / "config.json", hybrid / part / "config.json")
    pipe = getattr(diffusers, pipeline_cls).from_single_file(
        str(request.getfixturevalue(ckpt_fixture)), config=str(hybrid), local_files_only=True
    )
    assert type(pipe).__name__ == pipeline_cls
    assert type(pipe.scheduler).__name__ == sched_cls and pipe.scheduler.config.prediction_type == prediction
    assert len(pipe.tokenizer) == 49408
