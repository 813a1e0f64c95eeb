"""The headless command line: ``studio generate``, ``studio upscale``, ``studio info``, ``studio models``,
``studio download`` (and ``studio setup``), on the same engine as the window.

Each command is a parser builder (``_add_<name>``) and a function in ``_COMMANDS``. ``generate`` checks
everything that needs no model (arguments, input files, LoRA and VAE names, that ``--out`` can be written)
before it imports torch, so a mistake costs a fraction of a second instead of the engine's start.
"""

import argparse
import io
import logging
import sys
from dataclasses import replace
from pathlib import Path

from PIL import Image

from studio.core.atomic import atomic_write_bytes
from studio.core.backends import BACKENDS, FAST, INT8, OPENVINO, OPENVINO_PRECISIONS, OPENVINO_WEIGHTS
from studio.core.download_source import parse_source
from studio.core.downloads import DownloadProgress, describe_progress, hub_token
from studio.core.control import ControlInput
from studio.core.control_files import resolve_controlnet
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.events import StepUpdate
from studio.core.extra_networks import lora_refs, resolve_loras, resolve_vae, with_lora_aliases
from studio.core.fewstep import PRESETS
from studio.core.hires import BUILTIN_UPSCALERS, PIXEL_UPSCALERS, HiresPass
from studio.core.image_formats import check_writable_file, check_writable_folder, output_format
from studio.core.image_io import load_image, load_mask
from studio.core.image_prompt import ImagePrompt
from studio.core.image_prompt_files import resolve_ipadapter
from studio.core.jobs import image_job
from studio.core.memory_plan import AUTO, PLAN_CHOICES, MemoryPlan, check_choice
from studio.core.logs import setup_logging
from studio.core.mask import is_empty
from studio.core.metadata import format_parameters, read_checked_recipe, read_recipe
from studio.core.model_info import FamilyControls
from studio.core.model_folders import ModelKind, configured_folders
from studio.core.model_scan import scan
from studio.core.outputs import save_image, write_image
from studio.core.paths import models_dir, outputs_dir
from studio.core.preprocessors import PREPROCESSORS
from studio.core.repo_download import download_model
from studio.core.prompt_syntax import family_notices, prompt_notices
from studio.core.request import GenerationRequest, check_strength
from studio.core.samplers import SCHEDULER_NAMES
from studio.core.sources import check_source
from studio.core.text import printable
from studio.core.tiles import REFINE_STRENGTH, TiledRefine
from studio.core.upscaler_files import resolve_upscaler

log = logging.getLogger(__name__)

COMMANDS = ("generate", "upscale", "info", "models", "download", "setup")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="studio", description="Latent Studio command line.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_generate(sub)
    _add_upscale(sub)
    _add_info(sub)
    _add_models(sub)
    _add_download(sub)
    return parser


def _add_generate(sub) -> None:
    gen = sub.add_parser("generate", help="generate images and save them with their recipe")
    gen.add_argument("--model", required=True, help="diffusers folder, .safetensors checkpoint or hub id")
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--negative", default="", help="negative prompt")
    gen.add_argument("--lora", action="append", default=[], metavar="NAME[:W]",
                     help="apply a LoRA from the LoRA folders (repeatable); the same as <lora:NAME:W> in --prompt")
    gen.add_argument("--vae", default="", metavar="NAME", help="decode with this VAE from the VAE folders instead of "
                     "the model's own")
    gen.add_argument("--seed", type=int, default=None, help="default: a random seed (recorded in the image)")
    gen.add_argument("--steps", type=int, default=None, help="default: the --preset's, or the model family's own "
                     "(SD 25, Flux-dev 28, schnell 4)")
    gen.add_argument("--cfg", type=float, default=None, help="guidance scale: CFG, or the distilled guidance of "
                     "Flux-dev models; default: the --preset's, or the family pipeline's own (SD 7, Flux-dev 3.5)")
    gen.add_argument("--preset", choices=list(PRESETS), default=None,
                     help="the sampler, steps and CFG a few-step model needs (LCM, SDXL-Turbo, SDXL-Lightning, "
                     "Hyper-SD); --scheduler, --steps and --cfg still win")
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
    hires = gen.add_argument_group("hires fix", "a second pass: upscale the result and refine it at the larger size")
    hires.add_argument("--hires-scale", type=float, default=None, help="turn hires fix on: final size = size x F")
    hires.add_argument("--hires-size", type=_size, default=None, metavar="WxH",
                       help="turn hires fix on with this final size (multiples of 8)")
    hires.add_argument("--hires-strength", type=float, default=None, help="how much the second pass changes (0-1]")
    hires.add_argument("--hires-steps", type=int, default=None, help="second-pass steps (default: as many as --steps)")
    hires.add_argument("--upscaler", default=None,
                       help=f"how the first pass is upscaled: {', '.join(BUILTIN_UPSCALERS)} (default: Latent)")
    hires.add_argument("--hires-prompt", default=None, help="prompt of the second pass (default: --prompt)")
    hires.add_argument("--hires-negative", default=None, help="negative prompt of the second pass")
    hires.add_argument("--hires-scheduler", default=None, help="scheduler of the second pass (default: --scheduler)")
    control = gen.add_argument_group("control (ControlNet)", "repeatable: each --controlnet starts a control layer; "
                                     "the flags after it set that layer")
    control.add_argument("--controlnet", action=_ControlFlag, metavar="NAME_OR_PATH",
                         help="a ControlNet from the controlnet models folder, or its file or diffusers folder")
    control.add_argument("--control-image", action=_ControlFlag, type=Path, metavar="IMG", help="the control image")
    control.add_argument("--control-weight", action=_ControlFlag, type=float, metavar="W", help="default 1")
    control.add_argument("--control-start", action=_ControlFlag, type=float, metavar="F",
                         help="fraction of the steps where control starts (default 0)")
    control.add_argument("--control-end", action=_ControlFlag, type=float, metavar="F", help="where it ends (default 1)")
    control.add_argument("--preprocessor", action=_ControlFlag, choices=PREPROCESSORS,
                         help="turns the image into a control map (default none: the image is the map)")
    image_prompt = gen.add_argument_group("image prompt (IP-Adapter)")
    image_prompt.add_argument("--ip-adapter", default=None, metavar="NAME_OR_PATH",
                              help="an IP-Adapter from the ipadapter models folder, or its file; its image encoder "
                              "is found in the clip_vision folder or beside the file (image_encoder/)")
    image_prompt.add_argument("--ip-image", type=Path, default=None, metavar="IMG", help="the image prompt")
    image_prompt.add_argument("--ip-scale", type=float, default=1.0, metavar="S", help="its strength (default 1)")
    gen.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    gen.add_argument("--memory-plan", choices=PLAN_CHOICES, default=None,
                     help="where the weights live on a GPU: auto (chosen from the model's size and the free VRAM), "
                     "gpu, offload-encoders (text encoders back in RAM after encoding), offload (model CPU "
                     "offload), sequential (layer by layer, the leanest and slowest); default: the app's setting "
                     "(auto). The CPU keeps everything in RAM")
    gen.add_argument("--offload", action="store_true", help="the same as --memory-plan offload")
    gen.add_argument("--backend", choices=BACKENDS, default=None,
                     help="what runs the UNet and VAE: torch, or openvino (CPUs and Intel GPUs; converts the model "
                     "once, then reuses it); default: the app's setting (torch)")
    gen.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                     help="PyTorch's UNet and VAE in NHWC (per call VAE decode ~0.7x, UNet ~0.9x the time on a "
                     "CPU, a whole run about the same, more memory; pixels within 1 level of diffusers'); default: "
                     "the app's setting (off: diffusers' exact pixels)")
    gen.add_argument("--draft-decode", action="store_true",
                     help="decode the final picture with the tiny autoencoder (TAESD, in the models folder's taesd/ "
                     "or taesdxl/) instead of the VAE: faster, softer, recorded as 'Decoder: TAESD' (also a setting)")
    gen.add_argument("--openvino-weights", choices=OPENVINO_WEIGHTS, default=None,
                     help="int8: OpenVINO runs weights compressed by NNCF (another cached conversion; other pixels, "
                     "recorded in the image); default: the app's setting (fp32)")
    gen.add_argument("--openvino-precision", choices=OPENVINO_PRECISIONS, default=None,
                     help="fast: OpenVINO computes in bf16 on CPUs with AMX or AVX-512 BF16 (about 3x faster a step "
                     "there) and fp16 on Intel GPUs (other pixels, recorded in the image; fp32 where the hardware "
                     "has neither); default: the app's setting (fp32: PyTorch's pictures)")
    gen.add_argument("--allow-pickle", action="store_true", help="allow .ckpt files (they can run code)")
    gen.add_argument("--out", type=Path, default=None,
                     help="output file, .png, .jpg or .webp (default: a PNG in the outputs folder)")


def _add_upscale(sub) -> None:
    up = sub.add_parser("upscale", help="upscale an image with an upscaler model (ESRGAN, SwinIR, ...) or Lanczos, "
                        "and refine it with a diffusion model (--model)")
    up.add_argument("image", type=Path)
    up.add_argument("--upscaler", required=True, help="a model file, its name in the upscalers models folder, or "
                    f"{' / '.join(PIXEL_UPSCALERS)}")
    up.add_argument("--scale", type=float, default=None, help="final size = size x F (default: the model's scale; "
                    "2 for Lanczos and Nearest)")
    up.add_argument("--out", type=Path, required=True, help="output file, .png, .jpg or .webp")
    up.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    up.add_argument("--allow-pickle", action="store_true",
                    help="allow .pth (and --model .ckpt) files that hold more than weights (they can run code)")
    refine = up.add_argument_group("refine", "then refine the upscaled picture with a model: image-to-image at low "
                                   "strength over overlapping tiles (Ultimate SD upscale style)")
    refine.add_argument("--model", default=None, help="turn the refine pass on with this model (folder, checkpoint "
                        "or hub id)")
    refine.add_argument("--refine-strength", type=float, default=None, help="how much each tile changes (0-1], "
                        f"default {REFINE_STRENGTH:g}")
    refine.add_argument("--prompt", default=None, help="default: the prompt recorded in IMAGE, if any")
    refine.add_argument("--negative", default=None, help="default: the negative prompt recorded in IMAGE, if any")
    refine.add_argument("--steps", type=int, default=None, help="image-to-image steps per tile, as at strength 1 "
                        "(default 20: 7 run at strength 0.35)")
    refine.add_argument("--cfg", type=float, default=None, help="classifier-free guidance scale (default 7)")
    refine.add_argument("--seed", type=int, default=None, help="tile i uses seed + i (default: a random seed)")
    refine.add_argument("--scheduler", default=None, help=f"one of {', '.join(SCHEDULER_NAMES)}")
    refine.add_argument("--tile", type=int, default=None, help="tile side in pixels (default: the model's native size)")
    refine.add_argument("--overlap", type=int, default=None, help="pixels neighbouring tiles share and blend over "
                        f"(default {TiledRefine.overlap})")


def _add_info(sub) -> None:
    info = sub.add_parser("info", help="print the recipe stored in an image")
    info.add_argument("image", type=Path)


def _add_models(sub) -> None:
    models = sub.add_parser("models", help="list the models the library finds (kind, family, name, path)")
    models.add_argument("--kind", choices=[kind.value for kind in ModelKind], default=None, help="only this kind")


def _add_download(sub) -> None:
    down = sub.add_parser("download", help="download a model file, or a Hugging Face diffusers repository as a "
                          "folder, into its models folder (resumes a cut-off one)")
    down.add_argument("source", help="org/repo[@revision] (a diffusers folder), org/repo/file.safetensors, a "
                      "huggingface.co file address or a download link")
    down.add_argument("--kind", required=True, choices=[kind.value for kind in ModelKind], help="the models folder")
    down.add_argument("--name", default=None, help="save as this file (or folder) name (default: the server's, or "
                      "the repository's)")


def _size(text: str) -> tuple[int, int]:
    """``WxH`` as two integers."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"'{text}' is not a size; write it as WxH, for example 1024x768")
    return int(parts[0]), int(parts[1])


class _ControlFlag(argparse.Action):
    """``--controlnet`` starts a layer in ``args.controls``; the other control flags set the last one's values."""

    def __call__(self, parser, namespace, value, option_string=None):
        layers = getattr(namespace, "controls", None) or []
        if option_string == "--controlnet":
            layers.append({})
        elif not layers:
            parser.error(f"{option_string} must follow the --controlnet it belongs to")
        layers[-1][self.dest] = value
        namespace.controls = layers


_CONTROL_FIELDS = {"controlnet": "model", "control_weight": "weight", "control_start": "start",
                   "control_end": "end", "preprocessor": "preprocessor"}


def _controls(args) -> tuple[ControlInput, ...]:
    """The control layers the flags ask for, their images loaded and their ControlNets found."""
    layers = []
    for flags in getattr(args, "controls", None) or []:
        if "control_image" not in flags:
            raise StudioError(f"--controlnet {flags['controlnet']} needs a --control-image after it.")
        resolve_controlnet(flags["controlnet"], configured_folders())  # before the model loads
        values = {field: flags[flag] for flag, field in _CONTROL_FIELDS.items() if flag in flags}
        image = load_image(flags["control_image"])
        layers.append(ControlInput(image=image, **values))
    return tuple(layers)


def _image_prompt(args) -> ImagePrompt | None:
    """The image prompt the flags ask for, its image loaded and its adapter found."""
    if args.ip_adapter is None and args.ip_image is None:
        return None
    if args.ip_adapter is None or args.ip_image is None:
        raise StudioError("--ip-adapter and --ip-image go together: the adapter and the image it reads.")
    resolve_ipadapter(args.ip_adapter, configured_folders())  # before the model loads
    return ImagePrompt(adapter=args.ip_adapter, image=load_image(args.ip_image), scale=args.ip_scale)


def _hires(args) -> HiresPass | None:
    """The hires pass the flags ask for: on with --hires-scale or --hires-size."""
    tuning = {"--hires-strength": args.hires_strength, "--hires-steps": args.hires_steps, "--upscaler": args.upscaler,
              "--hires-prompt": args.hires_prompt, "--hires-negative": args.hires_negative,
              "--hires-scheduler": args.hires_scheduler}
    if args.hires_scale is None and args.hires_size is None:
        given = [flag for flag, value in tuning.items() if value is not None]
        if given:
            raise StudioError(f"{given[0]} needs --hires-scale or --hires-size (they turn hires fix on).")
        return None
    if args.image is not None:
        raise StudioError("Hires fix is for text-to-image; leave out --hires-scale and --hires-size with --image.")
    defaults = HiresPass()
    width, height = args.hires_size or (None, None)
    return HiresPass(
        scale=args.hires_scale if args.hires_scale is not None else defaults.scale,
        strength=args.hires_strength if args.hires_strength is not None else defaults.strength,
        steps=args.hires_steps if args.hires_steps is not None else defaults.steps,
        upscaler=args.upscaler or defaults.upscaler,
        width=width,
        height=height,
        prompt=args.hires_prompt,
        negative_prompt=args.hires_negative,
        scheduler=args.hires_scheduler,
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["setup"]:  # the first-run PyTorch set-up has its own options
        from studio.setup.command import main as setup_main

        return setup_main(argv[1:])
    args = build_parser().parse_args(argv)
    log_path = setup_logging()
    try:
        return _COMMANDS[args.command](args)
    except StudioError as exc:
        log.info("studio %s refused: %s", args.command, exc)
        print(f"error: {printable(str(exc))}", file=sys.stderr)
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


def _fill_sampling(args) -> None:
    """--preset's sampler, steps and CFG where they were not given (None stays: the model family's defaults)."""
    if args.preset is None:
        return
    preset = PRESETS[args.preset]
    args.scheduler = args.scheduler or preset.scheduler
    args.steps = preset.steps if args.steps is None else args.steps
    args.cfg = preset.cfg_scale if args.cfg is None else args.cfg


def _template(args) -> tuple[GenerationRequest, Image.Image | None, Image.Image | None]:
    """Everything checkable without the model is checked here, before torch is imported."""
    _fill_sampling(args)
    check_source(str(args.model), allow_pickle=args.allow_pickle)
    if args.mask is not None and args.image is None:
        raise StudioError("--mask needs --image: a mask paints over an image.")
    image = load_image(args.image) if args.image else None
    mask = load_mask(args.mask, size=image.size) if args.mask else None
    if mask is not None and is_empty(mask):
        raise StudioError(
            f"The mask '{args.mask.name}' is all black, so nothing would be repainted (white marks what to "
            "repaint); leave out --mask for image-to-image."
        )
    template = GenerationRequest(
        prompt=with_lora_aliases(args.prompt, args.lora),
        negative_prompt=args.negative,
        seed=args.seed,
        steps=FamilyControls.default_steps if args.steps is None else args.steps,
        cfg_scale=FamilyControls.default_guidance if args.cfg is None else args.cfg,
        width=512 if args.width is None else args.width,
        height=512 if args.height is None else args.height,
        scheduler=args.scheduler,
        batch_size=args.batch,
        strength=args.strength,
        mask_feather=args.feather,
        clip_skip=args.clip_skip,
        hires=_hires(args),
        vae=args.vae,
        control=_controls(args),
        image_prompt=_image_prompt(args),
    )
    template.validate()
    resolve_loras(lora_refs(template.prompt, template.negative_prompt), configured_folders())  # before the load
    resolve_vae(template.vae, configured_folders())
    for notice in prompt_notices(template.prompt, args.negative):
        print(f"note: {printable(notice)}", file=sys.stderr)
    if image is not None:
        check_strength(args.strength, template.steps)
    _check_output(args, image)
    return template, image, mask


def _memory_plan(args, setting: str) -> str:
    """--memory-plan, or --offload (its older spelling), or the app's setting."""
    offload = MemoryPlan.OFFLOAD.value
    if args.offload and args.memory_plan not in (None, offload):
        raise StudioError(f"--offload means --memory-plan offload; leave out one of --offload and "
                          f"--memory-plan {args.memory_plan}.")
    return check_choice(offload if args.offload else args.memory_plan or setting or AUTO)


def _check_output(args, image: Image.Image | None) -> None:
    """That the images can be written where they will go, with room for them (uncompressed, the most they take)."""
    width, height = image.size if image is not None else (args.width or 1024, args.height or 1024)
    expected = width * height * 3 * args.batch
    if args.out is None:
        check_writable_folder(outputs_dir(), expected)
    else:
        check_writable_file(args.out, expected)


def _settings():
    from studio.core.settings import load_settings

    return load_settings().settings


def _note(text: str) -> None:
    """A notice during a run (a conversion, a fallback) on its own line, not inside the progress bar."""
    print(f"note: {printable(text)}", file=sys.stderr, flush=True)


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
    template, image, mask = _template(args)
    settings = _settings()
    memory_plan = _memory_plan(args, settings.memory_plan)
    backend = args.backend or settings.backend
    if args.openvino_weights == INT8 and backend != OPENVINO:
        raise StudioError("--openvino-weights int8 is for the OpenVINO backend; add --backend openvino.")
    if args.openvino_precision == FAST and backend != OPENVINO:
        raise StudioError("--openvino-precision fast is for the OpenVINO backend; add --backend openvino.")
    from studio.engine.engine import Engine  # torch loads only once the arguments are known to be good

    engine = Engine(args.device, memory_plan=memory_plan, previews="linear", backend=backend,
                    channels_last=settings.channels_last if args.channels_last is None else args.channels_last,
                    openvino_cache_gb=settings.openvino_cache_gb,
                    draft_decode=args.draft_decode or settings.draft_decode,
                    openvino_weights=args.openvino_weights or settings.openvino_weights,
                    openvino_precision=args.openvino_precision or settings.openvino_precision)
    info = engine.load(str(args.model), allow_pickle=args.allow_pickle)
    print(info.memory.line, file=sys.stderr)
    fewstep = info.fewstep
    if fewstep is not None and args.preset is None:
        advice = f"{fewstep.describe('model')}; --preset {fewstep.preset.key} uses {fewstep.preset.settings_text()}."
        print(f"note: {printable(advice)}", file=sys.stderr)
    native = info.family.native_size
    controls = info.controls  # what the user did not give is the family pipeline's own default
    template = replace(template, steps=controls.default_steps if args.steps is None else args.steps,
                       cfg_scale=controls.default_guidance if args.cfg is None else args.cfg)
    for notice in family_notices(info, template.prompt, template.negative_prompt):
        print(f"note: {printable(notice)}", file=sys.stderr)
    given = args.width is not None or args.height is not None
    size = (args.width or native, args.height or native) if given else None
    if image is None and size is None:
        template = replace(template, width=native, height=native)
    job = image_job(template, image, mask, native=native, only_masked=args.only_masked, padding=args.padding,
                    grid=controls.size_multiple,
                    size=size)
    result = engine.generate(job.request, on_step=_ProgressBar(), on_notice=_note)
    for index, (image, recipe) in enumerate(zip(job.place(result.images), result.recipes)):
        try:
            if args.out is None:
                path = save_image(image, recipe)
            else:
                out = args.out if len(result.images) == 1 else args.out.with_stem(f"{args.out.stem}-{index + 1}")
                path = write_image(out, image, recipe)
        except OSError as exc:  # the disk filled up or went away during the run
            log.exception("Writing the result failed")
            raise StudioError(f"The image could not be written ({exc.strerror or type(exc).__name__}).") from exc
        print(path)
    return 0


def _refine(args) -> tuple[GenerationRequest, TiledRefine] | None:
    """The refine pass the flags ask for (on with --model), checked before torch loads."""
    tuning = {"--refine-strength": args.refine_strength, "--prompt": args.prompt, "--negative": args.negative,
              "--steps": args.steps, "--cfg": args.cfg, "--seed": args.seed, "--scheduler": args.scheduler,
              "--tile": args.tile, "--overlap": args.overlap}
    if args.model is None:
        given = [flag for flag, value in tuning.items() if value is not None]
        if given:
            raise StudioError(f"{given[0]} needs --model (it turns the refine pass on).")
        return None
    check_source(str(args.model), allow_pickle=args.allow_pickle)
    if args.upscaler not in PIXEL_UPSCALERS:
        resolve_upscaler(args.upscaler)  # before the model loads
    recorded = read_recipe(args.image)
    template = GenerationRequest(
        prompt=args.prompt if args.prompt is not None else recorded.prompt if recorded else "",
        negative_prompt=args.negative if args.negative is not None else recorded.negative_prompt if recorded else "",
        seed=args.seed, steps=args.steps or 20, cfg_scale=7.0 if args.cfg is None else args.cfg,
        scheduler=args.scheduler, strength=REFINE_STRENGTH if args.refine_strength is None else args.refine_strength,
    )
    template.validate()
    check_strength(template.strength, template.steps)
    tiling = TiledRefine(upscaler=args.upscaler, tile_width=args.tile or 0, tile_height=args.tile or 0,
                         overlap=TiledRefine.overlap if args.overlap is None else args.overlap)
    tiling.validate()
    return template, tiling


def _upscale(args) -> int:
    if args.scale is not None and not 1 <= args.scale <= 16:
        raise StudioError(f"Scale must be between 1 and 16 (got {args.scale:g}).")
    image = load_image(args.image)
    refine = _refine(args)
    check_writable_file(args.out, image.width * image.height * 3 * round((args.scale or 4) ** 2))
    from studio.engine.devices import choose_device  # torch loads only once the arguments are known to be good
    from studio.engine.upscalers import Upscalers

    if refine is None:
        upscalers = Upscalers(choose_device(args.device))
    else:
        from studio.engine.engine import Engine

        engine = Engine(args.device, previews="linear")
        engine.load(str(args.model), allow_pickle=args.allow_pickle)
        upscalers = engine.upscalers
    result = upscalers.upscale(image, args.upscaler, scale=args.scale, on_progress=_TileBar(),
                               allow_pickle=args.allow_pickle)
    if refine is not None:
        template, tiling = refine
        tiling = replace(tiling, scale=round(result.width / image.width, 4))
        finished = engine.refine(result, template, tiling, on_step=_ProgressBar(), on_notice=_note)
        print(write_image(args.out, finished.images[0], finished.recipes[0]))
        return 0
    buffer = io.BytesIO()
    result.save(buffer, format=output_format(args.out))
    print(atomic_write_bytes(args.out, buffer.getvalue()))
    return 0


class _TileBar:
    def __call__(self, done: int, total: int) -> None:
        sys.stderr.write(f"\rtile {done}/{total}" + ("\n" if done == total else ""))
        sys.stderr.flush()


def _info(args) -> int:
    checked = read_checked_recipe(args.image)
    if checked is None:
        raise StudioError(f"'{args.image.name}' carries no generation recipe.")
    print(printable(format_parameters(checked.recipe)))
    if checked.skipped:
        print(f"note: unusable values left out: {', '.join(checked.skipped)}", file=sys.stderr)
    return 0



def _models(args) -> int:
    entries = [e for e in scan(configured_folders()) if args.kind is None or e.kind.value == args.kind]
    rows = [(e.kind.value, e.family_label, e.name, str(e.path) + (f"  ({e.problem})" if e.problem else ""))
            for e in entries]
    widths = [max([len(h)] + [len(row[i]) for row in rows]) for i, h in enumerate(_MODEL_COLUMNS[:3])]
    for row in [_MODEL_COLUMNS, *rows]:
        print(printable("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[3]))
    if not rows:
        print(f"(nothing found; put models in {models_dir()} or add folders in the settings)", file=sys.stderr)
    return 0


def _download(args) -> int:
    source = parse_source(args.source)
    kind = ModelKind(args.kind)
    shown = False

    def show(progress: DownloadProgress) -> None:
        nonlocal shown
        shown = True
        sys.stderr.write(f"\r{describe_progress(progress)}\033[K")
        sys.stderr.flush()

    try:
        result = download_model(source, models_dir() / kind.value, kind=kind, name=args.name, on_progress=show,
                          token=hub_token())
    except KeyboardInterrupt:
        print("\ninterrupted: what arrived is kept (as .part); run the same command to resume", file=sys.stderr)
        return 130
    finally:
        if shown:
            sys.stderr.write("\n")  # end the progress line
    print(result.path)
    print("size and sha256 checked" if result.verified else "size checked (the server gave no hash)", file=sys.stderr)
    if result.note:
        print(f"note: {result.note}", file=sys.stderr)
    return 0


_MODEL_COLUMNS = ("KIND", "FAMILY", "NAME", "PATH")
_COMMANDS = {"generate": _generate, "upscale": _upscale, "info": _info, "models": _models, "download": _download}
