"""The ``oneadapt`` command line.

Every command validates its inputs before doing any work, writes its results
atomically, and reports a user error as one line (problem, then fix) with exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from oneadapt.errors import OneAdaptError

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


@app.command()
def profile(
    video: SourceArg,
    model: ModelOpt,
    out: OutOpt,
    qp: Annotated[str | None, typer.Option(help="QP values, e.g. 20,30,40,50 (0..51).")] = None,
    res: Annotated[
        str | None,
        typer.Option(
            help="Output heights, e.g. 720,540,360 (default: source height down to a quarter)."
        ),
    ] = None,
    fps: Annotated[str | None, typer.Option(help="Frame rates, e.g. 10,5,2,1.")] = None,
    seconds: SecondsOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
    classes: ClassesOpt = "person,bicycle,car,motorcycle,bus,truck",
) -> None:
    """Measure every configuration of a QP x resolution x frame-rate grid on every second.

    Writes DIR/profile.parquet (one row per second and configuration), DIR/profile.png
    (accuracy against kbit/s, Pareto front marked) and prints the Pareto front.
    """
    from oneadapt.evaluate.profile import profile as run_profile
    from oneadapt.evaluate.profile import write_profile_outputs
    from oneadapt.inference_cache import Detector, InferenceCache
    from oneadapt.knobs import ConfigSpace
    from oneadapt.media.sources import open_source
    from oneadapt.models.registry import load_model
    from oneadapt.storage import prepare_output_dir
    from oneadapt.tasks.detection import DetectionTask

    qps, heights, rates = int_list(qp, "qp"), int_list(res, "res"), int_list(fps, "fps")
    source = open_source(video, fps=analysis_fps)
    space = ConfigSpace.default(source.height, analysis_fps, qps, heights, rates)
    detector_model = load_model(model)
    task = DetectionTask.for_model(detector_model.class_names, classes.split(","))
    out = prepare_output_dir(out)
    cache = InferenceCache()
    df = run_profile(source, Detector(detector_model, cache), task, space, seconds)
    summary = write_profile_outputs(df, out, f"{source.name} · {detector_model.id}")

    table = Table(
        title=f"Pareto front of {space.size()} configurations over "
        f"{df['second'].nunique()} s (mean per second)"
    )
    for col in ("QP", "height", "fps", "accuracy", "kbit/s", "frames/s", "DNN s/s"):
        table.add_column(col, justify="right")
    for r in summary[summary["pareto"]].itertuples():
        table.add_row(
            str(r.qp),
            str(r.height),
            str(r.fps),
            f"{r.accuracy:.3f}",
            f"{r.kbps:.1f}",
            f"{r.frames_inferred:.1f}",
            f"{r.dnn_seconds:.3f}",
        )
    Console().print(table)
    inferred = int(df["frames_inferred"].sum())
    cached = int(df["cached_frames"].sum())
    console.print(
        f"inferences: {inferred} frames, {cached} from the cache "
        f"({100.0 * cached / max(inferred, 1):.1f}%) at {cache.path}"
    )
    console.print(f"results in {out}")


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


if __name__ == "__main__":
    main()
