"""The embedded-default main job: everything on the project's own scene and detector.

A fresh machine has no data and no network, so the demo generates a procedural street
scene, charts its accuracy/bandwidth trade-off with the built-in detector, and runs the
gradient policy against the best fixed configuration, all on a small knob space so it
finishes in a few minutes on two cores.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown

from oneadapt.evaluate.bench import bench
from oneadapt.evaluate.profile import pareto_table, profile, write_profile_outputs
from oneadapt.inference_cache import Detector, InferenceCache
from oneadapt.knobs import ConfigSpace, even, resolution_ladder
from oneadapt.media.scene import SceneSource
from oneadapt.models.builtin import load_builtin
from oneadapt.storage import prepare_output_dir
from oneadapt.tasks.detection import DetectionTask

DEMO_SEED = 7
"""A scene seed the built-in model was not trained on."""
DEMO_QPS = (24, 36, 48)
DEMO_SCALES = (1.0, 0.5, 0.25)
DEMO_FPS = (10, 5, 2)
PROFILE_SECONDS = 5


def run_demo(
    out: Path,
    seconds: int = 60,
    seed: int = DEMO_SEED,
    lam: float = 0.3,
    height: int = 540,
    console: Console | None = None,
) -> Path:
    """Profile the demo grid on the scene's first seconds, then bench oneadapt against
    best-fixed over the whole scene; returns the results folder."""
    console = console or Console(stderr=True)
    out = prepare_output_dir(out)
    scene = SceneSource(seed=seed, seconds=seconds, width=even(height * 16 / 9), height=height)
    heights = resolution_ladder(scene.height, DEMO_SCALES)
    model = load_builtin()
    task = DetectionTask.for_model(model.class_names)
    space = ConfigSpace.default(scene.height, scene.fps, DEMO_QPS, heights, DEMO_FPS)

    profile_seconds = min(PROFILE_SECONDS, seconds)
    console.rule(
        f"1/2 profiling {space.size()} configurations on {profile_seconds} s of {scene.name}"
    )
    df = profile(scene, Detector(model, InferenceCache()), task, space, profile_seconds)
    summary = write_profile_outputs(
        df, prepare_output_dir(out / "profile"), f"{scene.name} · {model.id}"
    )
    Console().print(pareto_table(summary, f"Pareto front on {profile_seconds} s"))

    console.rule(f"2/2 oneadapt vs best-fixed over {seconds} s at lambda {lam:g}")
    bench(
        [scene],
        model,
        ["oneadapt", "best-fixed"],
        [lam],
        out / "bench",
        seconds=seconds,
        qps=DEMO_QPS,
        heights=heights,
        fps=DEMO_FPS,
    )
    Console().print(Markdown((out / "bench" / "report.md").read_text()))
    return out
