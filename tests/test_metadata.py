"""A1111 ``parameters`` text and our JSON chunk: writing, parsing real third-party texts, PNG round trips."""

import json
import struct
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from studio.core.errors import StudioError
from studio.core.metadata import (
    format_parameters,
    parse_parameters,
    png_info,
    read_recipe,
    recipe_from_parameters,
)
from studio.core.outputs import save_image
from studio.core.recipe import Recipe
from studio.core.samplers import SAMPLER_LABELS

TXT2IMG = Recipe(
    prompt="a lighthouse at dusk, dramatic clouds",
    negative_prompt="blurry, lowres",
    seed=1234,
    steps=25,
    cfg_scale=7.0,
    width=512,
    height=768,
    sampler="Euler a",
    model="v1-5-pruned-emaonly",
    model_hash="6ce0161689",
    model_family="sd1",
    scheduler="euler_a",
    app_version="0.1.0",
)

INPAINT = Recipe(
    prompt="portrait of a knight,\n  (ornate armour:1.2)\nstanding in the rain",
    negative_prompt="ugly,\nbad hands: extra fingers",
    seed=4_000_000_000,
    steps=30,
    cfg_scale=6.5,
    width=768,
    height=512,
    sampler="DPM++ 2M Karras",
    model="runwayml/stable-diffusion-inpainting",
    model_hash="3e16efc8b9",
    mode="inpaint",
    strength=0.75,
    mask_feather=8,
    model_family="sd1",
    scheduler="dpmpp_2m_karras",
    batch_size=4,
    batch_index=2,
    app_version="0.1.0",
)

# A draft: decoded by the tiny autoencoder, on OpenVINO with int8 weights (keys of our own: A1111 has none).
DRAFT = Recipe(**{**TXT2IMG.to_dict(), "decoder": "TAESD", "openvino_weights": "int8", "openvino_precision": "bf16"})
# Real-world shapes: A1111 1.10 txt2img with hires fix, LoRA/TI hashes and the split "Schedule type".
A1111_HIRES = """masterpiece, best quality, 1girl, solo, <lora:add_detail:0.6>
(red hair:1.2), looking at viewer,
forest background, bokeh
Negative prompt: EasyNegative, (worst quality, low quality:1.4), bad hands
Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 3405691582, Size: 512x768, \
Model hash: 7f96a1a9ca, Model: anything-v5-PrtRE, Denoising strength: 0.45, Clip skip: 2, Hires upscale: 2, \
Hires steps: 15, Hires upscaler: R-ESRGAN 4x+ Anime6B, Lora hashes: "add_detail: 7c6bad76eb54", \
TI hashes: "EasyNegative: c74b4e810b03", Version: v1.10.1"""

# Forge inpainting with a ControlNet unit, no negative prompt.
FORGE_INPAINT_CONTROLNET = """a cozy cabin in the snowy mountains, golden hour
Steps: 30, Sampler: Euler a, CFG scale: 7, Seed: 1234567890, Size: 768x512, Model hash: 31e35c80fc, \
Model: sd_xl_base_1.0, Denoising strength: 0.6, Mask blur: 4, Inpaint area: Only masked, \
Masked area padding: 32, ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 1, \
Resize Mode: Crop and Resize, Processor Res: 512, Guidance Start: 0, Guidance End: 1, Control Mode: Balanced", \
Version: f2.0.1v1.10.1-previous-519-g44eb4ea8"""

# Fooocus's A1111 scheme: quoted tuples and lists, a huge seed, its own keys.
FOOOCUS = """cinematic photo of a lighthouse at dusk, dramatic clouds
Negative prompt: (worst quality:1.2), lowres,
watermark
Steps: 30, Sampler: DPM++ 2M SDE Karras, Seed: 8830176215, Size: 1152x896, CFG scale: 4, Sharpness: 2, \
ADM Guidance: "(1.5, 0.8, 0.3)", Model: juggernautXL_v8Rundiffusion, Model hash: aeb7e9e689, \
Styles: "['Fooocus V2', 'Fooocus Enhance', 'Fooocus Sharp']", \
Fooocus V2 Expansion: "cinematic photo of a lighthouse at dusk, dramatic clouds, highly detailed", \
Performance: Speed, Version: Fooocus v2.4.3"""

# A1111 img2img from 2022 (the example in A1111's own docstring, plus a denoising strength), CRLF line ends.
A1111_OLD_IMG2IMG = (
    "girl with an artist's beret, determined, blue eyes, desert scene\r\n"
    "Negative prompt: ugly, fat, obese, (((deformed))), [blurry]\r\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b, "
    "Denoising strength: 0.75"
)


# --------------------------------------------------------------------------------------------- writing
def test_format_txt2img_is_the_a1111_layout():
    assert format_parameters(TXT2IMG) == (
        "a lighthouse at dusk, dramatic clouds\n"
        "Negative prompt: blurry, lowres\n"
        "Steps: 25, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 512x768, Model hash: 6ce0161689, "
        "Model: v1-5-pruned-emaonly, Version: latent-studio 0.1.0"
    )


def test_format_inpaint_adds_a1111_fields_and_quotes_like_a1111():
    text = format_parameters(INPAINT)
    last = text.split("\n")[-1]
    assert last == (
        "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 4000000000, Size: 768x512, "
        'Model hash: 3e16efc8b9, Model: runwayml/stable-diffusion-inpainting, Batch size: 4, Batch pos: 2, '
        "Denoising strength: 0.75, Mask blur: 8, Version: latent-studio 0.1.0"
    )
    assert text.startswith(INPAINT.prompt + "\nNegative prompt: " + INPAINT.negative_prompt + "\n")


def test_a_draft_says_so_in_the_a1111_text():
    assert format_parameters(DRAFT).endswith(
        "Model: v1-5-pruned-emaonly, Decoder: TAESD, OpenVINO weights: int8, OpenVINO precision: bf16, "
        "Version: latent-studio 0.1.0")


def test_values_with_commas_or_colons_are_json_quoted():
    recipe = Recipe(**{**TXT2IMG.to_dict(), "model": 'my: model, "v2"', "sampler": "Odd, sampler"})
    last = format_parameters(recipe).split("\n")[-1]
    assert 'Sampler: "Odd, sampler"' in last
    assert r'Model: "my: model, \"v2\""' in last
    fields = parse_parameters(format_parameters(recipe))
    assert fields["Model"] == 'my: model, "v2"'
    assert fields["Sampler"] == "Odd, sampler"


def test_empty_negative_prompt_leaves_the_line_out():
    recipe = Recipe(**{**TXT2IMG.to_dict(), "negative_prompt": ""})
    lines = format_parameters(recipe).split("\n")
    assert len(lines) == 2
    assert lines[0] == recipe.prompt
    assert lines[1].startswith("Steps: 25, ")


@pytest.mark.parametrize("recipe", [TXT2IMG, INPAINT, DRAFT], ids=["txt2img", "inpaint", "draft"])
def test_our_text_parses_back_to_the_same_recipe(recipe):
    back = recipe_from_parameters(format_parameters(recipe))
    # The text has no family; everything else it carries comes back exactly, multi-line prompts included.
    assert back == Recipe(**{**recipe.to_dict(), "model_family": ""})


def test_non_ascii_prompt_round_trips_through_text():
    recipe = Recipe(**{**TXT2IMG.to_dict(), "prompt": "桜の木の下の猫, ☀ été\nzweite Zeile"})
    assert recipe_from_parameters(format_parameters(recipe)).prompt == recipe.prompt


@pytest.mark.parametrize("name,label", sorted(SAMPLER_LABELS.items()))
def test_every_sampler_label_round_trips(name, label, tmp_path):
    recipe = Recipe(**{**TXT2IMG.to_dict(), "sampler": label, "scheduler": name})
    assert f"Sampler: {label}," in format_parameters(recipe)
    back = recipe_from_parameters(format_parameters(recipe))
    assert (back.sampler, back.scheduler) == (label, name)
    # And through a PNG that carries only the text, as another tool would write it.
    path = tmp_path / "a1111.png"
    _save_with_text(path, {"parameters": format_parameters(recipe)})
    from_png = read_recipe(path)
    assert (from_png.sampler, from_png.scheduler) == (label, name)


# --------------------------------------------------------------------------------------------- parsing
def test_parse_a1111_hires_infotext():
    fields = parse_parameters(A1111_HIRES)
    assert fields["Prompt"] == (
        "masterpiece, best quality, 1girl, solo, <lora:add_detail:0.6>\n"
        "(red hair:1.2), looking at viewer,\n"
        "forest background, bokeh"
    )
    assert fields["Negative prompt"] == "EasyNegative, (worst quality, low quality:1.4), bad hands"
    assert fields["Size"] == "512x768"
    assert fields["Lora hashes"] == "add_detail: 7c6bad76eb54"
    assert fields["TI hashes"] == "EasyNegative: c74b4e810b03"
    assert fields["Hires upscaler"] == "R-ESRGAN 4x+ Anime6B"
    assert fields["Clip skip"] == "2"
    assert fields["Version"] == "v1.10.1"

    recipe = recipe_from_parameters(A1111_HIRES)
    assert (recipe.steps, recipe.cfg_scale, recipe.seed) == (28, 6.5, 3405691582)
    assert (recipe.width, recipe.height) == (512, 768)
    assert (recipe.model, recipe.model_hash) == ("anything-v5-PrtRE", "7f96a1a9ca")
    # "Sampler: DPM++ 2M, Schedule type: Karras" is the old single label, which we can run.
    assert (recipe.sampler, recipe.scheduler) == ("DPM++ 2M Karras", "dpmpp_2m_karras")
    # The denoising strength belongs to the hires pass: this is still text-to-image.
    assert (recipe.mode, recipe.strength, recipe.mask_feather) == ("txt2img", None, None)
    assert recipe.app_version == ""


def test_parse_forge_inpaint_with_controlnet_and_no_negative_prompt():
    fields = parse_parameters(FORGE_INPAINT_CONTROLNET)
    assert fields["Prompt"] == "a cozy cabin in the snowy mountains, golden hour"
    assert fields["Negative prompt"] == ""
    assert fields["ControlNet 0"].startswith("Module: canny, Model: control_v11p_sd15_canny [d14c016b], Weight: 1,")
    assert fields["ControlNet 0"].endswith("Control Mode: Balanced")
    assert fields["Inpaint area"] == "Only masked"
    assert fields["Version"] == "f2.0.1v1.10.1-previous-519-g44eb4ea8"

    recipe = recipe_from_parameters(FORGE_INPAINT_CONTROLNET)
    assert recipe.negative_prompt == ""
    assert (recipe.mode, recipe.strength, recipe.mask_feather) == ("inpaint", 0.6, 4)
    assert (recipe.sampler, recipe.scheduler) == ("Euler a", "euler_a")
    assert (recipe.width, recipe.height, recipe.cfg_scale) == (768, 512, 7.0)


def test_parse_fooocus_infotext():
    fields = parse_parameters(FOOOCUS)
    assert fields["Negative prompt"] == "(worst quality:1.2), lowres,\nwatermark"
    assert fields["ADM Guidance"] == "(1.5, 0.8, 0.3)"
    assert fields["Styles"] == "['Fooocus V2', 'Fooocus Enhance', 'Fooocus Sharp']"
    assert fields["Fooocus V2 Expansion"].endswith("highly detailed")
    assert fields["Performance"] == "Speed"

    recipe = recipe_from_parameters(FOOOCUS)
    # A label we have no scheduler for is kept as written; the engine then uses the model's own.
    assert (recipe.sampler, recipe.scheduler) == ("DPM++ 2M SDE Karras", "")
    assert (recipe.seed, recipe.width, recipe.height, recipe.cfg_scale) == (8830176215, 1152, 896, 4.0)
    assert recipe.model == "juggernautXL_v8Rundiffusion"
    assert recipe.mode == "txt2img"


def test_parse_old_a1111_img2img_with_crlf():
    recipe = recipe_from_parameters(A1111_OLD_IMG2IMG)
    assert recipe.prompt == "girl with an artist's beret, determined, blue eyes, desert scene"
    assert recipe.negative_prompt == "ugly, fat, obese, (((deformed))), [blurry]"
    assert (recipe.mode, recipe.strength) == ("img2img", 0.75)
    assert (recipe.model, recipe.model_hash) == ("", "45dee52b")


def test_text_without_parameters_line_is_all_prompt_with_defaults():
    recipe = recipe_from_parameters("a red fox in the snow\nwatercolour")
    assert recipe.prompt == "a red fox in the snow\nwatercolour"
    assert recipe.negative_prompt == ""
    assert (recipe.seed, recipe.steps, recipe.cfg_scale, recipe.width, recipe.height) == (-1, 25, 7.0, 512, 512)
    assert (recipe.sampler, recipe.scheduler, recipe.model, recipe.mode) == ("", "", "", "txt2img")


def test_malformed_numbers_fall_back_to_defaults():
    recipe = recipe_from_parameters("cat\nSteps: many, Sampler: Euler, CFG scale: high, Seed: ?, Size: big")
    assert (recipe.steps, recipe.cfg_scale, recipe.seed, recipe.width, recipe.height) == (25, 7.0, -1, 512, 512)
    assert recipe.sampler == "Euler"


def test_numbers_are_read_exactly_or_tolerantly():
    recipe = recipe_from_parameters("cat\nSteps: 20.0, CFG scale: 5, Seed: 18446744073709551615, Mask blur: inf")
    assert (recipe.steps, recipe.cfg_scale, recipe.seed) == (20, 5.0, 18446744073709551615)
    assert (recipe.mode, recipe.mask_feather) == ("inpaint", 8)


# --------------------------------------------------------------------------------------------- PNG chunks
def _save_with_text(path: Path, chunks: dict[str, str]) -> None:
    info = PngInfo()
    for key, value in chunks.items():
        info.add_text(key, value)
    Image.new("RGB", (8, 8), "gray").save(path, pnginfo=info)


def _chunk_types(path: Path) -> dict[str, bytes]:
    """Text chunk keyword -> chunk type (b"tEXt", b"iTXt", ...), read straight from the file."""
    data = path.read_bytes()
    pos, found = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind in (b"tEXt", b"iTXt", b"zTXt"):
            found[body.split(b"\0", 1)[0].decode("latin-1")] = kind
        pos += 12 + length
    return found


@pytest.mark.parametrize("recipe", [TXT2IMG, INPAINT, DRAFT], ids=["txt2img", "inpaint", "draft"])
def test_saved_png_carries_both_chunks_and_reads_back(recipe, tmp_path):
    path = save_image(Image.new("RGB", (recipe.width, recipe.height), "navy"), recipe, tmp_path)
    with Image.open(path) as im:
        assert im.info["parameters"] == format_parameters(recipe)
        stored = json.loads(im.info["latent-studio"])
    assert stored == {"schema": 1, **recipe.to_dict()}
    assert _chunk_types(path) == {"parameters": b"tEXt", "latent-studio": b"tEXt"}
    assert read_recipe(path) == recipe
    with Image.open(path) as im:
        assert read_recipe(im) == recipe


def test_non_latin1_text_goes_into_itxt_chunks(tmp_path):
    recipe = Recipe(**{**TXT2IMG.to_dict(), "prompt": "桜の木の下の猫", "negative_prompt": "ぼやけ"})
    path = save_image(Image.new("RGB", (16, 16)), recipe, tmp_path)
    assert _chunk_types(path) == {"parameters": b"iTXt", "latent-studio": b"iTXt"}
    assert read_recipe(path) == recipe
    with Image.open(path) as im:
        assert parse_parameters(im.info["parameters"])["Prompt"] == "桜の木の下の猫"


def test_a1111_png_without_our_chunk_is_parsed(tmp_path):
    path = tmp_path / "00012-3405691582.png"
    _save_with_text(path, {"parameters": A1111_HIRES})
    assert read_recipe(path) == recipe_from_parameters(A1111_HIRES)


def test_parameters_after_the_pixel_data_are_found(tmp_path):
    path = tmp_path / "late.png"
    info = PngInfo()
    info.add(b"tEXt", b"parameters\0" + FORGE_INPAINT_CONTROLNET.encode("latin-1"), after_idat=True)
    Image.new("RGB", (8, 8)).save(path, pnginfo=info)
    assert read_recipe(path).seed == 1234567890


def test_broken_json_chunk_falls_back_to_parameters(tmp_path):
    path = tmp_path / "broken.png"
    _save_with_text(path, {"latent-studio": '{"schema": 1, "prompt": ', "parameters": format_parameters(TXT2IMG)})
    assert read_recipe(path) == Recipe(**{**TXT2IMG.to_dict(), "model_family": ""})
    _save_with_text(path, {"latent-studio": json.dumps({"schema": 1, "prompt": "only this"})})
    assert read_recipe(path) is None


def test_recipe_json_from_a_newer_version_keeps_known_fields(tmp_path):
    path = tmp_path / "newer.png"
    _save_with_text(path, {"latent-studio": json.dumps({"schema": 2, **TXT2IMG.to_dict(), "lora": ["x"]})})
    assert read_recipe(path) == TXT2IMG


def test_png_info_is_usable_directly(tmp_path):
    path = tmp_path / "direct.png"
    Image.new("RGB", (8, 8)).save(path, pnginfo=png_info(INPAINT))
    assert read_recipe(path) == INPAINT


def test_image_without_metadata_gives_none(tmp_path):
    png, jpg = tmp_path / "plain.png", tmp_path / "plain.jpg"
    Image.new("RGB", (8, 8)).save(png)
    Image.new("RGB", (8, 8)).save(jpg)
    assert read_recipe(png) is None
    assert read_recipe(jpg) is None
    assert read_recipe(Image.new("RGB", (8, 8))) is None
    _save_with_text(png, {"parameters": "   "})
    assert read_recipe(png) is None


def test_reading_a_file_that_is_not_an_image_is_one_sentence(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("Steps: 20, Sampler: Euler a, CFG scale: 7\n")
    with pytest.raises(StudioError) as err:
        read_recipe(path)
    assert str(err.value) == "'notes.png' is not an image file the app can read."
    with pytest.raises(StudioError, match="does not exist"):
        read_recipe(tmp_path / "missing.png")
