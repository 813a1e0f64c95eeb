"""The window's side of the workspace: what the canvas, the image options and the prompt look like as a
:class:`CanvasState`, putting one back, and which changes are worth a write."""

from PySide6.QtCore import QObject

from studio.core.workspace import Workspace
from studio.session.workspace import CanvasState, WorkspaceKeeper
from studio.ui.canvas import Canvas
from studio.ui.control_panel import ControlPanel
from studio.ui.image_panel import ImagePanel
from studio.ui.prompt_panel import PromptPanel


def keep_workspace(workspace: Workspace, canvas: Canvas, prompts: PromptPanel, panel: ImagePanel,
                   parent: QObject, control: ControlPanel | None = None) -> WorkspaceKeeper:
    """Restore the last saved state, then keep it up to date as the artist works (the control layers too)."""

    def snapshot() -> CanvasState:
        data = {
            "prompt": prompts.prompt_edit.toPlainText(),
            "negative_prompt": prompts.negative_edit.toPlainText(),
            "view": canvas.view_state(),
            **panel.state(),
            **(control.state() if control is not None else {}),
        }
        return CanvasState(canvas.image(), canvas.mask(), data)

    keeper = WorkspaceKeeper(workspace, snapshot, parent)
    state = keeper.restore()
    if state is not None:
        _restore(state, canvas, prompts, panel)
        if control is not None:
            control.restore(state.data)
    for changed in (canvas.image_changed, canvas.mask_changed, canvas.view_changed, prompts.prompt_edit.textChanged,
                    prompts.negative_edit.textChanged, panel.changed, *([control.changed] if control else [])):
        changed.connect(keeper.changed)
    return keeper


def _restore(state: CanvasState, canvas: Canvas, prompts: PromptPanel, panel: ImagePanel) -> None:
    if state.image is not None:
        canvas.set_image(state.image, undoable=False)
        canvas.set_mask(state.mask, undoable=False)
        canvas.restore_view(state.data.get("view"))
    prompt, negative = state.data.get("prompt"), state.data.get("negative_prompt")
    if isinstance(prompt, str) and isinstance(negative, str):
        prompts.set_prompts(prompt, negative)
    panel.restore(state.data)
