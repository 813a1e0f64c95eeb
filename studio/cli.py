"""The headless command line: ``studio generate``, ``studio info`` and ``studio models``, on the same engine as the window."""

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from PIL import Image

from studio.core.errors import GenerationCancelled, StudioError
from studio.core.events import StepUpdate
from studio.core.extra_networks import lora_refs, resolve_loras, resolve_vae, with_lora_aliases
from studio.core.image_io import load_image, load_mask
from studio.core.jobs import image_job
from studio.core.logs import setup_logging
from studio.core.metadata import format_parameters, read_recipe
from studio.core.model_folders import ModelKind, configured_folders
from studio.core.model_scan import scan
from studio.core.outputs import save_image, write_png
from studio.core.paths import models_dir
from studio.core.prompt_syntax import prompt_notices
from studio.core.request import GenerationRequest
from studio.core.samplers import SCHEDULER_NAMES

log = logging.getLogger(__name__)

COMMANDS = ("generate", "info", "models")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studio", description="Latent Studio command line.")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="generate images and save them with their recipe")
    gen.add_argument("--model", required=True, help="diffusers folder, .safetensors checkpoint or hub id")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--negative", default="", help="negative prompt")
    gen.add_argument("--lora", action="append", default=[], metavar="NAME[:W]",
                     help="apply a LoRA from the LoRA folders (repeatable); the same as <lora:NAME:W> in --prompt")
    gen.add_argument("--vae", default="", metavar="NAME", help="decode with this VAE from the VAE folders instead of "
                     "the model's own")
    gen.add_argument("--seed", type=int, default=None, help="default: a random seed (recorded in the image)")
    gen.add_argument("--steps", type=int, default=25)
    gen.add_argument("--cfg", type=float, default=7.0, help="classifier-free guidance scale")
    gen.add_argument("--width", type=int, default=None,
                     help="generation size; default: the model's native size (with --image: fitted to it)")
    gen.add_argument("--height", type=int, default=None)
    gen.add_argument("--scheduler", default=None, help=f"one of {', '.join(SCHEDULER_NAMES)}; default: the model's own")
    gen.add_argument("--image", type=Path, default=None, help="start from this image (image-to-image)")
    gen.add_argument("--strength", type=float, default=0.75, help="how much of --image to change (0-1]")
    gen.add_argument("--mask", type=Path, default=None, help="white = repaint (inpainting; needs --image)")
    gen.add_argument("--feather", type=int, default=8, help="mask feather radius in pixels")
    gen.add_argument("--only-masked", action="store_true",
                     help="generate only the masked region (plus --padding) at the model's size, then paste it back")
    gen.add_argument("--padding", type=int, default=32, help="context around the mask for --only-masked")
    gen.add_argument("--clip-skip", type=int, default=1,
                     help="stop the text encoder N layers from the end, as A1111 counts (1 = the last layer)")
    gen.add_argument("--batch", type=int, default=1, help="images per run (seeds seed, seed+1, ...)")
    gen.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    gen.add_argument("--offload", action="store_true", help="model CPU offload (GPU machines, low VRAM)")
    gen.add_argument("--allow-pickle", action="store_true", help="allow .ckpt files (they can run code)")
    gen.add_argument("--out", type=Path, default=None, help="output PNG (default: the outputs folder)")

    info = sub.add_parser("info", help="print the recipe stored in an image")
    info.add_argument("image", type=Path)

    models = sub.add_parser("models", help="list the models the library finds (kind, family, name, path)")
    models.add_argument("--kind", choices=[kind.value for kind in ModelKind], default=None, help="only this kind")
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    log_path = setup_logging()
    try:
        return _COMMANDS[args.command](args)
    except StudioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except GenerationCancelled:
        print("cancelled: nothing was written", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback for us
        log.exception("Unexpected failure in %s", args.command)
        print(f"error: unexpected failure ({type(exc).__name__}); details in {log_path}", file=sys.stderr)
        return 1


def _template(args) -> tuple[GenerationRequest, Image.Image | None, Image.Image | None]:
    """Everything checkable without the model is checked here, before the (slow) model load."""
    if args.mask is not None and args.image is None:
        raise StudioError("--mask needs --image: a mask paints over an image.")
    image = load_image(args.image) if args.image else None
    mask = load_mask(args.mask, size=image.size) if args.mask else None
    template = GenerationRequest(
        prompt=with_lora_aliases(args.prompt, args.lora),
        negative_prompt=args.negative,
        seed=args.seed,
        steps=args.steps,
        cfg_scale=args.cfg,
        width=args.width or 512,
        height=args.height or 512,
        scheduler=args.scheduler,
        batch_size=args.batch,
        strength=args.strength,
        mask_feather=args.feather,
        clip_skip=args.clip_skip,
        vae=args.vae,
    )
    template.validate()
    resolve_loras(lora_refs(template.prompt, template.negative_prompt), configured_folders())  # before the load
    resolve_vae(template.vae, configured_folders())
    for notice in prompt_notices(template.prompt, args.negative):
        print(f"note: {notice}", file=sys.stderr)
    if image is not None and not 0 < args.strength <= 1:
        raise StudioError(f"Strength must be above 0 and at most 1 (got {args.strength:g}).")
    return template, image, mask


class _ProgressBar:
    def __init__(self, width: int = 30) -> None:
        self.width = width

    def __call__(self, update: StepUpdate) -> None:
        self.stream = sys.stderr
        done = int(self.width * update.step / update.total)
        self.stream.write(f"\r[{'#' * done}{'.' * (self.width - done)}] step {update.step}/{update.total}")
        if update.step == update.total:
            self.stream.write("\n")
        self.stream.flush()


def _generate(args) -> int:
    from studio.engine.engine import Engine  # torch loads only for commands that need it

    template, image, mask = _template(args)
    engine = Engine(args.device, offload=args.offload, previews="linear")
    info = engine.load(str(args.model), allow_pickle=args.allow_pickle)
    native = info.family.native_size
    size = (args.width or native, args.height or native) if args.width or args.height else None
    if image is None and size is None:
        template = replace(template, width=native, height=native)
    job = image_job(template, image, mask, native=native, only_masked=args.only_masked, padding=args.padding,
                    size=size)
    result = engine.generate(job.request, on_step=_ProgressBar())
    for index, (image, recipe) in enumerate(zip(job.place(result.images), result.recipes)):
        if args.out is None:
            path = save_image(image, recipe)
        else:
            out = args.out if len(result.images) == 1 else args.out.with_stem(f"{args.out.stem}-{index + 1}")
            path = write_png(out, image, recipe)
        print(path)
    return 0


def _info(args) -> int:
    recipe = read_recipe(args.image)
    if recipe is None:
        raise StudioError(f"'{args.image.name}' carries no generation recipe.")
    print(format_parameters(recipe))
    return 0


def _models(args) -> int:
    entries = [e for e in scan(configured_folders()) if args.kind is None or e.kind.value == args.kind]
    rows = [(e.kind.value, e.family_label, e.name, str(e.path) + (f"  ({e.problem})" if e.problem else ""))
            for e in entries]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(_MODEL_COLUMNS[:3])]
    for row in [_MODEL_COLUMNS, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3])
    if not rows:
        print(f"(nothing found; put models in {models_dir()} or add folders in the settings)", file=sys.stderr)
    return 0


_MODEL_COLUMNS = ("KIND", "FAMILY", "NAME", "PATH")
_COMMANDS = {"generate": _generate, "info": _info, "models": _models}
