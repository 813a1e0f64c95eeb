"""The engine: one loaded model, requests in, images (and a preview per denoising step) out."""

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path

import torch
from PIL import Image

from studio import __version__
from studio.core import mask as maskmath
from studio.core import allocator
from studio.core.backends import (DEFAULT_OPENVINO_CACHE_GB, FP32, OPENVINO, TORCH, check_backend,
                                  check_openvino_precision, check_openvino_weights)
from studio.core import control_store
from studio.core.cancel import CancelToken
from studio.core.errors import GenerationCancelled, StudioError
from studio.core.events import Finished, StepUpdate
from studio.core.extra_networks import embeddings_in, lora_refs, resolve_loras, resolve_vae
from studio.core.fewstep import detect_source
from studio.core.hashing import SHORT_MODEL_HASH, SHORT_NETWORK_HASH, network_hash, sha256_of_file
from studio.core.hires import BUILTIN_UPSCALERS, LATENT_UPSCALERS
from studio.core.memory_plan import AUTO, PlanChoice, check_choice, choose_plan
from studio.core.model_folders import LibraryFolder, configured_folders
from studio.core.model_info import ModelInfo
from studio.core.recipe import Recipe
from studio.core.request import GenerationRequest, Mode
from studio.core.samplers import sampler_label
from studio.core.tiles import TiledRefine
from studio.core.upscaler_files import resolve_upscaler, upscaler_dirs
from studio.engine import memory, openvino_backend, passes, tiled_refine
from studio.engine.adapters import LoraAdapters
from studio.engine.control import ControlNets, make_pipeline
from studio.engine.image_prompts import ImagePrompts
from studio.engine.embeddings import TextualInversions
from studio.engine.devices import DeviceChoice, choose_device, free_memory, use_channels_last
from studio.engine.interrupt import Interrupted, interruptible
from studio.engine.loading import LoadedPipeline, check_model, load_pipeline
from studio.engine.placement import Placement, component_sizes
from studio.engine.previews import Previewer, X0Capture
from studio.engine.schedulers import default_label, make_scheduler
from studio.engine.taesd import TinyAutoencoder, find_tiny_autoencoder, missing_sentence
from studio.engine.upscalers import Upscalers
from studio.engine.vae import VaeChoice

log = logging.getLogger(__name__)

StepHandler = Callable[[StepUpdate], None]
NoticeHandler = Callable[[str], None]  # one line for the user: a fallback, a conversion


class Engine:
    """Owns one diffusers pipeline. Not thread-safe: use it from one thread (the worker's or the CLI's)."""

    def __init__(self, device: str | None = None, *, memory_plan: str = AUTO, previews: str = "auto",
                 library: Callable[[], list[LibraryFolder]] = configured_folders, backend: str = TORCH,
                 channels_last: bool = False, openvino_cache_gb: float = DEFAULT_OPENVINO_CACHE_GB,
                 draft_decode: bool = False, openvino_weights: str = FP32, openvino_precision: str = FP32) -> None:
        """``previews``: "auto" (TAESD when available and fast enough, else linear), "linear" or "off".
        ``library`` gives the model folders where ``<lora:NAME>`` tags are looked up. ``backend`` "openvino" runs
        the UNet and VAE on OpenVINO where it can (``openvino_backend``), PyTorch otherwise. ``channels_last``
        runs PyTorch's UNet and VAE in NHWC (faster; pixels within 1 level of diffusers' as it comes, not equal).
        ``memory_plan`` is one of ``core.memory_plan.PLAN_CHOICES``: "auto" picks one from the model's size and
        the free VRAM when a model loads; on the CPU every plan is "everything in RAM".

        ``openvino_cache_gb``: the size limit of OpenVINO's converted models on disk (0: none).


        ``draft_decode`` decodes the final latents with the tiny autoencoder (TAESD) when one is on disk,
        ``openvino_weights`` "int8" runs OpenVINO with NNCF-compressed weights and ``openvino_precision`` "fast"
        lets OpenVINO compute in bf16/fp16 where the hardware has it: each changes pixels, and the recipe says so."""
        self.device: DeviceChoice = choose_device(device)
        self.backend = backend
        self.draft_decode = draft_decode
        self.openvino_weights = openvino_weights
        self.openvino_precision = openvino_precision
        self._openvino = None  # started on the first OpenVINO run
        self.openvino_cache_gb = openvino_cache_gb
        self.channels_last = channels_last
        self._library = library
        self.memory_plan = memory_plan
        self.previews = previews
        self._loaded: LoadedPipeline | None = None
        self._memory: PlanChoice | None = None  # the loaded model's memory plan
        self._placement: Placement | None = None
        self._pipes: dict[tuple, object] = {}  # (mode, ids of its ControlNets) -> pipeline
        self._previewer: Previewer | None = None
        self._taesd: TinyAutoencoder | None = None
        self.upscalers = Upscalers(self.device)

    @property
    def backend(self) -> str:
        return self._backend

    @backend.setter
    def backend(self, name: str) -> None:
        self._backend = check_backend(name)

    @property
    def openvino_cache_gb(self) -> float:
        """The size limit of OpenVINO's converted models on disk (0: none); a running backend's too, from its next
        conversion on."""
        return self._openvino_cache_gb

    @openvino_cache_gb.setter
    def openvino_cache_gb(self, gb: float) -> None:
        self._openvino_cache_gb = gb
        if isinstance(self._openvino, openvino_backend.OpenVinoBackend):
            self._openvino.cache_limit = int(gb * 1e9)

    @property
    def memory_plan(self) -> str:
        """The user's choice of memory plan, applied from the next load."""
        return self._memory_plan

    @memory_plan.setter
    def memory_plan(self, choice: str) -> None:
        self._memory_plan = check_choice(choice)

    @property
    def openvino_weights(self) -> str:
        return self._openvino_weights

    @openvino_weights.setter
    def openvino_weights(self, name: str) -> None:
        self._openvino_weights = check_openvino_weights(name)

    @property
    def openvino_precision(self) -> str:
        return self._openvino_precision

    @openvino_precision.setter
    def openvino_precision(self, name: str) -> None:
        self._openvino_precision = check_openvino_precision(name)

    # -- loading -------------------------------------------------------------------------------------
    def load(self, source: str, *, config_dir: Path | None = None, allow_pickle: bool = False) -> ModelInfo:
        """Load ``source`` in place of the loaded model, which is kept when ``source`` fails the cheap checks."""
        check_model(source, allow_pickle=allow_pickle)
        self.unload()
        loaded = load_pipeline(source, self.device, config_dir=config_dir, allow_pickle=allow_pickle,
                               library=self._library)
        if self.channels_last:
            # The convolutional parts: a UNet and the VAE (a transformer is linear layers, NHWC does nothing there).
            use_channels_last(self.device, *(m for m in (getattr(loaded.pipe, "unet", None), loaded.pipe.vae) if m))
        free = free_memory(self.device.device) if self.device.accelerated else None
        self._memory = choose_plan(component_sizes(loaded.pipe), free, self.memory_plan)
        self._placement = Placement(loaded.pipe, self._memory.plan, self.device.device)
        log.info("%s", self._memory.line)
        self._loaded = loaded
        self._pipes = {}
        self._adapters = LoraAdapters(loaded.pipe)
        self._embeddings = TextualInversions(loaded.pipe)
        self._vae = VaeChoice(loaded.pipe)
        self._control = ControlNets(loaded.pipe, loaded.family, self.device.device)
        self._image_prompts = ImagePrompts(loaded.pipe)
        self._base_scheduler = loaded.pipe.scheduler
        # A few-step preset is a sampler choice: none applies to a family that runs only its own (Z-Image-Turbo).
        own_sampler = loaded.plugin.controls(loaded.pipe).own_sampler
        self._fewstep = None if own_sampler else detect_source(source, dict(self._base_scheduler.config))
        self._taesd = None
        taesd = self._tiny_autoencoder() if self.previews == "auto" else None
        self._previewer = Previewer(loaded.plugin.preview_factors(loaded.family), taesd)
        log.info("Loaded %s (%s, inpaint UNet: %s) on %s", loaded.name, loaded.family.value, loaded.inpaint_unet, self.device.device)
        return self.info

    def unload(self) -> None:
        self._loaded = None
        self._placement = None  # its hooks hold the modules
        self._openvino = None  # its compiled models hold copies of the weights, its graphs the modules
        self.upscalers.clear()
        self._pipes = {}
        self._previewer = None
        self._taesd = None
        self._control = None
        self._image_prompts = None
        memory.release_memory(self.device.device)

    @property
    def info(self) -> ModelInfo | None:
        if self._loaded is None:
            return None
        lp = self._loaded
        return ModelInfo(
            name=lp.name,
            source=lp.name,
            family=lp.family,
            inpaint_unet=lp.inpaint_unet,
            model_hash=lp.model_hash,
            default_sampler=default_label(self._base_scheduler),
            device=str(self.device.device),
            dtype=str(self.device.dtype).removeprefix("torch."),
            fewstep=self._fewstep,
            controls=lp.plugin.controls(lp.pipe),
            edits=lp.plugin.edits(lp.pipe),
            memory=self._memory,
        )

    def _pipeline(self, mode: Mode, controlnets: list | None = None):
        """The pipeline for a mode (with ``controlnets``: its ControlNet variant), sharing the loaded components
        (no copy of the weights); one ControlNet pipeline is kept, for the last set of ControlNets."""
        assert self._loaded is not None
        # A dedicated inpainting UNet needs image + mask inputs in every mode.
        if self._loaded.inpaint_unet:
            mode = Mode.INPAINT
        controlnets = controlnets or []
        key = (mode, tuple(id(net) for net in controlnets))
        if key not in self._pipes:
            base = self._loaded.pipe
            if controlnets:  # one ControlNet variant is kept: the last set's
                self._pipes = {k: pipe for k, pipe in self._pipes.items() if not k[1]}
                self._pipes[key] = make_pipeline(base, mode, controlnets)
            else:
                self._pipes[key] = self._loaded.plugin.make_pipeline(mode, base)
            self._pipes[key].set_progress_bar_config(disable=True)
        return self._pipes[key]

    # -- generating ----------------------------------------------------------------------------------
    def generate(
        self,
        request: GenerationRequest,
        on_step: StepHandler | None = None,
        cancel: CancelToken | None = None,
        on_notice: NoticeHandler | None = None,
    ) -> Finished:
        """Run ``request``; returns the images and their recipes (not saved: the caller saves them).

        Raises :class:`GenerationCancelled` when ``cancel`` is set (within one UNet block, no decode),
        :class:`StudioError` for bad requests and out-of-memory. ``on_notice`` gets each notice once per run.
        """
        if self._loaded is None:
            raise StudioError("No model is loaded yet; choose a model first.")
        request = request.with_concrete_seed()
        request.validate()
        self._loaded.plugin.check(request, self._loaded.pipe)
        networks = self._apply_networks(request)
        cancel = cancel or CancelToken()
        plan = passes.plan(request)
        self._check_plan(plan)
        controlnets = self._control.models(request.control, self._library()) if request.control else []
        self._image_prompts.apply(request.image_prompt, self._library())
        schedulers = [make_scheduler(step.request.scheduler, self._base_scheduler) for step in plan]
        progress = passes.Progress([passes.timestep_count(sch, step) for sch, step in zip(schedulers, plan)])
        images, done, ran = None, 0, {}
        notice = _once_each(on_notice)
        draft = self._draft_decoder(notice)
        for index, (step, scheduler) in enumerate(zip(plan, schedulers)):
            progress.start(index, done)
            last = index == len(plan) - 1
            images, count, how = self._run_pass(step, scheduler, images, progress, on_step, cancel, notice,
                                                controlnets, draft if last else None)
            done += count
            ran |= {field: value for field, value in how.items() if value}
        if request.mode is Mode.INPAINT:
            paste = maskmath.composite_mask(request.mask, request.mask_feather)
            images = [maskmath.composite(request.init_image, img, paste) for img in images]
        recipes = [replace(self._recipe(request, i), **networks, **ran) for i in range(len(images))]
        return Finished(images=images, recipes=recipes)

    def refine(self, image: Image.Image, request: GenerationRequest, tiling: TiledRefine,
               on_step: StepHandler | None = None, cancel: CancelToken | None = None,
               on_notice: NoticeHandler | None = None) -> Finished:
        """``image`` (an upscaled picture) refined by image-to-image at ``request.strength`` over overlapping
        tiles (see :mod:`studio.engine.tiled_refine`), one progress bar over all of them. ``request`` gives the
        prompt, seed, steps and sampler; its size and images are the tiles'. Raises like :meth:`generate`."""
        if self._loaded is None:
            raise StudioError("No model is loaded yet; choose a model first.")
        tiling = tiling.sized(self._loaded.family.native_size)
        picture = tiled_refine.TiledPicture(image, tiling)
        request = request.with_concrete_seed()
        first = passes.Pass(picture.request(0, request))  # every tile has its size, steps and strength
        networks = self._apply_networks(request)
        self._image_prompts.apply(request.image_prompt, self._library())
        cancel = cancel or CancelToken()
        count = passes.timestep_count(make_scheduler(request.scheduler, self._base_scheduler), first)
        progress = passes.Progress([count] * len(picture.tiles))
        done, ran, notice = 0, {}, _once_each(on_notice)
        draft = self._draft_decoder(notice)
        for index in range(len(picture.tiles)):
            step = first if index == 0 else passes.Pass(picture.request(index, request))
            scheduler = make_scheduler(request.scheduler, self._base_scheduler)
            progress.start(index, done)
            images, count, how = self._run_pass(step, scheduler, None, progress, picture.previews(index, on_step),
                                                cancel, notice, [], draft)
            picture.blend(index, images[0])
            done += count
            ran |= {field: value for field, value in how.items() if value}
        whole = replace(request, init_image=image, width=image.width, height=image.height, batch_size=1, hires=None)
        recipe = replace(self._recipe(whole, 0), **networks, **ran, tiled_refine=tiling)
        return Finished(images=[picture.image()], recipes=[recipe])

    def _check_plan(self, plan: list[passes.Pass]) -> None:
        """Refuse what cannot work before the first pass runs; load an upscaler model the plan names."""
        for step in plan[1:]:
            if step.upscaler not in BUILTIN_UPSCALERS:
                try:
                    resolve_upscaler(step.upscaler)
                except StudioError:
                    raise StudioError(
                        f"Unknown hires upscaler '{step.upscaler}'; choose one of: {', '.join(BUILTIN_UPSCALERS)}, "
                        f"or put an upscaler model in {upscaler_dirs()[0]}."
                    ) from None
                self.upscalers.model(step.upscaler)
            if step.upscaler in LATENT_UPSCALERS and self._loaded.inpaint_unet:
                raise StudioError("Latent hires upscalers need an ordinary model; with an inpainting model choose Lanczos.")
            if step.upscaler in LATENT_UPSCALERS and not self.info.controls.latent_hires:
                raise StudioError(f"Latent hires upscalers do not work on {self._loaded.family.label} latents; choose Lanczos.")

    def _run_pass(self, step: passes.Pass, scheduler, previous, progress: passes.Progress,
                  on_step: StepHandler | None, cancel: CancelToken, notice: NoticeHandler, controlnets: list,
                  draft: TinyAutoencoder | None = None):
        """One diffusers call: its images (or latents, for a latent upscaler next), its step count, and the recipe
        fields for how it ran (``decoder``, and OpenVINO's ``openvino_weights`` and ``openvino_precision``; "" where
        it ran as it comes). With ``draft`` the final latents are decoded by that tiny autoencoder instead of the
        VAE."""
        request = step.request
        self._placement.ensure()  # after this run's LoRAs and image prompt were loaded
        pipe = self._pipeline(step.mode, controlnets)
        self._image_prompts.attach(pipe)
        pipe.scheduler = scheduler
        if request.width * request.height > self._memory.tile_vae_from:
            pipe.vae.enable_tiling()
        else:
            pipe.vae.disable_tiling()
        capture = X0Capture(pipe.scheduler)
        plugin = self._loaded.plugin
        prompts = plugin.conditioning(pipe, request)  # this call's pipe: its text encoders may be OpenVINO's
        last = [time.perf_counter()]

        def step_end(p, i, t, tensors):
            if cancel.cancelled:
                raise Interrupted
            if on_step is not None and self.previews != "off" and capture.latest is not None:
                now = time.perf_counter()
                latent = plugin.preview_latents(capture.latest, p, request.width, request.height)
                preview = self._previewer(latent, now - last[0])
                done, total = progress.at(i + 1, p.num_timesteps)
                on_step(StepUpdate(step=done, total=total, preview=preview))
                last[0] = time.perf_counter()
            return prompts.after_step(p, i)  # new embeddings where prompt editing changes the text

        try:
            with torch.inference_mode(), self._backend_run(pipe, cancel, notice) as backend, \
                    interruptible(pipe, cancel):
                if cancel.cancelled:
                    raise Interrupted
                init = None
                if step.upscaler is not None:
                    size = (request.width, request.height)

                    def by_model(name: str, images: list[Image.Image]) -> list[Image.Image]:
                        return [self.upscalers.model(name).upscale(image, cancel=cancel) for image in images]

                    init = passes.upscale(previous, step.upscaler, size, pipe.vae_scale_factor, by_model)
                kwargs = plugin.call_arguments(self._call_arguments(request, init), request, pipe) | prompts.arguments()
                if request.control:  # the control image is "image" unless the call has an image to start from
                    kwargs |= self._control.arguments(request.control, controlnets, (request.width, request.height),
                                                      "control_image" if "image" in kwargs else "image")
                kwargs |= self._image_prompts.arguments(request.image_prompt)
                if step.latent_output or draft is not None:
                    kwargs["output_type"] = "latent"
                images = pipe(**kwargs, callback_on_step_end=step_end).images
                if draft is not None:
                    images = draft.images(self._loaded.plugin.preview_latents(images, pipe, request.width,
                                                                              request.height))
        except (Interrupted, GenerationCancelled):
            pipe.maybe_free_model_hooks()
            log.info("Generation cancelled")
            raise GenerationCancelled() from None
        except Exception as exc:
            pipe.maybe_free_model_hooks()
            if memory.is_out_of_memory(exc):
                log.exception("Out of memory")
                memory.release_memory(self.device.device)
                raise memory.out_of_memory_error(request, self.device.device) from exc
            raise
        finally:
            capture.restore()
            self._placement.release()
            allocator.release_freed_blocks()
        how = dict(decoder="TAESD" if draft is not None else "", **(backend.recipe_fields() if backend else {}))
        return images, pipe.num_timesteps, how

    def _backend_run(self, pipe, cancel: CancelToken, notice: NoticeHandler):
        """What runs the UNet, the VAE and the text encoders in this pipeline call: PyTorch, or OpenVINO's
        stand-ins. It gives the OpenVINO run's record (the weights it ran), or None."""
        if self.backend != OPENVINO:
            return nullcontext()
        if self._openvino is None:
            self._openvino = openvino_backend.start(self.device, int(self.openvino_cache_gb * 1e9))
        return self._openvino.running(pipe, cancel, notice, self.openvino_weights, self.openvino_precision)
    def _tiny_autoencoder(self) -> TinyAutoencoder | None:
        """The loaded model's TAESD, shared by previews and drafts; looked for again until one is on disk."""
        if self._taesd is None:
            self._taesd = find_tiny_autoencoder(self._loaded.family, self.device)
        return self._taesd

    def _draft_decoder(self, notice: NoticeHandler) -> TinyAutoencoder | None:
        """The tiny autoencoder that decodes this run's final latents in draft mode (None: the VAE does)."""
        if not self.draft_decode:
            return None
        taesd = self._tiny_autoencoder()
        if taesd is None:
            notice(missing_sentence(self._loaded.family))
        return taesd

    def _apply_networks(self, request: GenerationRequest) -> dict[str, str]:
        """Swap the VAE, load/unload/weigh the prompts' LoRAs and embeddings; what A1111 records of them."""
        folders = self._library()
        prompts = (request.prompt, request.negative_prompt)
        loras = resolve_loras(lora_refs(*prompts), folders)
        embeddings = embeddings_in(prompts, folders)
        vae = resolve_vae(request.vae, folders)
        if self._vae.apply(vae):
            if self.channels_last:
                use_channels_last(self.device, self._loaded.pipe.vae)
            self._placement.apply()  # the new VAE goes where the plan puts the VAE
            self._pipes = {}  # the mode pipelines hold the VAE they were made with; from_pipe is cheap
        self._adapters.apply(loras)
        self._embeddings.apply(embeddings)
        return dict(
            vae=vae.path.name if vae else "",
            vae_hash=sha256_of_file(vae.path)[:SHORT_MODEL_HASH] if vae else "",
            lora_hashes=", ".join(f"{i.ref.name}: {network_hash(i.path)[:SHORT_NETWORK_HASH]}" for i in loras),
            ti_hashes=", ".join(f"{e.path.stem}: {sha256_of_file(e.path)[:SHORT_NETWORK_HASH]}" for e in embeddings),
        )

    def _call_arguments(self, request: GenerationRequest, init=None) -> dict:
        """The pipeline's keyword arguments for ``request``; ``init`` (a later pass's input: the previous
        pass's output upscaled to the request's size, images or latents) makes it image-to-image from that."""
        generators = [torch.Generator("cpu").manual_seed(request.seed + i) for i in range(request.batch_size)]
        kwargs = dict(
            num_inference_steps=request.steps,
            guidance_scale=request.cfg_scale,
            num_images_per_prompt=request.batch_size,
            generator=generators,
            output_type="pil",
        )
        if init is not None:
            kwargs.update(image=init, strength=request.strength)
            if self._loaded.inpaint_unet:  # everything masked: the inpainting UNet refines the whole picture
                full = Image.new("L", (request.width, request.height), 255)
                kwargs.update(mask_image=full, width=request.width, height=request.height)
            return kwargs
        mode = request.mode
        if mode is Mode.TEXT_TO_IMAGE and self._loaded.inpaint_unet:
            # An inpainting UNet makes a picture from nothing when everything is masked over a blank image.
            blank = Image.new("RGB", (request.width, request.height), (127, 127, 127))
            full = Image.new("L", blank.size, 255)
            request = replace(request, init_image=blank, mask=full, strength=1.0)
            mode = Mode.INPAINT
        elif mode is Mode.IMAGE_TO_IMAGE and self._loaded.inpaint_unet:
            request = replace(request, mask=Image.new("L", request.init_image.size, 255))
            mode = Mode.INPAINT
        if mode is Mode.TEXT_TO_IMAGE:
            kwargs.update(width=request.width, height=request.height)
        elif mode is Mode.IMAGE_TO_IMAGE:
            kwargs.update(image=request.init_image, strength=request.strength)
        else:
            kwargs.update(
                image=request.init_image,
                mask_image=maskmath.dilate_to_grid(request.mask),
                strength=request.strength,
                width=request.width,
                height=request.height,
            )
        return kwargs

    def _recipe(self, request: GenerationRequest, index: int) -> Recipe:
        lp = self._loaded
        has_image = request.mode is not Mode.TEXT_TO_IMAGE
        return Recipe(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt if lp.plugin.controls(lp.pipe).negative_prompt else "",  # unused
            seed=request.seed + index,
            steps=request.steps,
            cfg_scale=request.cfg_scale,
            width=request.width,
            height=request.height,
            sampler=sampler_label(request.scheduler) if request.scheduler else default_label(self._base_scheduler),
            model=lp.name,
            model_hash=lp.model_hash,
            mode=lp.plugin.recipe_mode(request.mode, lp.pipe),
            strength=request.strength if has_image and not lp.plugin.edits(lp.pipe) else None,
            mask_feather=request.mask_feather if request.mode is Mode.INPAINT else None,
            model_family=lp.family.value,
            scheduler=request.scheduler or "",
            batch_size=request.batch_size,
            batch_index=index,
            clip_skip=request.clip_skip,
            app_version=__version__,
            hires=request.hires,
            control=tuple(replace(c, image=None, image_key=control_store.store(c.image)) for c in request.control),
            image_prompt=None if request.image_prompt is None else
            replace(request.image_prompt, image=None, image_key=control_store.store(request.image_prompt.image)),
        )


def _once_each(handler: NoticeHandler | None) -> NoticeHandler:
    """``handler`` (the log when None) called once per distinct notice: a hires run's two passes say it once."""
    said: set[str] = set()

    def notice(text: str) -> None:
        if text not in said:
            said.add(text)
            log.info("Notice: %s", text)
            if handler is not None:
                handler(text)
    return notice
