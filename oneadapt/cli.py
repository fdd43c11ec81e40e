"""The ``oneadapt`` command line.

Every command validates its inputs before doing any work, writes its results
atomically, and reports a user error as one line (problem, then fix) with exit code 2.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from oneadapt.errors import OneAdaptError

if TYPE_CHECKING:
    from oneadapt.adapt.gradients import DNNGradSettings
    from oneadapt.inference_cache import Detector
    from oneadapt.knobs import ConfigSpace
    from oneadapt.media.sources import Source
    from oneadapt.tasks.detection import DetectionTask

app = typer.Typer(
    help="oneadapt: adapt video-analytics configurations (QP, resolution, frame rate) every "
    "second from the accuracy gradient, cutting bandwidth and DNN work at equal accuracy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="Manage detector weights.", no_args_is_help=True)
app.add_typer(models_app, name="models")
console = Console(stderr=True)

SourceArg = Annotated[
    str, typer.Argument(help="Video file (mp4, avi, mkv, ...) or stream URL (rtsp://, http://).")
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="ONNX detector file (YOLOX, FastestDet, NanoDet), a model name from "
        "the models directory (e.g. yolox-nano), or 'builtin'.",
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Directory for the results.")]
SecondsOpt = Annotated[
    int | None, typer.Option("--seconds", "-s", min=1, help="Analyse only the first N seconds.")
]
AnalysisFpsOpt = Annotated[
    int,
    typer.Option("--analysis-fps", min=1, max=60, help="Frames per second the analysis samples."),
]
ClassesOpt = Annotated[
    str, typer.Option("--classes", help="Comma-separated class names that count for accuracy.")
]


def int_list(text: str | None, name: str) -> list[int] | None:
    """Parse a comma-separated knob value list such as ``20,30,40``."""
    if not text:
        return None
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise OneAdaptError(
            f"--{name} {text!r} is not a comma-separated list of integers.",
            f"Write e.g. --{name} 20,30,40.",
        ) from None


QpOpt = Annotated[str | None, typer.Option(help="QP values, e.g. 20,30,40,50 (0..51).")]
ResOpt = Annotated[
    str | None,
    typer.Option(help="Output heights, e.g. 720,540,360 (default: source height to a quarter)."),
]
FpsOpt = Annotated[str | None, typer.Option(help="Frame rates, e.g. 10,5,2,1.")]
DEFAULT_CLASS_LIST = "person,bicycle,car,motorcycle,bus,truck"
DnnGradEveryOpt = Annotated[
    int | None,
    typer.Option(
        "--dnngrad-every",
        min=1,
        help="Seconds between DNNGrad backward passes (the camera reuses the last map in "
        "between); 1 is the original method; default: the server's (2, half the extra work).",
    ),
]


def grad_settings(every: int | None) -> DNNGradSettings:
    """DNNGrad settings for ``--dnngrad-every`` (None keeps the server's default)."""
    from oneadapt.adapt.gradients import DNNGradSettings

    return DNNGradSettings() if every is None else DNNGradSettings(interval=every)


@dataclass
class Setup:
    """Everything a measuring command needs, validated before any work starts."""

    source: Source
    space: ConfigSpace
    detector: Detector
    task: DetectionTask
    out: Path


def prepare(
    video: str,
    model: str,
    out: Path,
    qp: str | None = None,
    res: str | None = None,
    fps: str | None = None,
    analysis_fps: int = 10,
    classes: str = DEFAULT_CLASS_LIST,
    scene_seconds: int = 60,
) -> Setup:
    """Open the source, build the knob space, load the model, check the output directory."""
    from oneadapt.inference_cache import Detector, InferenceCache
    from oneadapt.knobs import ConfigSpace
    from oneadapt.media.sources import open_source
    from oneadapt.models.registry import load_model
    from oneadapt.storage import prepare_output_dir
    from oneadapt.tasks.detection import DetectionTask

    qps, heights, rates = int_list(qp, "qp"), int_list(res, "res"), int_list(fps, "fps")
    source = open_source(video, fps=analysis_fps, scene_seconds=scene_seconds)
    space = ConfigSpace.default(source.height, analysis_fps, qps, heights, rates)
    detector_model = load_model(model)
    task = DetectionTask.for_model(detector_model.class_names, classes.split(","))
    out = prepare_output_dir(out)
    return Setup(source, space, Detector(detector_model, InferenceCache()), task, out)


@app.command()
def profile(
    video: SourceArg,
    model: ModelOpt,
    out: OutOpt,
    qp: QpOpt = None,
    res: ResOpt = None,
    fps: FpsOpt = None,
    seconds: SecondsOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
    classes: ClassesOpt = DEFAULT_CLASS_LIST,
) -> None:
    """Measure every configuration of a QP x resolution x frame-rate grid on every second.

    Writes DIR/profile.parquet (one row per second and configuration), DIR/profile.png
    (accuracy against kbit/s, Pareto front marked) and prints the Pareto front.
    """
    from oneadapt.evaluate.profile import pareto_table, write_profile_outputs
    from oneadapt.evaluate.profile import profile as run_profile

    setup = prepare(video, model, out, qp, res, fps, analysis_fps, classes)
    df = run_profile(setup.source, setup.detector, setup.task, setup.space, seconds)
    summary = write_profile_outputs(
        df, setup.out, f"{setup.source.name} · {setup.detector.model.id}"
    )
    Console().print(
        pareto_table(
            summary,
            f"Pareto front of {setup.space.size()} configurations over "
            f"{df['second'].nunique()} s (mean per second)",
        )
    )
    inferred = int(df["frames_inferred"].sum())
    cached = int(df["cached_frames"].sum())
    console.print(
        f"inferences: {inferred} frames, {cached} from the cache "
        f"({100.0 * cached / max(inferred, 1):.1f}%) at {setup.detector.cache.path}"
    )
    console.print(f"results in {setup.out}")


@app.command()
def run(
    video: SourceArg,
    model: ModelOpt,
    out: OutOpt,
    policy: Annotated[
        str,
        typer.Option(
            help="oneadapt (gradient policy), best-fixed, awstream, chameleon, oracle or "
            "fixed:QP/HEIGHT/FPS."
        ),
    ] = "oneadapt",
    lam: Annotated[
        float,
        typer.Option(
            "--lambda",
            min=0.0,
            help="Weight of resource (fraction of the reference's bytes and "
            "frames) against accuracy; larger saves more.",
        ),
    ] = 0.3,
    qp: QpOpt = None,
    res: ResOpt = None,
    fps: FpsOpt = None,
    seconds: SecondsOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
    classes: ClassesOpt = DEFAULT_CLASS_LIST,
    dnngrad_every: DnnGradEveryOpt = None,
) -> None:
    """Stream a video second by second through camera encode, server inference and a policy.

    Writes DIR/run.parquet (one row per second), DIR/run.png (knobs, accuracy and kbit/s
    over time) and DIR/summary.json (means).
    """
    from oneadapt.adapt.baselines import make_policy
    from oneadapt.adapt.policy import PolicyContext
    from oneadapt.evaluate.run import run_policy, write_run_outputs

    setup = prepare(video, model, out, qp, res, fps, analysis_fps, classes)
    context = PolicyContext(setup.space, setup.detector, setup.task)
    chosen = make_policy(policy, context, lam, source=setup.source)
    df = run_policy(
        setup.source,
        chosen,
        setup.detector,
        setup.task,
        setup.space,
        seconds,
        grad_settings=grad_settings(dnngrad_every),
    )
    title = f"{setup.source.name} · {policy} · lambda {lam}"
    write_run_outputs(df, setup.out, title, setup.source.regimes)
    means = df.mean(numeric_only=True)
    console.print(
        f"accuracy {means['accuracy']:.3f}, {means['kbps']:.1f} kbit/s, "
        f"{means['frames_inferred']:.1f} frames/s inferred over {len(df)} s"
    )
    console.print(f"results in {setup.out}")


@app.command()
def gradcheck(
    video: SourceArg,
    model: ModelOpt,
    out: OutOpt,
    qp: QpOpt = None,
    res: ResOpt = None,
    fps: FpsOpt = None,
    seconds: SecondsOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
    classes: ClassesOpt = DEFAULT_CLASS_LIST,
    dnngrad_every: DnnGradEveryOpt = None,
) -> None:
    """Check the gradient estimate: estimated vs measured accuracy change of one step cheaper
    on every knob, at several operating points, every second.

    Writes DIR/gradcheck.json (mean_cosine, pearson, per-knob figures, records) and
    DIR/gradcheck.png.
    """
    from oneadapt.evaluate.gradcheck import gradcheck as run_gradcheck
    from oneadapt.evaluate.gradcheck import write_gradcheck_outputs

    setup = prepare(video, model, out, qp, res, fps, analysis_fps, classes)
    result = run_gradcheck(
        setup.source,
        setup.detector,
        setup.task,
        setup.space,
        seconds=seconds,
        settings=grad_settings(dnngrad_every),
    )
    write_gradcheck_outputs(result, setup.out)
    figures = {k: result[k] for k in ("mean_cosine", "pearson")}
    console.print(
        ", ".join(
            f"{name.replace('_', ' ')} {value:.3f}"
            if value is not None
            else f"{name.replace('_', ' ')} undefined (no measured accuracy change)"
            for name, value in figures.items()
        )
    )
    console.print(f"results in {setup.out}")


@app.command()
def bench(
    videos: Annotated[list[str], typer.Argument(help="Video files, stream URLs or scene:SEED.")],
    model: ModelOpt,
    out: OutOpt,
    policies: Annotated[
        str,
        typer.Option(
            help="Comma-separated policies: oneadapt, best-fixed, awstream, chameleon, oracle, "
            "fixed:QP/HEIGHT/FPS."
        ),
    ] = "oneadapt,best-fixed,awstream,chameleon,oracle",
    lambdas: Annotated[str, typer.Option(help="Comma-separated lambda values.")] = "0.1,0.3,1",
    qp: QpOpt = None,
    res: ResOpt = None,
    fps: FpsOpt = None,
    seconds: SecondsOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
    classes: ClassesOpt = DEFAULT_CLASS_LIST,
    dnngrad_every: DnnGradEveryOpt = None,
) -> None:
    """Run every policy at every lambda over every video through the same harness.

    Writes DIR/bench.parquet, DIR/summary.json (points and matched-accuracy comparison),
    DIR/tradeoff_kbps.png, DIR/tradeoff_dnn.png and DIR/report.md.
    """
    from oneadapt.evaluate.bench import bench as run_bench

    try:
        lams = [float(v) for v in lambdas.split(",") if v.strip()]
    except ValueError:
        raise OneAdaptError(
            f"--lambdas {lambdas!r} is not a list of numbers.", "Write e.g. --lambdas 0.1,0.3,1."
        ) from None
    if not lams or any(v < 0 for v in lams):
        raise OneAdaptError(
            f"--lambdas {lambdas!r} needs values >= 0.", "Write e.g. --lambdas 0.1,0.3,1."
        )
    run_bench(
        videos,
        model,
        [p.strip() for p in policies.split(",") if p.strip()],
        lams,
        out,
        seconds=seconds,
        analysis_fps=analysis_fps,
        qps=int_list(qp, "qp"),
        heights=int_list(res, "res"),
        fps=int_list(fps, "fps"),
        classes=classes.split(","),
        grad_settings=grad_settings(dnngrad_every),
    )
    console.print(f"results in {out}")


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="A directory written by 'oneadapt bench'.")],
) -> None:
    """Render saved benchmark results again: DIR/report.md and the trade-off plots."""
    from oneadapt.evaluate.report import render_report

    path = render_report(directory)
    from rich.markdown import Markdown

    Console().print(Markdown(path.read_text()))
    console.print(f"wrote {path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the results.")] = Path(
        "oneadapt-demo"
    ),
    seconds: Annotated[int, typer.Option(min=2, help="Length of the generated scene.")] = 60,
    seed: Annotated[int, typer.Option(help="Scene seed (the model never saw 7).")] = 7,
    lam: Annotated[float, typer.Option("--lambda", min=0.0, help="Resource weight.")] = 0.3,
    height: Annotated[int, typer.Option(min=64, max=2160, help="Scene height (16:9).")] = 540,
) -> None:
    """The main job on the embedded default: no downloads, no data needed.

    Generates a procedural street scene, profiles a small grid with the built-in detector
    (accuracy against kbit/s, Pareto front), then runs the gradient policy against the best
    fixed configuration, and names the folder holding the results.
    """
    from oneadapt.demo import run_demo

    folder = run_demo(out, seconds=seconds, seed=seed, lam=lam, height=height, console=console)
    console.print(f"[bold]results in {folder.resolve()}[/]")


@app.command("train-builtin")
def train_builtin(
    out: Annotated[Path | None, typer.Option(help="Where to write the weights.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    steps: Annotated[int, typer.Option(min=1, help="Training steps (batches of 12).")] = 4000,
) -> None:
    """Train the built-in detector on the procedural scene (fixed seed, fixed step count).

    Overwrites the packaged weights unless --out is given. The defaults reproduce the
    committed weights (python benchmarks/builtin_accuracy.py measures them).
    """
    from oneadapt.models.train_builtin import WEIGHTS_PATH
    from oneadapt.models.train_builtin import train_builtin as run_training

    stats = run_training(out or WEIGHTS_PATH, seed=seed, steps=steps)
    console.print(f"trained: {stats}")


@models_app.command("pull")
def models_pull(
    name: Annotated[str, typer.Argument(help="Known model name, e.g. yolox-nano.")],
    url: Annotated[str | None, typer.Option(help="Download from this URL instead.")] = None,
    sha256: Annotated[str | None, typer.Option(help="Expected SHA-256 of the file.")] = None,
) -> None:
    """Download public weights into the models directory ($ONEADAPT_MODELS), atomically."""
    from oneadapt.models.pull import pull

    path = pull(name, url=url, sha256=sha256)
    console.print(f"saved {path}")


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()  # usage errors are reported by typer itself, exit code 2
    except OneAdaptError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


import oneadapt.runtime.commands  # noqa: E402, F401 (registers serve and camera on app)

if __name__ == "__main__":
    main()
