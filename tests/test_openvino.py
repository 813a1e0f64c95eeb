"""The OpenVINO backend on tiny models: PyTorch's pixels (within 2 levels), the same pixels run to run, converted
once and reused, cancel inside an inference, LoRA, the text encoders (long prompts, emphasis, clip skip,
embeddings), the cache's size limit, and PyTorch with a notice for what it does not run; int8 weights (NNCF) as
another cached conversion, and the fast precision (bf16 where the CPU has it) from the same conversion, both
recorded in the recipe."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("openvino", reason="OpenVINO is an optional extra: studio setup --openvino")

from studio.core import allocator  # noqa: E402
from studio.core.backends import OPENVINO_INSTALL  # noqa: E402
from studio.core.cancel import CancelToken  # noqa: E402
from studio.core.errors import GenerationCancelled  # noqa: E402
from studio.core.metadata import format_parameters  # noqa: E402
from studio.core.paths import models_dir  # noqa: E402
from studio.core.request import GenerationRequest  # noqa: E402
from studio.engine import openvino_backend  # noqa: E402
from studio.engine.devices import choose_device  # noqa: E402
from studio.engine.engine import Engine  # noqa: E402
from studio.engine.openvino_backend.converted import ConvertedModel  # noqa: E402
from studio.engine.prompt_encoding import prompt_arguments  # noqa: E402
from tests.tiny_networks import kohya_lora, sd_embedding  # noqa: E402

TOLERANCE = 2  # levels per pixel, the bound against the PyTorch path
# With the tiny models' byte-level tokenizer every character is a token: this is three 75-token chunks.
LONG_PROMPT = "(a lighthouse:1.3) at dusk, " + "waves on the rocks, " * 9
INT8_TOLERANCE = 8  # int8 weights against fp32 ones on the tiny model (measured: see the test)
FAST_TOLERANCE = 16  # bf16 against fp32 on the tiny model (measured: 6-9 levels on an AMX CPU)


def _request(**kw) -> GenerationRequest:
    base = dict(prompt="a lighthouse at dusk", negative_prompt="fog", seed=7, steps=3, cfg_scale=6.0, width=64,
                height=64, scheduler="euler")
    return GenerationRequest(**(base | kw))


def _pixels(result) -> list[np.ndarray]:
    return [np.asarray(image, dtype=np.int16) for image in result.images]


def _engine(folder, backend: str, cache_gb: float = 0, **options) -> Engine:
    engine = Engine("cpu", previews="linear", backend=backend, openvino_cache_gb=cache_gb, **options)
    engine.load(str(folder))
    return engine


@pytest.fixture
def converted_calls(monkeypatch) -> list[tuple[str, dict]]:
    """(model folder name, input shapes) of each call of a converted model: what ran on OpenVINO."""
    calls: list[tuple[str, dict]] = []
    call = ConvertedModel.__call__

    def recording(self, inputs, cancel, **options):
        calls.append((self.folder.name, {name: tuple(t.shape) for name, t in inputs.items()}))
        return call(self, inputs, cancel, **options)
    monkeypatch.setattr(ConvertedModel, "__call__", recording)
    return calls


@pytest.fixture(scope="module")
def ov_home(tmp_path_factory):
    """One app root for the module's OpenVINO engines, so the converted models are shared between its tests."""
    return tmp_path_factory.mktemp("openvino_home")


@pytest.fixture
def in_ov_home(ov_home, monkeypatch):
    monkeypatch.setenv("STUDIO_HOME", str(ov_home))
    return ov_home


@pytest.fixture(scope="module")
def ov_engine(tiny_sd_dir):
    return _engine(tiny_sd_dir, "openvino")


def _source() -> Image.Image:
    return Image.fromarray(np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8))


def _mask() -> Image.Image:
    mask = Image.new("L", (64, 64), 0)
    mask.paste(255, (16, 16, 48, 48))
    return mask


REQUESTS = {
    "text to image": lambda: dict(batch_size=2),
    "image to image": lambda: dict(init_image=_source(), strength=0.6),
    "inpainting": lambda: dict(init_image=_source(), mask=_mask(), strength=0.9, mask_feather=0),
    "long prompt, emphasis, clip skip": lambda: dict(prompt=LONG_PROMPT, clip_skip=2),
}


@pytest.mark.parametrize("kind", REQUESTS)
def test_pictures_are_pytorch_pictures_within_two_levels_and_the_same_every_run(kind, ov_engine, sd_engine,
                                                                                  in_ov_home):
    extra = REQUESTS[kind]()
    request = _request(**extra)
    notices: list[str] = []

    ours = _pixels(ov_engine.generate(request, on_notice=notices.append))
    again = _pixels(ov_engine.generate(request))
    theirs = _pixels(sd_engine.generate(request))

    assert not [n for n in notices if "PyTorch" in n]  # it ran on OpenVINO
    for mine, torch_made, repeat in zip(ours, theirs, again):
        assert np.abs(mine - torch_made).max() <= TOLERANCE
        assert np.array_equal(mine, repeat)
    if kind == "inpainting":  # the pixel-exact paste-back: unmasked pixels are the source's
        outside = np.asarray(_mask()) == 0
        assert np.array_equal(ours[0][outside], np.asarray(_source(), dtype=np.int16)[outside])


def test_a_size_it_has_not_seen_compiles_from_the_same_conversion(ov_engine, sd_engine, in_ov_home):
    ov_engine.generate(_request())  # converted at 64x64 (the other tests may have done it already)
    notices: list[str] = []
    request = _request(width=96, height=128)  # latents 12x16: still a multiple of the tiny UNet's factor of 2

    ours = _pixels(ov_engine.generate(request, on_notice=notices.append))

    assert not [n for n in notices if n.startswith("Converting")]
    assert np.abs(ours[0] - _pixels(sd_engine.generate(request))[0]).max() <= TOLERANCE


def test_converted_models_are_reused_by_a_new_engine_with_no_conversion(tiny_sd_dir, ov_engine, sd_engine,
                                                                         in_ov_home):
    first: list[str] = []
    ov_engine.generate(_request(seed=11), on_notice=first.append)  # converted by now (here or in a test before)
    fresh = _engine(tiny_sd_dir, "openvino")  # as after a restart: a new engine, a new OpenVINO core
    notices: list[str] = []

    ours = _pixels(fresh.generate(_request(seed=11), on_notice=notices.append))

    assert notices == []  # no conversion, no fallback
    assert np.abs(ours[0] - _pixels(sd_engine.generate(_request(seed=11)))[0]).max() <= TOLERANCE
    cache = in_ov_home / "cache" / "openvino"
    for part in ("unet", "vae_decoder", "text_encoder"):
        assert any(cache.glob(f"{part}-*/model.xml"))
    assert not any(cache.glob("unet-*/compiled*"))  # on the CPU no compiled blobs: compiling is as fast as loading one


@pytest.mark.parametrize("model", ["sd", "sdxl"])
def test_text_encoders_give_pytorchs_embeddings_for_long_prompts_emphasis_and_clip_skip(model, sd_engine,
                                                                                        sdxl_engine, in_ov_home,
                                                                                        converted_calls):
    """The app's own prompt encoding (A1111 chunks, emphasis, hidden states for clip skip, SDXL's penultimate
    layer and pooled embedding) through the stand-ins, against the same encoding in PyTorch."""
    pipe = (sd_engine if model == "sd" else sdxl_engine)._loaded.pipe
    backend = openvino_backend.start(choose_device("cpu"), 0)
    notices: list[str] = []
    encoded = {}
    for clip_skip in (1, 2):
        expected = prompt_arguments(pipe, LONG_PROMPT, "fog", clip_skip)
        with backend.running(pipe, CancelToken(), notices.append):
            encoded[clip_skip] = prompt_arguments(pipe, LONG_PROMPT, "fog", clip_skip)
        assert encoded[clip_skip].keys() == expected.keys()
        for name, tensor in expected.items():
            torch.testing.assert_close(encoded[clip_skip][name], tensor, rtol=1e-4, atol=1e-5)

    assert encoded[1]["prompt_embeds"].shape[1] == 3 * 77  # three chunks
    assert not torch.allclose(encoded[1]["prompt_embeds"], encoded[2]["prompt_embeds"])  # clip skip counts
    parts = {name.split("-")[0] for name, _ in converted_calls}
    assert parts == ({"text_encoder"} if model == "sd" else {"text_encoder", "text_encoder_2"})
    assert {shapes["input_ids"] for _, shapes in converted_calls} == {(1, 77)}  # one chunk a call: one shape
    assert not [n for n in notices if "PyTorch" in n]
    assert pipe.text_encoder.__class__.__name__ == "CLIPTextModel"  # PyTorch's again after the run


def test_each_set_of_embeddings_is_its_own_conversion_with_pytorchs_pixels(ov_engine, sd_engine, in_ov_home):
    """Two embeddings of the same size, one at a time, take the same rows of the token embeddings: only the full
    hash of those rows tells their text encoders apart (a sampled fingerprint would reuse the first's graph)."""
    folder = models_dir() / "embeddings"
    sd_embedding(sd_engine._loaded.pipe, folder / "inkwash.safetensors", count=2, seed=3)
    sd_embedding(sd_engine._loaded.pipe, folder / "chalky.safetensors", count=2, seed=4)
    pictures = {}
    for word in ("inkwash", "chalky", "inkwash"):
        request = _request(prompt=f"a lighthouse at dusk, {word}")
        notices: list[str] = []
        ours = _pixels(ov_engine.generate(request, on_notice=notices.append))
        assert not [n for n in notices if "PyTorch" in n]
        assert np.abs(ours[0] - _pixels(sd_engine.generate(request))[0]).max() <= TOLERANCE
        converted = any(n.startswith("Converting the text encoder") for n in notices)
        assert converted == (word not in pictures)  # back to the first set: from the cache
        pictures[word] = ours[0]
    assert np.abs(pictures["inkwash"] - pictures["chalky"]).max() > 10 * TOLERANCE  # the embeddings count


def test_the_cache_limit_evicts_the_least_recently_used_conversion_never_this_runs(tiny_sd_dir, sd_engine, tmp_path,
                                                                                   monkeypatch):
    """The limit set on the running engine (Engine › OpenVINO cache limit…) is the next conversion's."""
    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))  # a cache of its own: it is emptied below
    cache = tmp_path / "cache" / "openvino"
    engine = _engine(tiny_sd_dir, "openvino", cache_gb=100)
    notices: list[str] = []
    engine.generate(_request(), on_notice=notices.append)  # converts the UNet, the VAE decoder and the text encoder
    before = {path.name for path in cache.iterdir()}
    assert {name.split("-")[0] for name in before} == {"unet", "text_encoder", "vae_decoder"}
    assert not any(n.startswith("Removed") for n in notices)  # well under 100 GB
    # A fresh pipe's shapes (the shared engines may hold LoRA layers): for the UNet and the text encoder.
    kohya_lora(engine._loaded.pipe, models_dir() / "loras" / "inked.safetensors", scale=0.5)
    tagged = _request(prompt="a lighthouse at dusk <lora:inked:0.8>")
    notices.clear()

    engine.openvino_cache_gb = 1e-9  # 1 byte: anything not in use goes
    ours = _pixels(engine.generate(tagged, on_notice=notices.append))

    after = {path.name for path in cache.iterdir()}
    gone = before - after
    assert {name.split("-")[0] for name in gone} == {"unet", "text_encoder"}  # the LoRA set replaced those two
    assert before - gone == {name for name in after if name.startswith("vae_decoder")}  # the run's VAE stayed
    assert {name.split("-")[0] for name in after} == {"unet", "text_encoder", "vae_decoder"}
    assert any(n.startswith("Removed 2 converted models not used lately from the OpenVINO cache (") for n in notices)
    assert np.abs(ours[0] - _pixels(sd_engine.generate(tagged))[0]).max() <= TOLERANCE
    sd_engine.generate(_request())  # the shared engine without the LoRA again


def test_cancel_stops_an_openvino_inference_and_nothing_is_decoded(ov_engine, in_ov_home):
    ov_engine.generate(_request())  # converted: the cancel below lands in an inference, not in a conversion
    token = CancelToken()
    steps: list[int] = []

    def on_step(update):
        steps.append(update.step)
        if update.step == update.total:
            token.cancel()  # after the last step the VAE decoder runs, which no step callback interrupts

    with pytest.raises(GenerationCancelled):
        ov_engine.generate(_request(), on_step=on_step, cancel=token)
    assert steps == [1, 2, 3]


def test_a_lora_runs_on_openvino_with_pytorchs_pixels(ov_engine, sd_engine, in_ov_home):
    kohya_lora(sd_engine._loaded.pipe, models_dir() / "loras" / "inked.safetensors", scale=0.5)
    plain = _request()
    tagged = _request(prompt="a lighthouse at dusk <lora:inked:0.8>")
    notices: list[str] = []

    ours = _pixels(ov_engine.generate(tagged, on_notice=notices.append))
    theirs = _pixels(sd_engine.generate(tagged))
    without = _pixels(ov_engine.generate(plain))

    assert any(n.startswith("Converting the UNet") for n in notices)  # converted with this LoRA set
    assert not [n for n in notices if "PyTorch" in n]
    assert np.abs(ours[0] - theirs[0]).max() <= TOLERANCE
    assert np.abs(ours[0] - without[0]).max() > 10 * TOLERANCE  # the LoRA is in the picture
    assert np.abs(without[0] - _pixels(sd_engine.generate(plain))[0]).max() <= TOLERANCE  # and gone again


def test_sdxl_runs_on_openvino_with_pytorchs_pixels(tiny_sdxl_dir, sdxl_engine, in_ov_home, converted_calls):
    engine = _engine(tiny_sdxl_dir, "openvino")
    notices: list[str] = []

    ours = _pixels(engine.generate(_request(), on_notice=notices.append))

    assert not [n for n in notices if "PyTorch" in n]
    ran = {name.split("-")[0] for name, _ in converted_calls}
    assert ran == {"unet", "vae_decoder", "text_encoder", "text_encoder_2"}  # both text encoders: diffusers' call
    assert np.abs(ours[0] - _pixels(sdxl_engine.generate(_request()))[0]).max() <= TOLERANCE


def test_a_unet_input_the_converted_graph_does_not_take_runs_in_pytorch(sd_engine):
    """What a ControlNet hands the UNet (residuals): the stand-in gives PyTorch's answer, never another one."""
    from diffusers import ControlNetModel

    from studio.engine.openvino_backend.modules import OpenVinoUNet

    unet = sd_engine._loaded.pipe.unet
    standin = OpenVinoUNet(unet, lambda inputs: pytest.fail("the converted graph was called"))
    controlnet = ControlNetModel.from_unet(unet)
    for parameter in controlnet.parameters():  # give its zero-initialised outputs weights, so the residuals count
        torch.nn.init.normal_(parameter, std=0.05, generator=torch.Generator().manual_seed(2))
    sample = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    context = torch.randn(2, 77, unet.config.cross_attention_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        down, mid = controlnet(sample, 500, context, controlnet_cond=torch.rand(2, 3, 64, 64), return_dict=False)
        residuals = dict(down_block_additional_residuals=down, mid_block_additional_residual=mid)
        expected = unet(sample, 500, context, return_dict=False, **residuals)[0]
        got = standin(sample, 500, context, return_dict=False, **residuals)[0]
        plain = unet(sample, 500, context, return_dict=False)[0]
    assert torch.equal(got, expected) and not torch.allclose(got, plain)


def test_a_pipeline_with_a_component_it_does_not_know_runs_in_pytorch_with_a_notice(tiny_sd_dir, in_ov_home):
    from diffusers import ControlNetModel, StableDiffusionControlNetPipeline

    engine = _engine(tiny_sd_dir, "openvino")
    base = engine._loaded.pipe
    pipe = StableDiffusionControlNetPipeline(**{k: v for k, v in base.components.items() if k != "image_encoder"},
                                             controlnet=ControlNetModel.from_unet(base.unet))
    backend = openvino_backend.start(choose_device("cpu"), 0)
    notices: list[str] = []

    with backend.running(pipe, CancelToken(), notices.append):
        assert pipe.unet is base.unet and pipe.vae.decoder is base.vae.decoder
        assert pipe.text_encoder is base.text_encoder

    assert notices == ["OpenVINO does not run pipelines with a controlnet yet; this run uses PyTorch."]


def test_without_openvino_installed_the_run_uses_pytorch_with_a_notice(tiny_sd_dir, sd_engine, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    engine = _engine(tiny_sd_dir, "openvino")
    notices: list[str] = []

    ours = _pixels(engine.generate(_request(), on_notice=notices.append))

    assert notices == [f"OpenVINO is not installed ({OPENVINO_INSTALL}); this run uses PyTorch."]
    assert np.array_equal(ours[0], _pixels(sd_engine.generate(_request()))[0])


def test_a_model_too_large_to_convert_in_free_memory_runs_in_pytorch_with_a_notice(tiny_sd_dir, sd_engine,
                                                                                    monkeypatch):
    from studio.engine.openvino_backend import converted

    monkeypatch.setattr(converted, "_available_memory", lambda: 1000)  # as on a machine with 1 kB free
    engine = _engine(tiny_sd_dir, "openvino")
    notices: list[str] = []

    ours = _pixels(engine.generate(_request(), on_notice=notices.append))

    assert notices[0].startswith("Not enough free memory to convert the text encoder for OpenVINO (needs about")
    assert any(n.startswith("Not enough free memory to convert the UNet for OpenVINO (needs about") for n in notices)
    assert np.abs(ours[0] - _pixels(sd_engine.generate(_request()))[0]).max() <= TOLERANCE


def test_int8_weights_are_another_cached_conversion_near_fp32s_pixels_and_say_so(tiny_sd_dir, ov_engine, in_ov_home):
    pytest.importorskip("nncf", reason="int8 weights are the optional openvino-int8 extra")
    fp32 = _pixels(ov_engine.generate(_request()))
    notices: list[str] = []

    result = _engine(tiny_sd_dir, "openvino", openvino_weights="int8").generate(_request(), on_notice=notices.append)

    assert "Converting the UNet for OpenVINO with int8 weights (once: it is kept for later runs)…" in notices
    assert not [n for n in notices if "PyTorch" in n]
    int8 = _pixels(result)
    assert 0 < np.abs(int8[0] - fp32[0]).max() <= INT8_TOLERANCE
    assert result.recipes[0].openvino_weights == "int8"
    assert "OpenVINO weights: int8" in format_parameters(result.recipes[0])
    cache = in_ov_home / "cache" / "openvino"
    unet_xml = [path.read_text() for path in cache.glob("unet-*-int8/model.xml")]
    assert len(unet_xml) == 1 and 'element_type="u8"' in unet_xml[0]  # the weights are stored as 8-bit integers
    assert [path for path in cache.glob("unet-*/model.xml") if not path.parent.name.endswith("-int8")]  # and fp32's

    again: list[str] = []
    repeat = _engine(tiny_sd_dir, "openvino", openvino_weights="int8").generate(_request(), on_notice=again.append)

    assert again == []  # a fresh engine found the int8 conversion on disk
    assert np.array_equal(_pixels(repeat)[0], int8[0])
    assert np.array_equal(_pixels(ov_engine.generate(_request()))[0], fp32[0])  # fp32 is still fp32


def test_without_nncf_int8_weights_say_what_to_install_and_run_fp32(tiny_sd_dir, ov_engine, in_ov_home,
                                                                    monkeypatch):
    import sys

    fp32 = _pixels(ov_engine.generate(_request()))
    monkeypatch.setitem(sys.modules, "nncf", None)  # as if it were not installed
    notices: list[str] = []

    result = _engine(tiny_sd_dir, "openvino", openvino_weights="int8").generate(_request(), on_notice=notices.append)

    assert notices == ["NNCF is not installed (pip install 'latent-studio[openvino-int8]'); this run uses OpenVINO "
                       "with fp32 weights."]
    assert np.array_equal(_pixels(result)[0], fp32[0]) and result.recipes[0].openvino_weights == ""


def _cpu_computes_bf16() -> bool:
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def test_fast_precision_runs_the_same_conversion_in_bf16_near_fp32s_pixels_and_says_so(ov_engine, in_ov_home):
    fp32 = _pixels(ov_engine.generate(_request()))  # converted here or by a test before
    notices: list[str] = []
    ov_engine.openvino_precision = "fast"
    try:
        result = ov_engine.generate(_request(), on_notice=notices.append)
        again = _pixels(ov_engine.generate(_request()))
    finally:
        ov_engine.openvino_precision = "fp32"

    assert notices == []  # no new conversion: the same model, compiled in another precision
    fast = _pixels(result)
    assert np.array_equal(fast[0], again[0])  # the same pixels run to run in bf16 too
    if _cpu_computes_bf16():
        assert 0 < np.abs(fast[0] - fp32[0]).max() <= FAST_TOLERANCE
        assert result.recipes[0].openvino_precision == "bf16"
        assert "OpenVINO precision: bf16" in format_parameters(result.recipes[0])
    else:  # OpenVINO computes in fp32 where the CPU has nothing faster: PyTorch's pictures, nothing to record
        assert np.array_equal(fast[0], fp32[0]) and result.recipes[0].openvino_precision == ""
    # fp32 after bf16 on the same engine is fp32 again (OpenVINO's compiled-blob cache mixes the two up)
    assert np.array_equal(_pixels(ov_engine.generate(_request()))[0], fp32[0])


def test_on_a_gpu_each_precision_keeps_its_own_compiled_blobs(tmp_path):
    """No GPU here: a recording core stands in for OpenVINO's, to check what a GPU compile is told. OpenVINO's blob
    cache key leaves the precision out (on the CPU a bf16 compile found the fp32 blob and computed NaNs)."""
    import openvino as ov

    class Compiled:
        def __init__(self, config):
            self.precision = ov.Type.f32 if config.get("INFERENCE_PRECISION_HINT") == "f32" else ov.Type.f16

        def get_property(self, name):
            return self.precision

        def create_infer_request(self):
            return None

    class Model:
        def clone(self):
            return self

        def reshape(self, shapes):
            pass

    class RecordingCore:
        configs: list[dict] = []

        def read_model(self, path):
            return Model()

        def compile_model(self, model, device, config):
            self.configs.append(config)
            return Compiled(config)

    core = RecordingCore()
    model = ConvertedModel(core, "GPU", tmp_path / "unet-k", lambda: None)
    shapes = (("sample", (1, 4, 8, 8)),)
    model._request_for(shapes, False)
    model._request_for(shapes, True)

    exact, fast = core.configs
    assert exact["CACHE_DIR"] != fast["CACHE_DIR"] and exact["INFERENCE_PRECISION_HINT"] == "f32"
    assert "INFERENCE_PRECISION_HINT" not in fast and model.precision == "f16"
    cpu = ConvertedModel(core, "CPU", tmp_path / "unet-k", lambda: None)
    cpu._request_for(shapes, False)
    assert "CACHE_DIR" not in core.configs[-1]  # compiling on the CPU is as fast as loading a blob


# Converting a module whose forward allocates 512 MB of temporaries (in 128 MB blocks: from malloc's heap, which
# the app tells to keep freed blocks), in a fresh process as the app runs: the resident memory it adds.
CONVERT_PROBE = """
import json, sys, tempfile
from pathlib import Path
from studio.core import allocator
allocator.keep_freed_blocks()
if sys.argv[1] == "untrimmed":
    allocator.release_freed_blocks = lambda: None
import openvino as ov, torch
from studio.engine.openvino_backend.converted import ConvertedModel

class Wasteful(torch.nn.Module):
    def forward(self, sample):
        scratch = [torch.full((32, 1024, 1024), float(i)) for i in range(4)]
        return sample * sum(float(s[0, 0, 0]) for s in scratch)

def resident():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096

with tempfile.TemporaryDirectory() as root:
    model = ConvertedModel(ov.Core(), "CPU", Path(root) / "m", Wasteful)
    before = resident()
    model.convert({"sample": torch.ones(1, 4)})
    print(json.dumps({"added": resident() - before, "out": model({"sample": torch.ones(1, 4)}, None)[0].tolist()}))
"""


@pytest.mark.skipif(allocator._LIBC is None, reason="glibc's malloc (Linux) only")
def test_a_conversion_hands_its_temporaries_back_before_the_model_is_compiled():
    added = {}
    for mode in ("trimmed", "untrimmed"):
        done = subprocess.run([sys.executable, "-c", CONVERT_PROBE, mode], capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result["out"] == [[6.0] * 4]  # 0 + 1 + 2 + 3: the temporaries were really made
        added[mode] = result["added"]

    assert added["untrimmed"] > 256 * 2 ** 20  # kept in the heap for a next call that never comes
    assert added["trimmed"] < added["untrimmed"] - 256 * 2 ** 20
