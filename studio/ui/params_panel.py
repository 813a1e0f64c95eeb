"""Generation parameters: seed, steps, CFG, size, scheduler, few-step preset, batch size, runs and hires fix."""

from PySide6.QtCore import QSignalBlocker, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QWidget,
)

from studio.core.model_info import FamilyControls, ModelFamily
from studio.core.recipe import Recipe
from studio.core.request import MAX_BATCH, MAX_SEED, MAX_SIDE
from studio.core.samplers import SAMPLER_LABELS, scheduler_from_label
from studio.core.settings import Settings
from studio.session.queue import MAX_RUNS
from studio.ui.fewstep_picker import FewStepPicker
from studio.ui.hires_group import HiresGroup
from studio.ui.recipe_restore import set_within
from studio.ui.sizes import foreign_preset, native_sizes, size_label

MAX_STEPS = 500
MODEL_DEFAULT = "Model default"
SIZE_TIP = "Sizes the model was trained around; other sizes may repeat or stretch subjects."
FOLLOWS_IMAGE = "The size follows the canvas image."


class SideSpinBox(QSpinBox):
    """An image side in pixels: steps of 8, and a typed value is rounded to the nearest multiple of 8."""

    def __init__(self) -> None:
        super().__init__()
        self.setRange(64, MAX_SIDE)
        self.setSingleStep(8)
        self.setSuffix(" px")
        self.setAccelerated(True)

    def validate(self, text: str, pos: int):
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Acceptable and self.valueFromText(text) % 8:
            state = QValidator.State.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        digits = "".join(ch for ch in text if ch.isdigit())
        if not digits:
            return text
        value = min(max(round(int(digits) / 8) * 8, self.minimum()), self.maximum())
        return self.textFromValue(value)


SAMPLER_TIP = "The sampler. LCM only suits LCM models."
OWN_SAMPLER_TIP = "This model family uses its own sampler, {} (FlowMatchEulerDiscreteScheduler); it cannot be changed."


class ParamsPanel(QWidget):
    size_changed = Signal(int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._last_seed: int | None = None
        self._own_size: tuple[int, int] | None = None  # the text-to-image size, kept while the size follows an image
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.seed_spin = QDoubleSpinBox(objectName="seedSpin", decimals=0, minimum=0, maximum=MAX_SEED)
        self.seed_spin.setToolTip("The seed decides the starting noise: same seed and settings, same image.")
        self.random_seed_check = QCheckBox("Random", objectName="seedRandomCheck")
        self.random_seed_check.setToolTip("Pick a new seed for every generation (the seed used is shown here).")
        self.reuse_seed_button = QToolButton(objectName="reuseSeedButton", text="↺ Last")
        self.reuse_seed_button.setToolTip("Reuse the last seed (and keep it fixed).")
        self.reuse_seed_button.setEnabled(False)
        form.addRow("Seed", _row(self.seed_spin, self.random_seed_check, self.reuse_seed_button))

        self.steps_spin = QSpinBox(objectName="stepsSpin", minimum=1, maximum=MAX_STEPS)
        self.steps_spin.setToolTip("Denoising steps: more is slower and usually cleaner.")
        self.cfg_spin = QDoubleSpinBox(objectName="cfgSpin", decimals=1, minimum=0.0, maximum=50.0, singleStep=0.5)
        self.cfg_label = QLabel("CFG", objectName="cfgLabel")
        form.addRow("Steps", _row(self.steps_spin, self.cfg_label, self.cfg_spin))

        self.size_combo = QComboBox(objectName="sizeCombo")
        self.size_combo.setToolTip(SIZE_TIP)
        form.addRow("Size", self.size_combo)
        self.width_spin = SideSpinBox()
        self.width_spin.setObjectName("widthSpin")
        self.height_spin = SideSpinBox()
        self.height_spin.setObjectName("heightSpin")
        self.swap_button = QToolButton(objectName="swapSizeButton", text="⇄")
        self.swap_button.setToolTip("Swap width and height.")
        self._size_row = _row(self.width_spin, QLabel("×"), self.height_spin, self.swap_button)
        form.addRow("", self._size_row)

        self.scheduler_combo = QComboBox(objectName="schedulerCombo")
        self.scheduler_combo.addItem(MODEL_DEFAULT, "")
        for name, label in SAMPLER_LABELS.items():
            self.scheduler_combo.addItem(label, name)
        self.scheduler_combo.setToolTip(SAMPLER_TIP)
        form.addRow("Sampler", self.scheduler_combo)
        self.fewstep_picker = FewStepPicker()
        form.addRow("Preset", self.fewstep_picker)

        self.batch_spin = QSpinBox(objectName="batchSpin", minimum=1, maximum=MAX_BATCH)
        self.batch_spin.setToolTip("Images per generation (seeds seed, seed+1, ...).")
        self.runs_spin = QSpinBox(objectName="runsSpin", minimum=1, maximum=MAX_RUNS)
        self.runs_spin.setToolTip("Run this many times: one queued job each, the seeds going on from run to run.")
        form.addRow("Batch", _row(self.batch_spin, QLabel("Runs"), self.runs_spin))

        self.hires_group = HiresGroup()
        form.addRow(self.hires_group)

        self._controls: FamilyControls | None = None
        self.set_family(ModelFamily.SD1)
        self.set_controls(FamilyControls())
        self.random_seed_check.toggled.connect(self.seed_spin.setDisabled)
        self.reuse_seed_button.clicked.connect(self._reuse_seed)
        self.size_combo.activated.connect(self._pick_size)
        self.swap_button.clicked.connect(self._swap)
        for spin in (self.width_spin, self.height_spin):
            spin.valueChanged.connect(self._size_edited)

    # -- settings ------------------------------------------------------------------------------
    def load(self, settings: Settings) -> None:
        self.seed_spin.setValue(min(max(settings.seed, 0), MAX_SEED))
        self.random_seed_check.setChecked(settings.random_seed)
        self.seed_spin.setDisabled(settings.random_seed)
        self.steps_spin.setValue(settings.steps)
        self.cfg_spin.setValue(settings.cfg_scale)
        self.set_size(settings.width, settings.height)
        index = self.scheduler_combo.findData(settings.scheduler)
        self.scheduler_combo.setCurrentIndex(max(index, 0))
        self.batch_spin.setValue(settings.batch_size)
        self.runs_spin.setValue(settings.runs)
        self.hires_group.load(settings)

    def store(self, settings: Settings) -> None:
        settings.random_seed = self.random_seed_check.isChecked()
        settings.seed = int(self.seed_spin.value())
        settings.steps = self.steps_spin.value()
        settings.cfg_scale = self.cfg_spin.value()
        settings.width, settings.height = self.size()
        settings.scheduler = self.scheduler_combo.currentData()
        settings.batch_size = self.batch_spin.value()
        settings.runs = self.runs_spin.value()
        self.hires_group.store(settings)

    # -- what a request needs ------------------------------------------------------------------
    def request_fields(self) -> dict:
        width, height = self.size()
        return dict(
            seed=None if self.random_seed_check.isChecked() else int(self.seed_spin.value()),
            steps=self.steps_spin.value(),
            cfg_scale=self.cfg_spin.value(),
            width=width,
            height=height,
            scheduler=(self.scheduler_combo.currentData() or None) if self.scheduler_combo.isEnabled() else None,
            batch_size=self.batch_spin.value(),
            hires=self.hires_group.hires(),
        )

    def sampling(self) -> tuple[str, int, float]:
        """The sampler ("" = the model's own), steps and CFG: what a few-step preset replaces."""
        return self.scheduler_combo.currentData(), self.steps_spin.value(), self.cfg_spin.value()

    def set_sampling(self, scheduler: str, steps: int, cfg_scale: float) -> None:
        self.scheduler_combo.setCurrentIndex(max(self.scheduler_combo.findData(scheduler), 0))
        self.steps_spin.setValue(steps)
        self.cfg_spin.setValue(cfg_scale)
    def runs(self) -> int:
        """How many jobs one Generate queues."""
        return self.runs_spin.value()

    def size(self) -> tuple[int, int]:
        """The text-to-image size (not the one shown while the size follows an image)."""
        return self._own_size or (self.width_spin.value(), self.height_spin.value())

    def set_size(self, width: int, height: int) -> None:
        if self._own_size is not None:
            self._own_size = (width, height)
            return
        self.width_spin.setValue(width)
        self.height_spin.setValue(height)

    def apply_recipe(self, recipe: Recipe) -> list[str]:
        """Take a recipe's seed, steps, CFG and sampler, and its size when it made an image from text; return
        what had to be changed to fit the controls (see :func:`set_within`)."""
        adjusted: list[str] = []
        if 0 <= recipe.seed <= MAX_SEED:
            self.random_seed_check.setChecked(False)
            self.seed_spin.setValue(recipe.seed)
        elif recipe.seed != -1:
            adjusted.append(f"Seed {recipe.seed} (beyond {MAX_SEED}: a random seed is used)")
        set_within(self.steps_spin, recipe.steps, "Steps", adjusted)
        set_within(self.cfg_spin, recipe.cfg_scale, "CFG scale", adjusted)
        scheduler = recipe.scheduler or scheduler_from_label(recipe.sampler) or ""
        index = self.scheduler_combo.findData(scheduler)
        if index < 0:
            adjusted.append(f"Sampler '{scheduler}' (not available: the model's own is used)")
        self.scheduler_combo.setCurrentIndex(max(index, 0))
        if recipe.mode == "txt2img":
            set_within(self.width_spin, round(recipe.width / 8) * 8, "Width", adjusted)
            set_within(self.height_spin, round(recipe.height / 8) * 8, "Height", adjusted)
            self.hires_group.apply(recipe.hires)
        return adjusted

    def follow_image(self, on: bool, size: tuple[int, int] | None = None) -> None:
        """With an image to work from, the generation size follows it: the size controls are off and show
        ``size``, the size that will be used ("—" when the mask decides it, at the start)."""
        for widget, tip in ((self.size_combo, SIZE_TIP), (self._size_row, "")):
            widget.setEnabled(not on)
            widget.setToolTip(FOLLOWS_IMAGE if on else tip)
        self.hires_group.follow_image(on)
        if on and self._own_size is None:
            self._own_size = self.size()
        elif not on and self._own_size is not None:
            own, self._own_size = self._own_size, None
            for spin in (self.width_spin, self.height_spin):
                spin.setSpecialValueText("")
            self.set_size(*own)
            self._size_edited()  # the size list shows the user's size again, even if the spins kept their values
            return
        if on:
            with QSignalBlocker(self.width_spin), QSignalBlocker(self.height_spin), QSignalBlocker(self.size_combo):
                for spin, value in zip((self.width_spin, self.height_spin), size or (None, None)):
                    spin.setSpecialValueText("—" if value is None else "")  # shown at the minimum
                    spin.setValue(spin.minimum() if value is None else value)
                index = self.size_combo.findData(_size_key(*size)) if size else -1
                self.size_combo.setCurrentIndex(index if index >= 0 else self.size_combo.count() - 1)

    # -- the model and the last run ------------------------------------------------------------
    def set_family(self, family: ModelFamily) -> None:
        """Offer ``family``'s native sizes; a preset size of another family becomes this family's native square."""
        sizes = native_sizes(family)
        self.size_combo.clear()
        for width, height in sizes:
            self.size_combo.addItem(size_label(width, height), _size_key(width, height))
        self.size_combo.addItem("Custom", "")
        if foreign_preset(self.size(), family):
            self.set_size(*sizes[0])
        self._size_edited()

    def set_controls(self, controls: FamilyControls) -> None:
        """Show the loaded family's controls: what its guidance is called and whether it applies, whether the
        sampler can be chosen. A change of family puts its pipeline's defaults in (guidance and steps)."""
        changed = self._controls is not None and controls != self._controls
        self._controls = controls
        self.cfg_label.setText(controls.guidance_label)
        self.cfg_spin.setToolTip(controls.guidance_tip)
        self.cfg_spin.setEnabled(controls.guidance_used)
        self.scheduler_combo.setEnabled(not controls.own_sampler)
        self.hires_group.allow_latent(controls.latent_hires)
        self.scheduler_combo.setToolTip(OWN_SAMPLER_TIP.format(controls.own_sampler) if controls.own_sampler
                                        else SAMPLER_TIP)
        if changed:
            self.cfg_spin.setValue(controls.default_guidance)
            self.steps_spin.setValue(controls.default_steps)

    def set_model_sampler(self, label: str | None) -> None:
        self.scheduler_combo.setItemText(0, f"{MODEL_DEFAULT} ({label})" if label else MODEL_DEFAULT)

    def set_last_seed(self, seed: int | None) -> None:
        """Remember the seed of the last run; in random mode the seed box shows it."""
        self._last_seed = seed
        self.reuse_seed_button.setEnabled(seed is not None)
        if seed is not None and self.random_seed_check.isChecked():
            self.seed_spin.setValue(seed)

    def _reuse_seed(self) -> None:
        if self._last_seed is not None:
            self.random_seed_check.setChecked(False)
            self.seed_spin.setValue(self._last_seed)

    def _pick_size(self, index: int) -> None:
        key = self.size_combo.itemData(index)
        if key:
            self.set_size(*map(int, key.split("x")))

    def _swap(self) -> None:
        width, height = self.size()
        self.set_size(height, width)

    def _size_edited(self) -> None:
        if self._own_size is not None:
            return  # the spins show the image's size, not the user's
        index = self.size_combo.findData(_size_key(*self.size()))
        self.size_combo.setCurrentIndex(index if index >= 0 else self.size_combo.count() - 1)
        self.hires_group.set_base_size(*self.size())
        self.size_changed.emit(*self.size())


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget, 1 if isinstance(widget, (QSpinBox, QDoubleSpinBox)) else 0)
    return row


def _size_key(width: int, height: int) -> str:
    return f"{width}x{height}"
