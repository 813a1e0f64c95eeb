"""The main window: prompt and parameters on the left, the canvas in the middle, state in the status bar.

The window holds no generation state of its own: it binds to the :class:`Session` and turns clicks and
shortcuts into session calls. The canvas image, its mask, the view and the prompt are kept on disk as the
artist works (:class:`WorkspaceKeeper`) and come back on the next start.
"""

from pathlib import Path

from PySide6.QtCore import QByteArray, QRect, Qt, Signal
from PySide6.QtGui import QCloseEvent, QImage, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from studio.core import region as regions
from studio.core.errors import StudioError
from studio.core.model_info import ModelFamily
from studio.core.queue_store import QueueStore
from studio.core.recipe import CheckedRecipe, Recipe
from studio.core.request import GenerationRequest, Mode
from studio.core.settings import Settings, save_settings
from studio.core.tiles import TiledRefine, overlap_for
from studio.core.workspace import Workspace
from studio.session import ModelState, Result, Session
from studio.session.library import ModelLibrary
from studio.session.queue import JobQueue
from studio.ui.binding import bind
from studio.ui.canvas import Canvas, CanvasToolbar
from studio.ui.control_panel import ControlPanel
from studio.ui.image_prompt_panel import ImagePromptPanel
from studio.ui.fewstep_binding import FewStepBinding
from studio.ui.history_binding import HistoryBinding
from studio.ui.image_panel import ImagePanel
from studio.ui.library_binding import LibraryBinding
from studio.ui.menus import Menus
from studio.ui.backend_menu import BackendMenu
from studio.ui.memory_plan_menu import MemoryPlanMenu
from studio.ui.message_bar import MessageBar
from studio.ui.model_picker import ModelPicker
from studio.ui.params_panel import ParamsPanel
from studio.ui.progress_bar import GenerationProgressBar
from studio.ui.prompt_panel import PromptPanel
from studio.ui.queue_panel import QueuePanel
from studio.ui.recipe_restore import restore_notice
from studio.ui.result_bar import ResultBar
from studio.ui.results_strip import ResultsStrip
from studio.ui.status_bar import StatusBar
from studio.ui.vae_picker import VaePicker
from studio.ui.view_menu import add_view_menu
from studio.ui.workspace_binding import keep_workspace

TITLE = "Latent Studio"


class MainWindow(QMainWindow):
    closed = Signal()  # after the session has shut down and the settings are saved

    def __init__(self, session: Session, settings: Settings, workspace: Workspace, notice: str | None = None,
                 library: ModelLibrary | None = None, queue: JobQueue | None = None) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(TITLE)
        self.session = session
        session.setParent(self)
        self.settings = settings
        self.queue = queue or JobQueue(session, QueueStore(), self)
        queue_notice = self.queue.restore()

        self.model_picker = ModelPicker()
        self.library = library or ModelLibrary(parent=self)
        self.vae_picker = VaePicker(self.library)
        self.prompts = PromptPanel()
        self.params = ParamsPanel()
        self.image_panel = ImagePanel()
        self.generate_button = QPushButton("Generate", objectName="generateButton")
        self.generate_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel", objectName="cancelButton")
        self.cancel_button.setToolTip("Stop the generation (Esc); nothing is saved")
        self.progress_bar = GenerationProgressBar()
        self.message_bar = MessageBar()
        self.canvas = Canvas()
        self.canvas_toolbar = CanvasToolbar(self.canvas)
        self.control_panel = ControlPanel(self.canvas, self.library)
        self.image_prompt_panel = ImagePromptPanel(self.library)
        self.result_bar = ResultBar()
        self.results_strip = ResultsStrip()
        self._shown: Result | None = None  # the result shown over the canvas
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, objectName="mainSplitter")
        self.queue_panel = QueuePanel(self.queue, self)
        self._lay_out()
        self.menus = Menus(self, self.canvas, show_error=self.show_error,
                           show_status=lambda text: self.status.showMessage(text, 5000), picture=self._picture,
                           device=lambda: self.session.model_info.device if self.session.model_info else None)
        self.backend_menu = BackendMenu(self, self.menus.help_menu, settings, session.set_engine_options,
                                        lambda text: self.status.showMessage(text, 15000))
        self.memory_plan_menu = MemoryPlanMenu(self.backend_menu.menu, settings, session.set_memory_plan)
        self._connect()
        self.history_binding = HistoryBinding(self)
        self.view_menu = add_view_menu(self, self.menus.help_menu, [self.history_binding.dock, self.queue_panel])
        self.library_binding = LibraryBinding(self, self.view_menu, self.library, self.vae_picker)
        self._load_settings(settings)
        self.fewstep_binding = FewStepBinding(self)  # after the settings: it shows a preset they hold
        self.keeper = keep_workspace(workspace, self.canvas, self.prompts, self.image_panel, self, self.control_panel,
                                     self.image_prompt_panel)
        self.keeper.failed.connect(self.show_error)
        notices = " ".join(text for text in (notice, self.keeper.notice, queue_notice) if text)
        if notices:
            self.message_bar.show_message(notices, "info")
        self.prompts.prompt_edit.setFocus()

    # -- building ------------------------------------------------------------------------------
    def _lay_out(self) -> None:
        side = QWidget(objectName="controlPanel")
        column = QVBoxLayout(side)
        column.addWidget(QLabel("Model"))
        column.addWidget(self.model_picker)
        column.addWidget(self.vae_picker)
        column.addSpacing(6)
        column.addWidget(self._scrolling(self.prompts, self.params, self.image_panel, self.control_panel,
                                        self.image_prompt_panel), 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button, 1)
        buttons.addWidget(self.cancel_button)
        column.addLayout(buttons)
        column.addWidget(self.progress_bar)
        self.generate_button.setMinimumHeight(34)
        self.cancel_button.setMinimumHeight(34)

        stage = QWidget(objectName="stage")
        middle = QVBoxLayout(stage)
        middle.setContentsMargins(0, 0, 0, 0)
        middle.setSpacing(4)
        middle.addWidget(self.message_bar)
        middle.addWidget(self.canvas_toolbar)
        middle.addWidget(self.canvas, 1)
        middle.addWidget(self.result_bar)
        middle.addWidget(self.results_strip)

        self.splitter.addWidget(side)
        self.splitter.addWidget(stage)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.setCentralWidget(self.splitter)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.queue_panel)
        self.queue_panel.show_if_needed()

    @staticmethod
    def _scrolling(prompts: QWidget, *panels: QWidget) -> QScrollArea:
        """The prompt (taking the room there is) and the panels, scrolling when the window is short."""
        inner = QWidget()
        column = QVBoxLayout(inner)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(prompts, 1)
        for panel in panels:
            column.addSpacing(6)
            column.addWidget(panel)
        _align_labels(*(panel.layout() for panel in panels))
        scroll = QScrollArea(objectName="controlScroll", widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(inner)
        # Never narrower than its controls (no horizontal scrolling): a splitter or a dock squeezes the canvas instead.
        scroll.setMinimumWidth(inner.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width())
        return scroll

    def _connect(self) -> None:
        s = self.session
        bind(s, "status", self.status.set_model_status)
        bind(s, "model_source", self.model_picker.set_current)
        bind(s, "model_info", self._model_info_changed)
        bind(s, "last_seed", self.params.set_last_seed)
        s.model_state_changed.connect(self._model_state_changed)
        s.model_loaded.connect(self._model_loaded)
        s.model_failed.connect(self._model_failed)
        s.busy_changed.connect(self._busy_changed)
        s.progress_changed.connect(self._progress_changed)
        s.preview.connect(self._show_preview)
        s.results_changed.connect(self._results_changed)
        s.cancelled.connect(self._cancelled)
        s.error.connect(self.show_error)
        s.notice.connect(lambda text: self.message_bar.show_message(text, "info"))
        s.recipe_found.connect(self._offer_recipe)
        self.queue.error.connect(self.show_error)
        self._update_controls()

        self.model_picker.chosen.connect(s.load_model)
        self.params.size_changed.connect(self.canvas.set_generation_size)
        self.canvas.set_generation_size(*self.params.size())
        self.canvas.drop_rejected.connect(self.show_error)
        self.prompts.image_offered.connect(self.canvas.bring_in)
        self.prompts.message.connect(self.message_bar.show_message)
        self.control_panel.message.connect(self.message_bar.show_message)
        self.image_prompt_panel.message.connect(self.message_bar.show_message)
        self.canvas.image_dropped.connect(self._image_brought_in)
        self.canvas.image_changed.connect(self._canvas_changed)
        self.canvas.mask_changed.connect(self._canvas_changed)
        self.canvas.result_shown.connect(self._result_shown)
        self.image_panel.mode_changed.connect(self._show_generation_size)
        self.image_panel.changed.connect(self._show_generation_size)
        self.canvas.image_changed.connect(self._show_generation_size)
        self.image_panel.extend_button.extend.connect(self.extend_canvas)
        self.image_panel.upscale_button.upscale.connect(self.upscale_image)
        self.image_panel.upscale_button.refine.connect(self.upscale_and_refine)
        s.upscaled.connect(self._upscaled)
        self.result_bar.use_button.clicked.connect(self.use_result)
        self.result_bar.source_button.clicked.connect(self._toggle_source)
        self.results_strip.picked.connect(self.show_result)
        self._canvas_changed()
        self.generate_button.clicked.connect(self.generate)
        self.cancel_button.clicked.connect(self.queue.cancel_running)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, self.generate)
        for keys in ("Ctrl+Shift+Return", "Ctrl+Shift+Enter"):
            QShortcut(QKeySequence(keys), self, self.generate_next)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.queue.cancel_running)

    # -- actions -------------------------------------------------------------------------------
    def generate(self, first: bool = False) -> None:
        """Generate from the prompt, settings and canvas as they are now; while a job runs this queues it (at the
        end, or next with ``first``)."""
        reason = self.session.model_blocker()
        if reason is not None:
            self.status.showMessage(reason, 5000)
            return
        request = GenerationRequest(
            **self.prompts.request_fields(),
            vae=self.vae_picker.choice(),
            **self.params.request_fields(),
            **self.image_panel.request_fields(),
            control=self.control_panel.control_inputs(),
            image_prompt=self.image_prompt_panel.image_prompt(),
        )
        mode = self.image_panel.mode()
        source = self.canvas.image() if mode is not Mode.TEXT_TO_IMAGE else None
        mask = self.canvas.mask() if mode is Mode.INPAINT else None
        only_masked, padding = self.image_panel.only_masked(), self.image_panel.padding()
        queued = self.session.busy
        if not self.queue.add(request, source, mask, only_masked=only_masked, padding=padding,
                              runs=self.params.runs(), first=first):
            return
        if queued:
            self.status.showMessage(f"Queued: {self.queue.waiting()} waiting.", 5000)
        else:
            self._shown = None  # this run's results will take its place
            self.canvas.clear_overlay()  # the last result would hide this run's previews
            self.message_bar.hide()
        self._save_settings()  # what was asked for survives a crash during the run

    def generate_next(self) -> None:
        """Like :meth:`generate`, but ahead of the jobs waiting."""
        self.generate(first=True)

    def _picture(self) -> Result | QImage | None:
        """What the window shows: the result over the canvas, or the canvas image."""
        if self._shown is not None and self.canvas.showing_result():
            return self._shown
        return self.canvas.image()

    def _picture_image(self) -> QImage | None:
        picture = self._picture()
        return picture.image if isinstance(picture, Result) else picture

    def upscale_image(self, upscaler: str, scale: float) -> None:
        """The result shown (else the canvas image), upscaled by a model in the engine thread."""
        image = self._picture_image()
        if image is not None and self.session.upscale(image, upscaler, scale):
            self.message_bar.hide()

    def upscale_and_refine(self, upscaler: str, scale: float, strength: float, tile: int) -> None:
        """Upscale the picture shown, then refine it in tiles with the loaded model, the prompt and the settings
        (a result, saved with its recipe, like a generation's)."""
        image = self._picture_image()
        if image is None:
            return
        request = GenerationRequest(**self.prompts.request_fields(), vae=self.vae_picker.choice(),
                                    **self.params.request_fields() | dict(hires=None, batch_size=1, strength=strength))
        tiling = TiledRefine(upscaler=upscaler, tile_width=tile, tile_height=tile, overlap=overlap_for(tile))
        if self.session.upscale(image, upscaler, scale, refine=(request, tiling)):
            self.canvas.clear_overlay()  # the previews show the picture filling in
            self.message_bar.hide()

    def _upscaled(self, image) -> None:
        self.canvas.set_image(image)  # Ctrl+Z brings back the picture before
        self.status.showMessage(f"Upscaled to {image.width()}x{image.height()}.", 5000)

    def show_error(self, message: str) -> None:
        self.message_bar.show_message(message, "error")

    def use_result(self) -> None:
        """The result shown becomes the canvas image (the mask is kept); the previous one is one undo away."""
        if self._shown is not None and self.canvas.showing_result():
            image, self._shown = self._shown.image, None  # it is the canvas now: no result to go back to
            self.canvas.set_image(image)
            self.status.showMessage("The result is the new canvas image (Ctrl+Z goes back).", 5000)

    def extend_canvas(self, left: int, top: int, right: int, bottom: int) -> None:
        try:
            self.canvas.extend(left, top, right, bottom)
        except StudioError as exc:
            self.show_error(str(exc))

    def apply_recipe(self, recipe: Recipe, skipped: tuple[str, ...] = ()) -> None:
        """Take the prompt and settings an image was made with (not its model); ``skipped`` names the stored
        values that were unusable. What was left out or changed to fit the controls is said in the message bar."""
        self.prompts.apply_recipe(recipe)
        adjusted = self.params.apply_recipe(recipe) + self.image_panel.apply_recipe(recipe)
        self.vae_picker.set_recorded(recipe.vae)
        self.control_panel.apply_recipe(recipe)
        self.image_prompt_panel.apply_recipe(recipe)
        notice = restore_notice(skipped, adjusted)
        if notice is None:
            self.status.showMessage("Restored the prompt and settings.", 5000)
        else:
            self.message_bar.show_message(notice, "info")

    # -- session -> widgets --------------------------------------------------------------------
    def _update_controls(self) -> None:
        reason = self.session.model_blocker()
        busy = self.session.busy
        self.generate_button.setEnabled(reason is None)
        self.generate_button.setText("Queue" if busy else "Generate")
        self.generate_button.setToolTip(reason or (
            "Queue this job (Ctrl+Enter); Ctrl+Shift+Enter runs it next" if busy else "Generate (Ctrl+Enter)"))
        self.cancel_button.setEnabled(self.session.busy)
        self.model_picker.setEnabled(not self.session.busy)
        self.image_panel.upscale_button.set_refine_available(self.session.model_state is ModelState.READY)

    def _model_state_changed(self, state: ModelState) -> None:
        self._update_controls()
        if state in (ModelState.DOWNLOADING, ModelState.LOADING):
            self.progress_bar.show_busy("Loading the model...")
        else:
            self.progress_bar.show_idle("")

    def _model_loaded(self, info) -> None:
        self.message_bar.hide_error()  # a load error (or any other) is over once a model is ready
        self.backend_menu.model_loaded(info.device)
        self._save_settings()  # the model choice survives a crash

    def _model_failed(self, source: str) -> None:
        self.model_picker.forget(source)
        self._save_settings()  # nor does it come back in the list after a crash

    def _model_info_changed(self, info) -> None:
        self.prompts.set_model(info)
        self.status.set_memory_plan(info.memory.line if info is not None and info.memory else "")
        self.image_panel.set_edits(info is not None and info.edits)
        if info is None:
            self.setWindowTitle(TITLE)
            return
        self.setWindowTitle(f"{info.name} - {TITLE}")
        self.image_panel.set_native_size(info.family.native_size)
        self.params.set_family(info.family)
        self.params.set_controls(info.controls)
        self.params.set_model_sampler(info.default_sampler)
        self._show_generation_size()

    def _busy_changed(self, busy: bool) -> None:
        self._update_controls()
        if busy:
            self.progress_bar.show_waiting("Starting...")
        elif self.progress_bar.waiting:  # ended before the first step (cancelled or failed)
            self.progress_bar.show_idle("")

    def _progress_changed(self, progress) -> None:
        if progress is not None:
            self.progress_bar.show_progress(progress)

    def _results_changed(self, results: tuple[Result, ...]) -> None:
        self.results_strip.set_results(results)
        if not results:
            return
        count = len(results)
        self.status.showMessage(f"Saved {count} image{'s' if count != 1 else ''} to {results[0].path.parent}", 8000)

    def _show_preview(self, image: QImage) -> None:
        box = self.session.preview_box
        if box is not None:
            left, top, right, bottom = box
            box = QRect(left, top, right - left, bottom - top)
        self.canvas.show_preview(image, box)

    def show_result(self, result: Result) -> None:
        """Show an output over the canvas (a result just made, or one chosen in the history)."""
        self._shown = result
        self.result_bar.set_result(result.path.name)
        self.canvas.show_result(result.image)
        self._result_shown(True)  # the canvas says so only when no result was shown before
        self.status.set_saved(result.path)

    def shown_result(self) -> Result | None:
        """The result over the canvas, or the one hidden behind the source by the result bar."""
        return self._shown

    def _result_shown(self, shown: bool) -> None:
        """A result hidden behind the source keeps its bar, so that it can come back."""
        self.result_bar.set_showing(shown, self._shown is not None)

    def _toggle_source(self) -> None:
        if self.canvas.showing_result():
            self.canvas.clear_overlay()
        elif self._shown is not None:
            self.canvas.show_result(self._shown.image)

    def _cancelled(self) -> None:
        self.canvas.clear_overlay()
        self.progress_bar.show_idle("Cancelled")
        self.status.showMessage("Cancelled: nothing was saved.", 5000)

    # -- the canvas ----------------------------------------------------------------------------
    def _canvas_changed(self) -> None:
        image = self.canvas.image()
        self.image_panel.set_canvas(None if image is None else image.size(), self.canvas.mask() is not None)
        self.menus.set_has_image(image is not None)

    def _show_generation_size(self) -> None:
        """Image modes generate at the canvas image's fitted size: the greyed size fields show it."""
        mode, image = self.image_panel.mode(), self.canvas.image()
        if mode is Mode.TEXT_TO_IMAGE or image is None:
            self.params.follow_image(False)
            return
        by_mask = mode is Mode.INPAINT and self.image_panel.only_masked()  # the mask's bounds decide
        native = (self.session.model_info.family if self.session.model_info else ModelFamily.SD1).native_size
        grid = self.session.model_info.controls.size_multiple if self.session.model_info else 8
        self.params.follow_image(True, None if by_mask else regions.plan(image.size().toTuple(), None, native,
                                                                          grid=grid).size)

    def _image_brought_in(self, path: str) -> None:
        self.message_bar.hide()  # what it said was about the canvas before
        if path:
            self.session.look_for_recipe(path)

    def _offer_recipe(self, path: str, checked: CheckedRecipe) -> None:
        self.message_bar.show_message(
            f"{Path(path).name} carries the prompt and settings it was made with.",
            "info",
            ("Restore prompt and settings", lambda: self.apply_recipe(checked.recipe, checked.skipped)),
        )

    # -- settings and closing ------------------------------------------------------------------
    def _load_settings(self, settings: Settings) -> None:
        self.prompts.load(settings)
        self.params.load(settings)
        self.image_panel.load(settings)
        self.model_picker.set_recent(settings.recent_models)
        geometry = QByteArray.fromBase64(settings.window_geometry.encode("ascii"))
        if geometry.isEmpty() or not self.restoreGeometry(geometry):
            self.resize(1280, 820)
        state = QByteArray.fromBase64(settings.window_state.encode("ascii"))
        if not state.isEmpty() and self.restoreState(state):
            self.history_binding.keep_restored_width()
            self.queue_panel.show_if_needed()  # it follows the jobs, not the layout saved last time
        if len(settings.splitter_sizes) == 2 and all(size > 0 for size in settings.splitter_sizes):
            self.splitter.setSizes(settings.splitter_sizes)
        else:
            self.splitter.setSizes([360, 920])

    def _store_settings(self) -> Settings:
        settings = self.settings
        self.prompts.store(settings)
        self.params.store(settings)
        self.image_panel.store(settings)
        settings.recent_models = self.model_picker.recent()
        settings.model = self.session.model_source
        settings.window_geometry = bytes(self.saveGeometry().toBase64()).decode("ascii")
        settings.splitter_sizes = self.splitter.sizes()
        settings.window_state = bytes(self.saveState().toBase64()).decode("ascii")
        return settings

    def _save_settings(self) -> None:
        try:
            save_settings(self._store_settings())
        except OSError as exc:
            self.show_error(f"The settings could not be saved ({exc.strerror or exc}).")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self._save_settings()
        self.keeper.close()
        self.queue.closing()  # the running job, which the shutdown cancels, comes back next time
        self.session.shutdown()
        self.queue.close()
        super().closeEvent(event)
        self.closed.emit()


def _align_labels(*forms: QFormLayout) -> None:
    """One label width for several forms stacked in a column, so that their fields line up."""
    labels = [
        item.widget()
        for form in forms
        for row in range(form.rowCount())
        if (item := form.itemAt(row, QFormLayout.ItemRole.LabelRole)) is not None
    ]
    width = max(label.sizeHint().width() for label in labels)
    for label in labels:
        label.setMinimumWidth(width)
