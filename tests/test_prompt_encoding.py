"""A1111 prompt syntax through the real engine on tiny models: equality with diffusers where the syntax means
nothing, and pixels that change where it means something (weights, text past token 75, BREAK, clip skip,
prompt editing).

The tiny tokenizer is byte-level: every character of a word is a token ("a " is one token, "red " three)."""

import numpy as np
import pytest
import torch
from diffusers import DiffusionPipeline, EulerDiscreteScheduler

from studio.core.errors import StudioError
from studio.core.metadata import format_parameters, recipe_from_parameters
from studio.core.request import GenerationRequest
from studio.engine.prompt_encoding import _emphasis, prompt_arguments

FILLER = "a " * 80  # 80 tokens: whatever follows is past the first chunk


def _request(**kw) -> GenerationRequest:
    base = dict(prompt="a red fox in snow", negative_prompt="blurry", seed=42, steps=3, cfg_scale=6.5,
                width=64, height=64, scheduler="euler")
    return GenerationRequest(**(base | kw))


def _pixels(engine, **kw) -> np.ndarray:
    return np.asarray(engine.generate(_request(**kw)).images[0], dtype=np.int16)


def _pipe(folder):
    return DiffusionPipeline.from_pretrained(folder, local_files_only=True)


@pytest.mark.parametrize("model", ["tiny_sd_dir", "tiny_sd2_dir", "tiny_sdxl_dir"])
def test_weights_of_one_are_diffusers_own_embeddings_bit_for_bit(model, request):
    """"(a red fox:1.0) in snow" goes the embedding way (it has syntax) and must equal diffusers' encoding."""
    pipe = _pipe(request.getfixturevalue(model))
    ours = prompt_arguments(pipe, "(a red fox:1.0) in snow", "blurry")
    assert "prompt_embeds" in ours
    theirs = pipe.encode_prompt("a red fox in snow", device="cpu", num_images_per_prompt=1,
                                do_classifier_free_guidance=True, negative_prompt="blurry")
    names = ["prompt_embeds", "negative_prompt_embeds"]
    if len(theirs) == 4:
        names += ["pooled_prompt_embeds", "negative_pooled_prompt_embeds"]
    for name, expected in zip(names, theirs):
        assert torch.equal(ours[name], expected), name


def test_a_prompt_without_syntax_is_handed_to_diffusers_as_text(tiny_sd_dir):
    assert prompt_arguments(_pipe(tiny_sd_dir), "a red fox in snow", "blurry") == {
        "prompt": "a red fox in snow", "negative_prompt": "blurry"}


def test_weight_one_gives_the_same_pixels_and_other_weights_change_them(sd_engine):
    plain = _pixels(sd_engine, prompt="a red fox in snow")
    assert np.array_equal(_pixels(sd_engine, prompt="a red (fox:1.0) in snow"), plain)
    for weighted in ("a red (fox:1.6) in snow", "a red ((fox)) in snow", "a red [fox] in snow"):
        assert np.abs(_pixels(sd_engine, prompt=weighted) - plain).max() > 0, weighted
    assert np.abs(_pixels(sd_engine, negative_prompt="(blurry:1.5)") - plain).max() > 0


def test_emphasis_scales_each_token_and_restores_the_mean_of_each_chunk():
    hidden = torch.randn(2, 77, 8) + 0.5
    weights = torch.ones(2, 77)
    weights[0, 3:6] = 1.5
    weights[1, 10] = 0.5
    out = _emphasis(hidden, weights)
    assert torch.allclose(out.mean(dim=(1, 2)), hidden.mean(dim=(1, 2)), atol=1e-6)
    ratio = out / hidden
    assert torch.allclose(ratio[0, 4] / ratio[0, 0], torch.full((8,), 1.5))
    assert torch.allclose(ratio[1, 10] / ratio[1, 0], torch.full((8,), 0.5))


def test_emphasis_only_scales_a_chunk_whose_mean_is_zero():
    hidden = torch.nn.functional.layer_norm(torch.randn(1, 77, 8), (8,))  # every token's mean is 0
    weights = torch.ones(1, 77)
    weights[0, 2] = 1.4
    out = _emphasis(hidden, weights)
    assert torch.isfinite(out).all()
    assert torch.allclose(out[0, 2], hidden[0, 2] * 1.4) and torch.equal(out[0, 5], hidden[0, 5])


def test_text_past_token_75_changes_the_pixels(sd_engine, tiny_sd_dir):
    red = _pixels(sd_engine, prompt=FILLER + "red")
    blue = _pixels(sd_engine, prompt=FILLER + "blue")
    assert np.abs(red - blue).max() > 0
    # What happened before: diffusers truncates at 77 tokens, so both prompts gave the same picture.
    pipe = _pipe(tiny_sd_dir)
    assert torch.equal(pipe.encode_prompt(FILLER + "red", "cpu", 1, False)[0],
                       pipe.encode_prompt(FILLER + "blue", "cpu", 1, False)[0])


def test_long_prompt_and_short_negative_are_padded_to_the_same_chunks(tiny_sd_dir):
    arguments = prompt_arguments(_pipe(tiny_sd_dir), FILLER * 2 + "fox", "blurry")
    assert arguments["prompt_embeds"].shape == arguments["negative_prompt_embeds"].shape == (1, 77 * 3, 32)


def test_sdxl_long_prompts_use_both_encoders_and_pool_the_first_chunk(sdxl_engine, tiny_sdxl_dir):
    pipe = _pipe(tiny_sdxl_dir)
    arguments = prompt_arguments(pipe, FILLER + "red", "blurry")
    assert arguments["prompt_embeds"].shape == (1, 154, 32 + 64)
    assert arguments["negative_prompt_embeds"].shape == (1, 154, 32 + 64)
    first_chunk = prompt_arguments(pipe, "(" + FILLER[:150] + ":1.0)", "blurry")  # the first 75 tokens only
    # Equal up to float rounding: the long prompt's chunks go through the encoder as one batch.
    assert torch.allclose(arguments["pooled_prompt_embeds"], first_chunk["pooled_prompt_embeds"], atol=1e-5)
    other = prompt_arguments(pipe, "(" + FILLER[:148] + "red:1.0)", "blurry")
    assert not torch.allclose(arguments["pooled_prompt_embeds"], other["pooled_prompt_embeds"], atol=1e-3)
    assert np.abs(_pixels(sdxl_engine, prompt=FILLER + "red") - _pixels(sdxl_engine, prompt=FILLER + "blue")).max() > 0


def test_break_starts_a_new_chunk(sd_engine, tiny_sd_dir):
    arguments = prompt_arguments(_pipe(tiny_sd_dir), "a red BREAK fox", "")
    assert arguments["prompt_embeds"].shape == (1, 154, 32)
    assert np.abs(_pixels(sd_engine, prompt="a red BREAK fox") - _pixels(sd_engine, prompt="a red fox")).max() > 0


@pytest.mark.parametrize("engine_fixture", ["sd_engine", "sdxl_engine"])
def test_clip_skip_changes_pixels(engine_fixture, request):
    engine = request.getfixturevalue(engine_fixture)
    assert np.abs(_pixels(engine, clip_skip=1) - _pixels(engine, clip_skip=2)).max() > 0


def test_clip_skip_takes_the_layer_a1111_takes(tiny_sd_dir, tiny_sdxl_dir):
    """SD: the output of layer -N through the final norm; SDXL: the layer diffusers' clip_skip=N-1 takes."""
    pipe = _pipe(tiny_sd_dir)
    ours = prompt_arguments(pipe, "a red fox", "", clip_skip=2)["prompt_embeds"]
    ids = pipe.tokenizer("a red fox", padding="max_length", max_length=77, return_tensors="pt").input_ids
    hidden = pipe.text_encoder(ids, output_hidden_states=True).hidden_states[-2]
    assert torch.equal(ours, pipe.text_encoder.final_layer_norm(hidden))
    xl = _pipe(tiny_sdxl_dir)
    ours = prompt_arguments(xl, "a red fox", "blurry", clip_skip=2)
    # diffusers applies clip_skip to the prompt only (its negative stays at -2); A1111 and we skip in both.
    for text, name in (("a red fox", "prompt_embeds"), ("blurry", "negative_prompt_embeds")):
        theirs = xl.encode_prompt(text, device="cpu", do_classifier_free_guidance=False, clip_skip=1)[0]
        assert torch.equal(ours[name], theirs), name


def test_clip_skip_is_recorded_as_a1111_writes_it(sd_engine):
    recipe = sd_engine.generate(_request(clip_skip=2)).recipes[0]
    text = format_parameters(recipe)
    assert "Clip skip: 2" in text
    assert recipe_from_parameters(text).clip_skip == 2
    assert "Clip skip" not in format_parameters(sd_engine.generate(_request()).recipes[0])
    for written, read in (("99", 12), ("0", 1), ("two", 1)):  # crafted values stay within what can run
        assert recipe_from_parameters(f"a fox\nSteps: 3, Seed: 1, Clip skip: {written}").clip_skip == read


def test_prompt_editing_at_the_ends_is_one_prompt_throughout(sd_engine):
    red, blue = _pixels(sd_engine, prompt="a red fox in snow"), _pixels(sd_engine, prompt="a blue fox in snow")
    assert np.array_equal(_pixels(sd_engine, prompt="a [red:blue:1.0] fox in snow"), red)  # switches after the last
    assert np.array_equal(_pixels(sd_engine, prompt="a [red:blue:0] fox in snow"), blue)  # before the first
    assert np.array_equal(_pixels(sd_engine, prompt="a [red|red] fox in snow"), red)
    for scheduled in ("a [red:blue:0.5] fox in snow", "a [red|blue] fox in snow"):
        pixels = _pixels(sd_engine, prompt=scheduled)
        assert np.abs(pixels - red).max() > 0 and np.abs(pixels - blue).max() > 0, scheduled


def _switching_reference(folder, first, then, switch_after, negative="blurry", steps=4, batch=1):
    """diffusers' own pipeline and encoder, with a callback that swaps the prompt after ``switch_after`` steps."""
    pipe = _pipe(folder)
    pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    sdxl = hasattr(pipe, "text_encoder_2")
    encoded = {text: pipe.encode_prompt(text, device="cpu", num_images_per_prompt=batch,
                                        do_classifier_free_guidance=True, negative_prompt=negative)
               for text in (first, then)}

    def swap(p, i, t, tensors):
        if i + 1 != switch_after:
            return {}
        new = encoded[then]
        out = {"prompt_embeds": torch.cat([new[1], new[0]])}
        if sdxl:
            out["add_text_embeds"] = torch.cat([new[3], new[2]])
        return out

    first_args = encoded[first]
    kwargs = dict(prompt_embeds=first_args[0], negative_prompt_embeds=first_args[1])
    if sdxl:
        kwargs.update(pooled_prompt_embeds=first_args[2], negative_pooled_prompt_embeds=first_args[3])
    generators = [torch.Generator("cpu").manual_seed(42 + n) for n in range(batch)]
    images = pipe(**kwargs, num_inference_steps=steps, guidance_scale=6.5, width=64, height=64,
                  generator=generators, callback_on_step_end=swap).images
    return [np.asarray(image, dtype=np.int16) for image in images]


@pytest.mark.parametrize("model, engine_fixture", [("tiny_sd_dir", "sd_engine"), ("tiny_sdxl_dir", "sdxl_engine")])
def test_prompt_editing_switches_at_its_step_like_a_hand_made_switch_in_diffusers(model, engine_fixture, request):
    """[red:blue:0.5] over 4 steps: red for steps 1-2, blue for 3-4 (A1111's reading), batch of two."""
    engine, folder = request.getfixturevalue(engine_fixture), request.getfixturevalue(model)
    result = engine.generate(_request(prompt="a [red:blue:0.5] fox in snow", steps=4, batch_size=2))
    expected = _switching_reference(folder, "a red fox in snow", "a blue fox in snow", switch_after=2, batch=2)
    for image, reference in zip(result.images, expected):
        assert np.array_equal(np.asarray(image, dtype=np.int16), reference)


def test_and_is_read_as_one_prompt(sd_engine):
    assert np.array_equal(_pixels(sd_engine, prompt="a red fox AND snow :1.2"),
                          _pixels(sd_engine, prompt="(a red fox, snow:1.0)"))


@pytest.mark.parametrize("field", ["prompt", "negative_prompt"])
def test_extra_network_tags_are_refused_with_one_sentence(sd_engine, field):
    # LoRA tags work (tests/test_lora.py); an unknown LoRA and other kinds of tags are one sentence each.
    with pytest.raises(StudioError, match=r"<hypernet:style:0\.8>, but only <lora:\.\.\.> extra-network tags"):
        sd_engine.generate(_request(**{field: "a fox <hypernet:style:0.8>"}))
    with pytest.raises(StudioError, match=r"the LoRA 'style', but there is no such file in the LoRA folders"):
        sd_engine.generate(_request(**{field: "a fox <lora:style:0.8>"}))
