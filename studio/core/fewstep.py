"""Few-step models (LCM, SDXL-Turbo, SDXL-Lightning, Hyper-SD): the sampler, steps and CFG each one needs, and
how a model file says that it is one.

Distilled models give mush or burnt colours at the usual 25 steps and CFG 7. The published settings:

- LCM and LCM-LoRA: the LCM scheduler, 2-8 steps, CFG off or 1-2 (diffusers' LCM guide);
- SDXL-Turbo and SD-Turbo: 1-4 steps, CFG 0, Euler a with "trailing" timesteps (diffusers' SDXL Turbo guide);
- SDXL-Lightning: Euler with trailing timesteps, CFG off, the step count the file was distilled for (2, 4 or 8;
  ByteDance's model card);
- Hyper-SD: DDIM with trailing timesteps, CFG off, its step count (1-12); its "CFG" LoRAs keep CFG 5-8.

diffusers runs no CFG at all for a scale of 1 or less (one UNet call per step); 1 is what A1111 users type for
"off". What a file is, is read from (in this order, and the detection says which): its own metadata
(``modelspec.*`` and kohya's ``ss_*`` names), a diffusers folder's scheduler config, and last its name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from studio.core.errors import StudioError
from studio.core.model_header import read_header
from studio.core.samplers import sampler_label


@dataclass(frozen=True)
class FewStepPreset:
    key: str  # what ``studio generate --preset`` takes
    label: str
    scheduler: str  # one of core.samplers' names
    steps: int
    cfg_scale: float
    step_range: tuple[int, int]  # the step counts the family is made for

    def with_steps(self, steps: int | None) -> FewStepPreset:
        """This preset at ``steps`` (the count a file names) when the family runs at that many."""
        low, high = self.step_range
        return replace(self, steps=steps) if steps is not None and low <= steps <= high else self

    def settings_text(self) -> str:
        cfg = "CFG 0 (no CFG)" if self.cfg_scale == 0 else f"CFG {self.cfg_scale:g}"
        return f"{sampler_label(self.scheduler)}, {self.steps} step{'s' if self.steps != 1 else ''}, {cfg}"


PRESETS: dict[str, FewStepPreset] = {
    preset.key: preset
    for preset in (
        FewStepPreset("lcm", "LCM", "lcm", 4, 1.0, (2, 8)),
        FewStepPreset("turbo", "SDXL-Turbo", "euler_a_trailing", 1, 0.0, (1, 4)),
        FewStepPreset("lightning", "SDXL-Lightning", "euler_trailing", 4, 1.0, (1, 8)),
        FewStepPreset("hyper", "Hyper-SD", "ddim_trailing", 4, 1.0, (1, 12)),
    )
}
HYPER_CFG_SCALE = 5.0  # Hyper-SD's "CFG-preserved" LoRAs: 5-8

# Words that name each family, checked in this order (a "Lightning" merge of a Turbo model is Lightning).
_NAMES = (
    ("lightning", re.compile(r"lightning")),
    ("hyper", re.compile(r"hyper[-_ ]?sd|(?<![a-z])hyper(?![a-z])")),  # not "hyperrealistic"
    ("lcm", re.compile(r"(?<![a-z])lcm|lcm(?![a-z])")),
    ("turbo", re.compile(r"turbo")),
)
_STEPS = re.compile(r"(\d+)[-_ ]?steps?(?![a-z])")
_CFG = re.compile(r"(?<![a-z])cfg(?![a-z])")
# The metadata that names a file (not kohya's ss_sd_model_name: a LoRA trained on a Turbo base is not Turbo).
METADATA_KEYS = ("modelspec.title", "modelspec.tags", "modelspec.description", "ss_output_name", "name")


@dataclass(frozen=True)
class Detection:
    preset: FewStepPreset  # with the step count the file names, when it names one
    source: str  # "metadata", "scheduler config" or "name": where the clue was found
    clue: str  # the text that gave it away

    def describe(self, what: str) -> str:
        """"This looks like an SDXL-Turbo model (why)": ``what`` is "model" or "LoRA"."""
        article = "an" if self.preset.label[0] in "AEFILMNORSX" else "a"  # an LCM, an SDXL-Turbo, a Hyper-SD
        return f"This looks like {article} {self.preset.label} {what} ({self._why()})"

    def offer(self, what: str) -> str:
        """The question the window asks next to its [Use] button."""
        return f"{self.describe(what)}: use {self.preset.settings_text()}?"

    def _why(self) -> str:
        if self.source == "metadata":
            return f"its metadata says '{self.clue}'"
        if self.source == "scheduler config":
            return f"its scheduler is {self.clue}"
        return f"going by its name '{self.clue}'"


def detect_text(text: str) -> FewStepPreset | None:
    """The preset a name or title asks for, with the step count (and for Hyper-SD, CFG) it names."""
    lowered = text.lower()
    key = next((key for key, pattern in _NAMES if pattern.search(lowered)), None)
    if key is None:
        return None
    steps = _STEPS.search(lowered)
    preset = PRESETS[key].with_steps(int(steps.group(1)) if steps else None)
    if key == "hyper" and _CFG.search(lowered):
        preset = replace(preset, cfg_scale=HYPER_CFG_SCALE)
    return preset


def detect(name: str, metadata: Mapping[str, str] | None = None,
           scheduler_config: Mapping | None = None) -> Detection | None:
    """What a model called ``name`` is, from its metadata first, then its scheduler config, then its name."""
    for key in METADATA_KEYS:
        text = (metadata or {}).get(key, "")
        preset = detect_text(text) if text else None
        if preset is not None:
            return Detection(preset, "metadata", text.strip())
    from_scheduler = _scheduler_preset(scheduler_config or {})
    if from_scheduler is not None:
        preset, clue = from_scheduler
        return Detection(preset.with_steps(_named_steps(name)), "scheduler config", clue)
    preset = detect_text(name)
    return Detection(preset, "name", name) if preset is not None else None


def detect_source(source: str, scheduler_config: Mapping | None = None) -> Detection | None:
    """What a model the user loads is: a ``.safetensors`` file (its metadata), a diffusers folder (its scheduler
    config), or a hub id (its name, and ``scheduler_config``: the loaded pipeline's). Reads one header or one
    small JSON file; never raises."""
    path = Path(source).expanduser()
    metadata = None
    config = None if path.exists() else scheduler_config
    try:
        if path.is_file() and path.suffix.lower() == ".safetensors":
            metadata = read_header(path).metadata
        elif path.is_dir():
            config = folder_scheduler_config(path)
    except (StudioError, OSError):
        pass
    name = path.stem if path.is_file() else path.name if path.is_dir() else source
    return detect(name, metadata, config)


def folder_scheduler_config(folder: Path) -> dict:
    """A diffusers folder's ``scheduler/scheduler_config.json``; {} when it has none that can be read."""
    try:
        config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return {}
    return config if isinstance(config, dict) else {}


def matching_preset(scheduler: str | None, steps: int, cfg_scale: float) -> FewStepPreset | None:
    """The preset these settings are, if they are one (a window restarted with a preset in use shows it)."""
    return next((p for p in PRESETS.values()
                 if p.scheduler == scheduler and p.step_range[0] <= steps <= p.step_range[1]
                 and abs(p.cfg_scale - cfg_scale) < 1e-6), None)


def _scheduler_preset(config: Mapping) -> tuple[FewStepPreset, str] | None:
    """What a shipped scheduler says: LCM's own scheduler, or trailing Euler a (SDXL-Turbo's) or Euler (Lightning's)."""
    cls = str(config.get("_class_name", ""))
    if cls == "LCMScheduler":
        return PRESETS["lcm"], cls
    if config.get("timestep_spacing") == "trailing":
        if cls == "EulerAncestralDiscreteScheduler":
            return PRESETS["turbo"], f"{cls} with trailing timesteps"
        if cls == "EulerDiscreteScheduler":
            return PRESETS["lightning"], f"{cls} with trailing timesteps"
    return None


def _named_steps(name: str) -> int | None:
    found = _STEPS.search(name.lower())
    return int(found.group(1)) if found else None
