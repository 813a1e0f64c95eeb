"""The window's figures: launch time against importing torch, GUI-thread responsiveness during a generation,
and the delay from Generate to the first preview on screen against the engine's own first step.

Everything Qt runs in fresh child processes with ``QT_QPA_PLATFORM=offscreen``, a throw-away ``STUDIO_HOME``
and ``HF_HUB_OFFLINE=1`` (so previews are the linear 1/8-size ones unless a TAESD is in the Hugging Face cache; the
report prints their size):
- ``tests.bench.gui_launch``: the window started like ``run_gui`` does, timed to its first completed paint;
- ``tests.bench.gui_generate``: the real window generating with the SD 1.5-architecture model (random weights)
  saved by ``build_sd15``, driven by this process one command at a time.
The engine alone is the window's own engine, called directly (in the engine thread, with the window's request) in
rounds alternating with the window's: this shared 2-core machine's speed drifts by a factor of 2-3 within minutes
when other work runs, fresh processes loading the same model differed by up to 50% even on a quiet machine, and
the same engine's UNet ran ~25% slower when called from a thread other than the one that loaded it; so only
figures taken close together, in one process and one thread, are compared.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Targets from the "Benchmarks" section of the main-window issue.
LAUNCH_RATIO_TARGET = 0.25
MAX_GAP_TARGET_MS = 50.0
MEDIAN_GAP_TARGET_MS = 15.0
PREVIEW_OVERHEAD_TARGET_MS = 100.0

# The request the window sends (gui_generate sets its controls to these values, with the steps and size asked).
REQUEST = dict(prompt="a castle on a hill at dawn, detailed oil painting", negative_prompt="", seed=1, steps=2,
               cfg_scale=7.0, width=512, height=512, scheduler="euler", batch_size=1)


def _env(home: str) -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "STUDIO_HOME": home, "HF_HUB_OFFLINE": "1"}


# -- 1. launch ----------------------------------------------------------------------------------------
def _import_time(env) -> float:
    """Wall time of ``python -c "import torch, diffusers"``, from spawn to exit."""
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "import torch, diffusers"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def _launch_time(env, model: str | None = None) -> dict:
    """From spawning ``gui_launch`` to the main window's first completed paint (reported by the child)."""
    start = time.monotonic()
    args = [sys.executable, "-m", "tests.bench.gui_launch", repr(start)] + ([model] if model else [])
    done = subprocess.run(args, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_launch(rounds: int, model: str | None) -> dict:
    """Alternating rounds of: import torch+diffusers, the window with no model, the window loading ``model``.

    One discarded round first, so that every side starts from a warm page cache.
    """
    imports, shown, shown_model, torch_at_show, torch_at_show_model = [], [], [], [], []
    for index in range(rounds + 1):
        with tempfile.TemporaryDirectory() as home:
            env = _env(home)
            t_import = _import_time(env)
            plain = _launch_time(env)
            with_model = _launch_time(env, model) if model else None
        if index == 0:
            continue
        imports.append(t_import)
        shown.append(plain["shown_s"])
        torch_at_show.append(plain["torch_imported"])
        if with_model:
            shown_model.append(with_model["shown_s"])
            torch_at_show_model.append(with_model["torch_imported"])
    figures = {
        "rounds": rounds,
        "import_s": statistics.median(imports),
        "shown_s": statistics.median(shown),
        "launch_ratio": statistics.median(s / i for s, i in zip(shown, imports)),
        "torch_imported_at_show": any(torch_at_show),
        "all_import_s": imports,
        "all_shown_s": shown,
    }
    if shown_model:
        figures["shown_with_model_s"] = statistics.median(shown_model)
        figures["launch_with_model_ratio"] = statistics.median(s / i for s, i in zip(shown_model, imports))
        figures["all_shown_with_model_s"] = shown_model
        figures["torch_imported_at_show_with_model"] = any(torch_at_show_model)
    return figures


# -- 2 and 3. the window generating, and the engine alone ---------------------------------------------
class WindowChild:
    """``gui_generate`` in a child process: the real window with the model loaded and warmed up."""

    def __init__(self, folder: str, steps: int, size: int, home: str) -> None:
        self._stderr = tempfile.TemporaryFile("w+")
        args = [sys.executable, "-u", "-m", "tests.bench.gui_generate", folder, str(steps), str(size)]
        self._process = subprocess.Popen(args, env=_env(home), cwd=ROOT, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=self._stderr, text=True)
        self.ready = self._answer()  # {"ready": true, "idle": {...}}: loaded, idle measured, warm-up done

    def _answer(self) -> dict:
        for line in self._process.stdout:
            if line.startswith("BENCH "):
                return json.loads(line[len("BENCH "):])
        self._stderr.seek(0)
        raise RuntimeError(f"gui_generate ended ({self._process.wait()}):\n{self._stderr.read()[-4000:]}")

    @property
    def pid(self) -> int:
        return self._process.pid

    def ask(self, command: str) -> dict:
        self._process.stdin.write(command + "\n")
        self._process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        self._process.stdin.close()  # the child closes its window and exits
        self._process.wait(timeout=120)
        self._stderr.close()


class CpuWatch:
    """The share of the machine's CPU time that other processes (not this one, not ``pid``) used meanwhile.

    From /proc (Linux): all CPUs' busy jiffies minus this process's and the child's own.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.others = 0.0

    @staticmethod
    def _machine() -> tuple[int, int]:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(values), sum(values) - values[3] - values[4]  # all, busy (not idle or iowait)

    @staticmethod
    def _process(pid: int | str) -> int:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime, all threads

    def _sample(self) -> tuple[int, int, int]:
        total, busy = self._machine()
        return total, busy, self._process("self") + self._process(self.pid)

    def __enter__(self) -> "CpuWatch":
        self._start = self._sample()
        return self

    def __exit__(self, *exc) -> None:
        total, busy, ours = (b - a for a, b in zip(self._start, self._sample()))
        self.others = max(busy - ours, 0) / total if total else 0.0


def preview_figures(raw: dict) -> dict:
    """Generate -> first preview painted, and its parts, from one window run."""
    click = raw["click"]
    generate = next(t for kind, t in raw["engine"] if kind == "generate")
    first_step = next(t for kind, t in raw["engine"] if kind == "step")
    first_preview = raw["previews"][0][0]
    return {
        "on_screen_s": raw["first_paint"] - click,
        "dispatch_ms": (generate - click) * 1000,
        "engine_first_step_s": first_step - generate,
        "delivery_ms": (first_preview - first_step) * 1000,
        "paint_ms": (raw["first_paint"] - first_preview) * 1000,
        "overhead_ms": (raw["first_paint"] - click - (first_step - generate)) * 1000,
        "gui_cpu_ms": raw["gui_cpu_s"] * 1000,
        "bar_paints_per_s": raw["bar_paints"] / (raw["first_paint"] - click),
    }


def _phase(t: float, generate: float, steps: list[float], returned: float) -> str:
    if t <= generate:
        return "click -> engine called"
    if not steps or t <= steps[0]:
        return "prompt encoding + step 1"
    for index, step in enumerate(steps[1:], start=2):
        if t <= step:
            return f"step {index}"
    if t <= returned:
        return "VAE decode"
    return "saving + showing the result"


def responsiveness_figures(raw: dict) -> dict:
    """The 10 ms timer's ticks from the last one before the click to the first one after the session was idle."""
    click, idle = raw["click"], raw["idle"]
    engine = raw["engine"]
    generate = next(t for kind, t in engine if kind == "generate")
    steps = [t for kind, t in engine if kind == "step"]
    returned = next(t for kind, t in engine if kind == "returned")
    ticks = raw["ticks"]
    before = [t for t in ticks if t < click]
    after = [t for t in ticks if t > idle]
    span = before[-1:] + [t for t in ticks if click <= t <= idle] + after[:1]
    gaps = [(b - a, a) for a, b in zip(span, span[1:])]
    worst = sorted(gaps, reverse=True)[:5]
    return {
        "ticks": len(span),
        "max_gap_ms": worst[0][0] * 1000,
        "median_gap_ms": statistics.median(g for g, _ in gaps) * 1000,
        "worst_gaps": [(g * 1000, a - click, _phase(a + g / 2, generate, steps, returned)) for g, a in worst],
        "run_s": idle - click,
        "click_handler_ms": (raw["click_returned"] - click) * 1000,
        "step_times_s": [b - a for a, b in zip([generate] + steps, steps)],
        "decode_s": returned - steps[-1],
        "previews": len(raw["previews"]),
        "preview_size": raw["previews"][0][1],
        "results": raw["results"],
        "gui_cpu_share": raw["gui_cpu_s"] / (idle - click),
    }


def run_generation(folder: str, steps: int, size: int, pairs: int) -> dict:
    """``pairs`` rounds of (the window: Generate -> first preview painted, then cancelled; the same engine alone:
    first step, cancelled), then one whole generation through the window with the GUI timer ticking."""
    expected = {**REQUEST, "steps": steps, "width": size, "height": size}
    window_runs, engine_runs, engine_others = [], [], []
    with tempfile.TemporaryDirectory() as home:
        window = WindowChild(folder, steps, size, home)
        try:
            for _ in range(pairs):
                with CpuWatch(window.pid) as watch:
                    raw = window.ask("preview")
                if raw["request"] != expected:
                    raise RuntimeError(f"the window sent {raw['request']}, not {expected}")
                window_runs.append({**preview_figures(raw), "others": watch.others})
                with CpuWatch(window.pid) as watch:
                    engine_runs.append(window.ask("engine")["first_step_s"])
                engine_others.append(watch.others)
            with CpuWatch(window.pid) as watch:
                full = window.ask("full")
            full_others = watch.others
            idle = window.ready["idle"]
        finally:
            window.close()
    on_screen = [w["on_screen_s"] for w in window_runs]
    return {
        "pairs": pairs,
        "preview_on_screen_s": statistics.median(on_screen),
        "engine_first_step_s": statistics.median(engine_runs),
        "preview_overhead_ms": statistics.median((w - e) * 1000 for w, e in zip(on_screen, engine_runs)),
        "all_preview_on_screen_s": on_screen,
        "all_engine_first_step_s": engine_runs,
        "others_window": [w["others"] for w in window_runs],
        "others_engine": engine_others,
        **{f"window_{key}": statistics.median(w[key] for w in window_runs)
           for key in ("dispatch_ms", "engine_first_step_s", "delivery_ms", "paint_ms", "overhead_ms", "gui_cpu_ms",
                       "bar_paints_per_s")},
        **responsiveness_figures(full),
        "others_full": full_others,
        "idle_gui_cpu_share": idle["gui_cpu_share"],
        "idle_bar_paints_per_s": idle["bar_paints_per_s"],
        "full_run_preview": preview_figures(full),
    }


def run(steps: int = 2, size: int = 512, rounds: int = 3, pairs: int = 3) -> dict:
    from tests.bench.sd15 import build_sd15

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        folder = str(Path(tmp) / "sd15-random")
        build_sd15(folder)  # the returned pipeline is dropped at once: the children load the saved folder
        launch = run_launch(rounds, folder)
        generation = run_generation(folder, steps, size, pairs)
    return {"steps": steps, "size": size, **launch, **generation, "load_average": (load_before, os.getloadavg()[0])}


# -- the report --------------------------------------------------------------------------------------
def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def _seconds(values) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _shares(values) -> str:
    return ", ".join(f"{v:.0%}" for v in values)


def report(f: dict) -> str:
    launch = (
        f"main window, SD1.5 architecture (random weights), CPU ({os.cpu_count()} cores, 1-min load average "
        f"{f['load_average'][0]:.1f} at start, {f['load_average'][1]:.1f} at end), offscreen Qt\n"
        f"launch (fresh processes, {f['rounds']} alternating rounds after a discarded one, medians)\n"
        f"  window shown (spawn -> first paint done) : {f['shown_s']:.2f} s   (torch imported at show: "
        f"{'yes' if f['torch_imported_at_show'] else 'no'})\n"
        f"  python -c 'import torch, diffusers'      : {f['import_s']:.2f} s (spawn -> exit)\n"
        f"  ratio shown/import                       : {f['launch_ratio']:.3f}   (target <= {LAUNCH_RATIO_TARGET}) "
        f"{_mark(f['launch_ratio'] <= LAUNCH_RATIO_TARGET)}\n"
    )
    if "shown_with_model_s" in f:
        launch += (
            f"  shown while a model loads (--model)      : {f['shown_with_model_s']:.2f} s, ratio "
            f"{f['launch_with_model_ratio']:.3f}, torch imported at show: "
            f"{'yes' if f['torch_imported_at_show_with_model'] else 'no'}   (no target; a returning user's start)\n"
        )
    worst = "; ".join(f"{g:.0f} ms at {at:+.2f} s ({phase})" for g, at, phase in f["worst_gaps"][:3])
    responsiveness = (
        f"generation through the window: {f['size']}x{f['size']}, {f['steps']} steps (Euler, CFG 7), batch 1, warm; "
        f"{f['run_s']:.1f} s click -> saved and idle\n"
        f"  (engine steps {_seconds(f['step_times_s'])} s, the first with prompt encoding; VAE decode "
        f"{f['decode_s']:.1f} s; {f['previews']} previews of {f['preview_size'][0]}x{f['preview_size'][1]})\n"
        f"  10 ms GUI timer: {f['ticks']} ticks\n"
        f"  largest gap                              : {f['max_gap_ms']:.1f} ms   (target < {MAX_GAP_TARGET_MS:.0f}) "
        f"{_mark(f['max_gap_ms'] < MAX_GAP_TARGET_MS)}\n"
        f"  median gap                               : {f['median_gap_ms']:.1f} ms   (target < "
        f"{MEDIAN_GAP_TARGET_MS:.0f}) {_mark(f['median_gap_ms'] < MEDIAN_GAP_TARGET_MS)}\n"
        f"  largest gaps (time from click)           : {worst}\n"
        f"  the click's own handler on the GUI thread: {f['click_handler_ms']:.1f} ms\n"
        f"  GUI thread CPU time during the run       : {f['gui_cpu_share']:.2%} of one core\n"
        f"  other processes' share of the CPU        : {f['others_full']:.0%}\n"
        f"  idle window after the model loaded       : GUI thread {f['idle_gui_cpu_share']:.2%} of one core, progress "
        f"bar painted {f['idle_bar_paints_per_s']:.0f} times/s   (no target)\n"
    )
    # What the window adds to the engine's first step: its latency outside the step (click -> engine, step ->
    # GUI, painting), plus at most the CPU time its GUI thread took meanwhile from the engine's cores. Both come
    # from the same run, so they are exact; the engine alone in another run differs from it by the machine's
    # run-to-run spread (several hundred ms on an 11 s step here), which is reported as a cross-check.
    bound = f["window_overhead_ms"] + f["window_gui_cpu_ms"]
    spread = max(f["all_engine_first_step_s"]) - min(f["all_engine_first_step_s"])
    preview = (
        f"first preview ({f['pairs']} rounds, each the window then its engine alone, medians; warm)\n"
        f"  Generate -> first preview painted        : {f['preview_on_screen_s']:.3f} s   "
        f"({_seconds(f['all_preview_on_screen_s'])}; other processes used {_shares(f['others_window'])} of the CPU)\n"
        f"  in the window, same run                  : click -> engine {f['window_dispatch_ms']:.1f} ms + engine first "
        f"step {f['window_engine_first_step_s']:.3f} s + step -> GUI {f['window_delivery_ms']:.1f} ms + -> painted "
        f"{f['window_paint_ms']:.1f} ms\n"
        f"  GUI thread CPU from click to painted     : {f['window_gui_cpu_ms']:.0f} ms (the most it can have taken from "
        f"the engine's cores); progress bar painted {f['window_bar_paints_per_s']:.0f} times/s meanwhile\n"
        f"  first preview after the first step       : <= {bound:.0f} ms   (latency {f['window_overhead_ms']:.1f} ms + "
        f"GUI CPU {f['window_gui_cpu_ms']:.0f} ms; target <= {PREVIEW_OVERHEAD_TARGET_MS:.0f}) "
        f"{_mark(bound <= PREVIEW_OVERHEAD_TARGET_MS)}\n"
        f"  cross-check, engine alone: first step    : {f['engine_first_step_s']:.3f} s   "
        f"({_seconds(f['all_engine_first_step_s'])}; spread {spread * 1000:.0f} ms; other processes used "
        f"{_shares(f['others_engine'])}); window minus engine alone, median of the rounds: "
        f"{f['preview_overhead_ms']:+.0f} ms\n"
    )
    return launch + responsiveness + preview
