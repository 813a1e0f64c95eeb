"""The window's side of the workspace: what the canvas, the image options and the prompt look like as a
:class:`CanvasState`, putting one back, and which changes are worth a write."""

from PySide6.QtCore import QObject

from studio.core.workspace import Workspace
from studio.session.workspace import CanvasState, WorkspaceKeeper
from studio.ui.canvas import Canvas
from studio.ui.image_panel import ImagePanel
from studio.ui.prompt_panel import PromptPanel


def keep_workspace(workspace: Workspace, canvas: Canvas, prompts: PromptPanel, panel: ImagePanel,
                   parent: QObject, *parts) -> WorkspaceKeeper:
    """Restore the last saved state, then keep it up to date as the artist works. ``parts``: more panels kept
    with it (the control layers, the image prompt), each with ``state()``, ``restore(data)`` and ``changed``."""

    def snapshot() -> CanvasState:
        data = {
            "prompt": prompts.prompt_edit.toPlainText(),
            "negative_prompt": prompts.negative_edit.toPlainText(),
            "view": canvas.view_state(),
            **panel.state(),
            **{key: value for part in parts for key, value in part.state().items()},
        }
        return CanvasState(canvas.image(), canvas.mask(), data)

    keeper = WorkspaceKeeper(workspace, snapshot, parent)
    state = keeper.restore()
    if state is not None:
        _restore(state, canvas, prompts, panel)
        for part in parts:
            part.restore(state.data)
    for changed in (canvas.image_changed, canvas.mask_changed, canvas.view_changed, prompts.prompt_edit.textChanged,
                    prompts.negative_edit.textChanged, panel.changed, *(part.changed for part in parts)):
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
