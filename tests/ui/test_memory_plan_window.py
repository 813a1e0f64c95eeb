"""The loaded model's memory plan in the window: its label in the status bar, and why it was chosen on hover."""

from dataclasses import replace

from studio.core.memory_plan import MemoryPlan, PlanChoice
from tests.ui.conftest import TIMEOUT, wait_ready
from tests.ui.fakes import FakeEngine


def test_the_real_engine_on_the_cpu_shows_everything_in_ram(tiny_window):
    label = tiny_window.status.model_label
    assert label.text().endswith(" · cpu · everything in RAM")
    assert label.toolTip() == "Memory plan: everything in RAM (CPU)"


class _PlanningEngine(FakeEngine):
    """A fake engine that plans like the real one does for SDXL on an 8 GB card, or takes the plan it is given."""

    memory_plan = "auto"

    def load(self, source: str):
        plan = MemoryPlan.OFFLOAD if self.memory_plan == "auto" else MemoryPlan(self.memory_plan)
        choice = PlanChoice(plan, "6.5 GiB of weights, 7.4 GiB free")
        self.info = replace(super().load(source), device="cuda", memory=choice)
        return self.info


def test_a_gpu_plan_is_named_in_the_status_bar_and_explained_on_hover(open_window, tmp_path, qtbot):
    model = tmp_path / "fake-sdxl"
    model.mkdir()
    window = open_window(str(model), make_engine=_PlanningEngine)
    wait_ready(qtbot, window)
    label = window.status.model_label
    assert label.text().endswith(" · cuda · model CPU offload")
    assert label.toolTip() == "Memory plan: model CPU offload (6.5 GiB of weights, 7.4 GiB free)"


def test_choosing_a_plan_in_the_engine_menu_keeps_it_and_loads_the_model_again(open_window, tmp_path, qtbot):
    model = tmp_path / "fake-sdxl"
    model.mkdir()
    window = open_window(str(model), make_engine=_PlanningEngine)
    wait_ready(qtbot, window)
    menu = window.memory_plan_menu
    assert [a.text() for a in menu.menu.actions()] == [
        "Automatic (from the model's size and the free GPU memory)", "Everything on the GPU",
        "Text encoders offloaded after encoding", "Model CPU offload", "Sequential CPU offload"]
    assert menu.actions["auto"].isChecked()
    menu.actions["sequential"].trigger()
    qtbot.waitUntil(lambda: window.status.model_label.text().endswith(" · sequential CPU offload"), timeout=TIMEOUT)
    assert menu.actions["sequential"].isChecked() and window.settings.memory_plan == "sequential"
