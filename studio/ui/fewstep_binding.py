"""Few-step presets in the window: offered when a model that is one loads, or when the prompt uses a LoRA that is
one (in the message bar, one click), and chosen from the params panel's picker at any time.

Applying a preset keeps the sampler, steps and CFG from before it; choosing "Standard" brings them back (or the
app's defaults, when the settings were already a preset's at start-up). A LoRA is offered once per session, a model on
each load; nothing is offered when its preset is already in use.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QMainWindow

from studio.core.errors import StudioError
from studio.core.extra_networks import lora_refs
from studio.core.fewstep import PRESETS, Detection, FewStepPreset, matching_preset
from studio.core.model_folders import ModelKind
from studio.core.settings import Settings

PROMPT_PAUSE_MS = 600  # the prompt is read for LoRA tags once typing pauses


class FewStepBinding:
    def __init__(self, window: QMainWindow) -> None:
        self._window = window
        self._params = window.params
        self._picker = window.params.fewstep_picker
        self._standard: tuple[str, int, float] | None = None  # the settings from before the preset
        self._offered_loras: set[str] = set()
        self._pause = QTimer(window, singleShot=True, interval=PROMPT_PAUSE_MS)
        self._pause.timeout.connect(self._look_at_loras)
        self._picker.chosen.connect(self.choose)
        window.prompts.prompt_edit.textChanged.connect(self._pause.start)
        window.prompts.negative_edit.textChanged.connect(self._pause.start)
        window.library.entries_changed.connect(lambda _entries: self._pause.start())  # a tag may name a new file
        window.session.model_loaded.connect(self._model_loaded)
        in_use = matching_preset(*self._params.sampling())
        self._picker.show_preset(in_use.key if in_use else "")

    def choose(self, key: str) -> None:
        """A preset's key, or "" for the standard settings."""
        if key:
            self.apply(PRESETS[key])
        else:
            self.restore_standard()

    def apply(self, preset: FewStepPreset) -> None:
        if not self._picker.preset_key() and self._standard is None:
            self._standard = self._params.sampling()
        self._params.set_sampling(preset.scheduler, preset.steps, preset.cfg_scale)
        self._picker.show_preset(preset.key)
        self._window.status.showMessage(
            f"{preset.label} preset: {preset.settings_text()}. Preset > Standard brings back the settings before.",
            8000)

    def restore_standard(self) -> None:
        """The settings from before the preset; the app's defaults when the preset was in use at start-up."""
        if self._standard is None and not self._picker.preset_key():
            return  # already standard
        defaults = Settings()
        standard = self._standard or (defaults.scheduler, defaults.steps, defaults.cfg_scale)
        self._standard = None
        self._params.set_sampling(*standard)
        self._picker.show_preset("")

    # -- offers --------------------------------------------------------------------------------------
    def _model_loaded(self, info) -> None:
        if info.fewstep is not None:
            self._offer(info.fewstep, "model")

    def _look_at_loras(self) -> None:
        prompts = self._window.prompts
        try:
            refs = lora_refs(prompts.prompt_edit.toPlainText(), prompts.negative_edit.toPlainText())
        except StudioError:
            return  # a tag being typed; the generate button says what is wrong with it
        for ref in refs:
            entry = self._window.library.find(ModelKind.LORA, ref.name)
            if entry is None or entry.fewstep is None or entry.name.lower() in self._offered_loras:
                continue
            self._offered_loras.add(entry.name.lower())
            self._offer(entry.fewstep, "LoRA")
            return

    def _offer(self, detection: Detection, what: str) -> None:
        preset = detection.preset
        if self._params.sampling() == (preset.scheduler, preset.steps, preset.cfg_scale):
            self._picker.show_preset(preset.key)
            return
        self._window.message_bar.show_message(detection.offer(what), "info", ("Use", lambda: self.apply(preset)))
