"""Control layers in core: the record's checks, preprocessors that need no download, fitting, A1111's text."""

import numpy as np
import pytest
from PIL import Image

from studio.core.control import ControlInput, format_control
from studio.core.control_files import controlnets, resolve_controlnet
from studio.core.errors import StudioError
from studio.core.metadata import check_parameters, format_parameters
from studio.core.model_folders import LibraryFolder, ModelKind
from studio.core.preprocessors import builtin_map, canny, drawing_lines, fit
from studio.core.recipe import Recipe
from studio.core.request import GenerationRequest


def _square(size=64) -> Image.Image:
    pixels = np.zeros((size, size, 3), np.uint8)
    pixels[16:48, 16:48] = 255
    return Image.fromarray(pixels)


def test_canny_finds_the_edges_of_a_known_square():
    edges = np.asarray(canny(_square(), 100, 200))[..., 0]
    assert set(np.unique(edges)) == {0, 255}
    rows, cols = np.nonzero(edges)
    assert rows.min() in (15, 16) and rows.max() in (47, 48) and cols.min() in (15, 16) and cols.max() in (47, 48)
    assert edges[32, 32] == 0 and edges[2, 2] == 0  # inside and outside the square: no edge
    assert edges[16:48, 15:17].any(axis=1).all()  # the whole left side is an edge


def test_canny_thresholds_decide_which_edges_count():
    faint = np.zeros((64, 64, 3), np.uint8)
    faint[:, 32:] = 60  # a weak step
    assert np.asarray(canny(Image.fromarray(faint), 20, 40)).any()
    assert not np.asarray(canny(Image.fromarray(faint), 200, 250)).any()


def test_builtin_map_runs_at_the_preprocessor_resolution():
    control = ControlInput("cn", image=_square(), preprocessor="canny", processor_res=128)
    assert builtin_map(control.image, control).size == (128, 128)
    assert builtin_map(control.image, ControlInput("cn", preprocessor="none")).size == (64, 64)


def test_drawing_lines_are_white_on_black_from_strokes_or_dark_ink():
    layer = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    layer.putpixel((3, 3), (200, 30, 30, 255))
    lines = np.asarray(drawing_lines(layer, binary=True))
    assert lines[3, 3].tolist() == [255, 255, 255] and lines.sum() == 3 * 255
    paper = Image.new("RGB", (8, 8), "white")
    paper.putpixel((1, 2), (0, 0, 0))
    assert np.asarray(drawing_lines(paper, binary=False))[2, 1].tolist() == [255, 255, 255]
    assert np.asarray(drawing_lines(paper, binary=False))[0, 0].tolist() == [0, 0, 0]
    inverted = builtin_map(paper, ControlInput("cn", preprocessor="invert", processor_res=8))
    assert np.asarray(inverted)[2, 1].tolist() == [255, 255, 255]


@pytest.mark.parametrize("mode, corner", [("Just Resize", None), ("Crop and Resize", 255), ("Resize and Fill", 0)])
def test_fit_follows_a1111s_resize_modes(mode, corner):
    wide = Image.new("RGB", (128, 64), "black")
    wide.paste((255, 255, 255), (32, 0, 96, 64))  # a white middle
    fitted = fit(wide, (64, 64), mode)
    assert fitted.size == (64, 64)
    if corner is not None:
        assert np.asarray(fitted)[0, 0, 0] == corner


@pytest.mark.parametrize("kw, message", [
    (dict(model=""), "has no ControlNet model"),
    (dict(image=None), "has no control image"),
    (dict(weight=2.5), "weight must be between 0 and 2"),
    (dict(start=0.8, end=0.5), "0 <= start < end <= 1"),
    (dict(preprocessor="magic"), "unknown preprocessor 'magic'"),
    (dict(preprocessor="canny", threshold_a=0), "canny low threshold must be between 1 and 255"),
    (dict(resize_mode="Stretch"), "unknown resize mode"),
    (dict(control_mode="Loud"), "unknown control mode"),
    (dict(processor_res=8), "preprocessor resolution must be between"),
])
def test_a_bad_control_layer_is_one_sentence(kw, message):
    base = dict(model="cn", image=_square())
    base.update(kw)
    with pytest.raises(StudioError, match=message):
        GenerationRequest(prompt="x", width=64, height=64, control=(ControlInput(**base),)).validate()


def test_guess_mode_is_for_all_layers_or_none():
    layers = (ControlInput("a", image=_square(), control_mode="ControlNet is more important"),
              ControlInput("b", image=_square()))
    with pytest.raises(StudioError, match="every control layer or of none"):
        GenerationRequest(prompt="x", control=layers).validate()


def test_parameters_carry_control_units_as_a1111_writes_them():
    units = (ControlInput("control_v11p_sd15_canny", preprocessor="canny", weight=0.7, end=0.8),
             ControlInput("depth", weight=1.0, start=0.2, control_mode="My prompt is more important"))
    recipe = Recipe("a fox", "", 1, 20, 7, 512, 512, "Euler a", "model", control=units)
    text = format_parameters(recipe)
    assert ('ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny, Weight: 0.7, Resize Mode: Crop and Resize, '
            'Processor Res: 512, Threshold A: 100, Threshold B: 200, Guidance Start: 0, Guidance End: 0.8, '
            'Pixel Perfect: False, Control Mode: Balanced"') in text
    assert check_parameters(text).recipe.control == units
    a1111 = text.replace("Model: control_v11p_sd15_canny,", "Model: control_v11p_sd15_canny [d14c016b],")
    assert check_parameters(a1111).recipe.control[0].model == "control_v11p_sd15_canny"
    assert format_control(units[1]).startswith("Module: none, Model: depth, Weight: 1,")


def test_controlnets_are_found_as_files_and_diffusers_folders(tmp_path):
    (tmp_path / "canny.safetensors").write_bytes(b"x")
    (tmp_path / "xl" / "depth").mkdir(parents=True)
    (tmp_path / "xl" / "depth" / "config.json").write_text("{}")
    (tmp_path / "tile.part").mkdir()  # a diffusers folder still downloading is not listed
    (tmp_path / "tile.part" / "config.json").write_text("{}")
    folders = [LibraryFolder(tmp_path, ModelKind.CONTROLNET)]
    assert list(controlnets(folders)) == ["canny", "xl/depth"]
    assert resolve_controlnet("depth", folders) == tmp_path / "xl" / "depth"
    assert resolve_controlnet(str(tmp_path / "canny.safetensors"), []) == tmp_path / "canny.safetensors"
    with pytest.raises(StudioError, match="There is no ControlNet called 'pose'"):
        resolve_controlnet("pose", folders)


def test_the_json_recipe_keeps_control_units_by_image_key(tmp_path):
    from studio.core.metadata import read_recipe
    from studio.core.outputs import save_image

    units = (ControlInput("canny-model", preprocessor="canny", weight=0.4, start=0.1, image_key="0123456789abcdef0123"),)
    recipe = Recipe("a fox", "", 1, 20, 7, 64, 64, "Euler a", "model", control=units)
    path = save_image(Image.new("RGB", (64, 64)), recipe, tmp_path)
    assert read_recipe(path) == recipe and read_recipe(path).control[0].image_key == units[0].image_key
    assert "image" not in recipe.to_dict()["control"][0]
