"""The ``oneadapt`` command line.

Every command validates its inputs before doing any work, writes its results
atomically, and reports a user error as one line (problem, then fix) with exit code 2.
"""

from __future__ import annotations

import signal
import sys
import warnings
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from oneadapt.console import make_console, print_markdown, print_table
from oneadapt.errors import ConfigurationError, Interrupted, OneAdaptError
from oneadapt.inputs import (
    check_budget,
    check_inputs,
    check_lambda,
    check_policy,
    check_stream_budget,
    parse_budgets,
    parse_knobs,
    parse_lambdas,
    parse_policies,
    prepare,
)
from oneadapt.knobs import KnobLists, knob_types

if TYPE_CHECKING:
    from oneadapt.adapt.gradients import DNNGradSettings

app = typer.Typer(
    help="oneadapt: adapt video-analytics configurations (QP, resolution, frame rate) every "
    "second from the accuracy gradient, cutting bandwidth and DNN work at equal accuracy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
models_app = typer.Typer(help="Manage detector weights.", no_args_is_help=True)
app.add_typer(models_app, name="models")
console = make_console(stderr=True)

SourceArg = Annotated[
    str,
    typer.Argument(
        help="Video file (mp4, avi, mkv, ...), stream URL (rtsp://, http://), or the "
        "procedural street scene: scene or scene:SEED, or faces (for a face-landmark model): "
        "faces or faces:SEED; audio: a wav or flac file, or the "
        "procedural speech: speech or speech:SEED; LiDAR: a KITTI .bin scan or a directory of "
        "them, or the procedural LiDAR street: lidar or lidar:SEED."
    ),
]
ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        help="ONNX detector file (YOLOX, FastestDet, NanoDet), segmenter (DeepLab-v3 VOC) or "
        "face-landmark model (YuNet), a model name from the models directory (e.g. yolox-nano, "
        "deeplabv3, yunet), or 'builtin'; 'silero-vad' (voice activity, audio sources) or "
        "'builtin-lidar' (BEV detection, LiDAR sources). The task follows from the model.",
    ),
]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="Directory for the results.")]
SecondsOpt = Annotated[
    int | None, typer.Option("--seconds", "-s", min=1, help="Analyse only the first N seconds.")
]
AnalysisFpsOpt = Annotated[
    int,
    typer.Option(
        "--analysis-fps",
        min=1,
        max=60,
        help="Frames per second the analysis samples (the LiDAR scene: scans, at most 10).",
    ),
]
ClassesOpt = Annotated[
    str | None,
    typer.Option(
        "--classes",
        help="Comma-separated class names of the model that count for accuracy "
        "(default: those of person,bicycle,car,motorcycle,bus,truck the model knows).",
    ),
]


QpOpt = Annotated[
    str | None, typer.Option(help="QP values, e.g. 20,30,40,50 (0..51): --knob qp=... for short.")
]
ResOpt = Annotated[
    str | None,
    typer.Option(
        help="Output heights, e.g. 720,540,360 (default: source height to a quarter): "
        "--knob height=... for short."
    ),
]
FpsOpt = Annotated[
    str | None, typer.Option(help="Frame rates, e.g. 10,5,2,1: --knob fps=... for short.")
]
KnobOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--knob",
        help="A knob's values, NAME=V1,V2,... (repeatable): sets a default knob's values or "
        f"adds a knob to the space. Knobs: {', '.join(knob_types())}.",
    ),
]


def knob_lists(
    qp: str | None, res: str | None, fps: str | None, knob: list[str] | None
) -> KnobLists:
    """The knob value lists of ``--qp``, ``--res``, ``--fps`` and ``--knob``."""
    return parse_knobs({"--qp": qp, "--res": res, "--fps": fps}, knob or ())


TokenOpt = Annotated[
    str | None,
    typer.Option(
        envvar="ONEADAPT_TOKEN",
        help="Bearer token (or $ONEADAPT_TOKEN, which keeps it out of the process list).",
    ),
]
DnnGradEveryOpt = Annotated[
    int | None,
    typer.Option(
        "--dnngrad-every",
        min=1,
        help="Seconds between DNNGrad backward passes (the camera reuses the last map in "
        "between); default 1, every second, as in the original method; 2 halves the server's "
        "extra work.",
    ),
]


def existing_file(path: Path | None, option: str) -> Path | None:
    """``path`` when it is a file (a TLS PEM option); None stays None."""
    if path is not None and not path.is_file():
        raise ConfigurationError(
            f"{option} {path} does not exist.", f"Pass a PEM file to {option}."
        )
    return path


def grad_settings(every: int | None) -> DNNGradSettings:
    """DNNGrad settings for ``--dnngrad-every`` (None keeps the server's default)."""
    from oneadapt.adapt.gradients import DNNGradSettings

    return DNNGradSettings() if every is None else DNNGradSettings(interval=every)


@app.command()
def profile(
    video: SourceArg,
    model: ModelOpt,
    out: OutOpt,
    qp: QpOpt = None,
    res: ResOpt = None,
    fps: FpsOpt = None,
    knob: KnobOpt = None,
    seconds: SecondsOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
    classes: ClassesOpt = None,
) -> None:
    """Measure every configuration of the knob grid (QP x resolution x frame rate, and any
    --knob) on every second.

    Writes DIR/profile.parquet (one row per second and configuration), DIR/profile.png
    (accuracy against kbit/s, Pareto front marked) and prints the Pareto front, and for each
    knob with several values its accuracy and kbit/s at each, the other knobs at the reference.
    """
    from oneadapt.evaluate.profile import knob_table, pareto_table, write_profile_outputs
    from oneadapt.evaluate.profile import profile as run_profile

    setup = prepare(video, model, out, knob_lists(qp, res, fps, knob), analysis_fps, classes)
    with setup.out:
        df = run_profile(
            setup.source, setup.detector, setup.task, setup.space, seconds, sensor=setup.sensor
        )
        summary = write_profile_outputs(
            df,
            setup.space.names,
            setup.out.create(),
            f"{setup.source.name} · {setup.detector.model.id}",
        )
    seconds_text = f"{df['second'].nunique()} s (mean per second)"
    print_table(
        pareto_table(
            summary,
            setup.space.names,
            f"Pareto front of {setup.space.size()} configurations over {seconds_text}",
        )
    )
    print_table(knob_table(summary, setup.space, f"Each knob alone over {seconds_text}"))
    inferred = int(df["frames_inferred"].sum())
    cached = int(df["cached_frames"].sum())
    console.print(
        f"inferences: {inferred} frames, {cached} from the cache "
        f"({100.0 * cached / max(inferred, 1):.1f}%) at {setup.detector.cache.path}"
    )
    console.print(f"results in {setup.out.path}")


@app.command()
def run(
    video: SourceArg,
    model: ModelOpt,
    out: OutOpt,
    policy: Annotated[
        str,
        typer.Option(
            help="oneadapt (gradient policy), best-fixed, awstream, chameleon, reducto (needs "
            "a frame-filter --knob), accmpeg or dds (need --knob roi=...), oracle, or "
            "fixed:NAME=VALUE,... (any knobs of the source's space, the others at the reference's "
            "values; fixed:QP/HEIGHT/FPS for the video knobs)."
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
    knob: KnobOpt = None,
    seconds: SecondsOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
    classes: ClassesOpt = None,
    dnngrad_every: DnnGradEveryOpt = None,
    max_kbps: Annotated[
        float | None,
        typer.Option(
            help="Bandwidth budget for the oneadapt policy: lambda (starting at --lambda) is "
            "adapted every second so that the mean kbit/s stays within it.",
        ),
    ] = None,
) -> None:
    """Stream a video second by second through camera encode, server inference and a policy.

    Writes DIR/run.parquet (one row per second), DIR/run.png (knobs, accuracy and kbit/s
    over time; with --max-kbps the budget and the running mean) and DIR/summary.json (means).
    """
    from oneadapt.adapt.baselines import make_policy
    from oneadapt.adapt.policy import PolicyContext
    from oneadapt.evaluate.run import run_policy, write_run_outputs

    policy, lam = check_policy(policy.strip()), check_lambda(lam)
    max_kbps = check_stream_budget(max_kbps, policy)
    setup = prepare(video, model, out, knob_lists(qp, res, fps, knob), analysis_fps, classes)
    with setup.out:
        context = PolicyContext(setup.space, setup.detector, setup.task, setup.sensor)
        options = {"max_kbps": max_kbps} if max_kbps is not None else {}
        chosen = make_policy(policy, context, lam, source=setup.source, **options)
        df = run_policy(
            setup.source,
            chosen,
            setup.detector,
            setup.task,
            setup.space,
            seconds,
            grad_settings=grad_settings(dnngrad_every),
            sensor=setup.sensor,
        )
        title = f"{setup.source.name} · {policy} · lambda {lam}"
        if max_kbps is not None:
            title = f"{setup.source.name} · {policy} · budget {max_kbps:g} kbit/s"
        write_run_outputs(df, setup.out.create(), title, setup.source.regimes, max_kbps)
    means = df.mean(numeric_only=True)
    console.print(
        f"accuracy {means['accuracy']:.3f}, {means['kbps']:.1f} kbit/s, "
        f"{means['frames_inferred']:.1f} frames/s inferred over {len(df)} s"
    )
    console.print(f"results in {setup.out.path}")


@app.command()
def gradcheck(
    video: SourceArg,
    model: ModelOpt,
    out: OutOpt,
    qp: QpOpt = None,
    res: ResOpt = None,
    fps: FpsOpt = None,
    knob: KnobOpt = None,
    seconds: SecondsOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
    classes: ClassesOpt = None,
    dnngrad_every: DnnGradEveryOpt = None,
) -> None:
    """Check the gradient estimate: estimated vs measured accuracy change of one step cheaper
    on every knob, at several operating points, every second.

    Writes DIR/gradcheck.json (mean_cosine, pearson, per-knob figures, records) and
    DIR/gradcheck.png.
    """
    from oneadapt.evaluate.gradcheck import gradcheck as run_gradcheck
    from oneadapt.evaluate.gradcheck import write_gradcheck_outputs

    setup = prepare(video, model, out, knob_lists(qp, res, fps, knob), analysis_fps, classes)
    with setup.out:
        result = run_gradcheck(
            setup.source,
            setup.detector,
            setup.task,
            setup.space,
            seconds=seconds,
            settings=grad_settings(dnngrad_every),
            sensor=setup.sensor,
        )
        write_gradcheck_outputs(result, setup.out.create())
    figures = {k: result[k] for k in ("mean_cosine", "pearson")}
    console.print(
        ", ".join(
            f"{name.replace('_', ' ')} {value:.3f}"
            if value is not None
            else f"{name.replace('_', ' ')} undefined (no measured accuracy change)"
            for name, value in figures.items()
        )
    )
    console.print(f"results in {setup.out.path}")


@app.command()
def bench(
    videos: Annotated[
        list[str],
        typer.Argument(
            help="Sources, as for profile and run (video, audio or LiDAR; one kind per model)."
        ),
    ],
    model: ModelOpt,
    out: OutOpt,
    policies: Annotated[
        str,
        typer.Option(
            help="Comma-separated policies: oneadapt, best-fixed, awstream, chameleon, "
            "reducto (needs a frame-filter --knob), accmpeg, dds (need --knob roi=...), "
            "awstream@budget, chameleon@budget, reducto@budget, oracle, "
            "fixed:NAME=VALUE,... (as for run; e.g. fixed:bitrate=16000,sample_rate=8000)."
        ),
    ] = "oneadapt,best-fixed,awstream,chameleon,awstream@budget,chameleon@budget,oracle",
    lambdas: Annotated[str, typer.Option(help="Comma-separated lambda values.")] = "0.1,0.3,1",
    qp: QpOpt = None,
    res: ResOpt = None,
    fps: FpsOpt = None,
    knob: KnobOpt = None,
    seconds: SecondsOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
    classes: ClassesOpt = None,
    dnngrad_every: DnnGradEveryOpt = None,
    profiling_budget: Annotated[
        float | None,
        typer.Option(
            help="Spare inferences per second for the @budget baselines (a re-profile of P "
            "frames takes ceil(P / budget) seconds). Default: oneadapt's measured extra server "
            "work on the same video and lambda."
        ),
    ] = None,
    max_kbps: Annotated[
        str | None,
        typer.Option(
            help="Comma-separated bandwidth budgets (kbit/s): adds 'oneadapt@max-kbps', the "
            "gradient policy in budget mode, one point per budget (its 'lambda' column holds "
            "the budget).",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            help="Keep the points an earlier, interrupted bench into the same --out finished "
            "(same options) and run only the missing ones."
        ),
    ] = False,
) -> None:
    """Run every policy at every lambda over every video through the same harness.

    Writes DIR/bench.parquet, DIR/summary.json (points and matched-accuracy comparison),
    DIR/tradeoff_kbps.png, DIR/tradeoff_dnn.png and DIR/report.md; each finished
    (video, policy, lambda) point is saved in DIR/points/ as it completes.
    """
    from oneadapt.evaluate.bench import bench as run_bench

    names, lams = parse_policies(policies), parse_lambdas(lambdas)
    if profiling_budget is not None:
        profiling_budget = check_budget(profiling_budget, "--profiling-budget")
    budgets = parse_budgets(max_kbps, "--max-kbps") if max_kbps is not None else []
    knobs = knob_lists(qp, res, fps, knob)
    inputs = check_inputs(
        videos, model, out, knobs, analysis_fps, classes, seconds or 60, policies=names
    )
    with inputs.out:
        run_bench(
            inputs.sources,
            inputs.model,
            names,
            lams,
            inputs.out,
            seconds=seconds,
            analysis_fps=analysis_fps,
            knobs=inputs.knobs,
            classes=inputs.classes,
            grad_settings=grad_settings(dnngrad_every),
            profiling_budget=profiling_budget,
            max_kbps=budgets,
            resume=resume,
        )
    console.print(f"results in {out}")


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="A directory written by 'oneadapt bench'.")],
) -> None:
    """Render saved benchmark results again: DIR/report.md and the trade-off plots."""
    from oneadapt.evaluate.report import render_report

    path = render_report(directory)
    print_markdown(path.read_text())
    console.print(f"wrote {path}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the results.")] = Path(
        "oneadapt-demo"
    ),
    seconds: Annotated[int, typer.Option(min=2, help="Length of the generated scene.")] = 60,
    seed: Annotated[int, typer.Option(help="Scene seed (the model never saw 7).")] = 7,
    lambdas: Annotated[
        str, typer.Option(help="Comma-separated lambdas: one point of every curve each.")
    ] = "0.03,0.1,0.3",
    height: Annotated[int, typer.Option(min=64, max=2160, help="Scene height (16:9).")] = 360,
) -> None:
    """The main job on the embedded default: no downloads, no data needed.

    Generates a procedural street scene whose content changes every 10 to 30 s, benches the
    gradient policy against best-fixed, AWStream and Chameleon (a trade-off curve each) with
    the built-in detector, prints who needs the least bandwidth at each baseline's accuracy,
    plots oneadapt's knobs over time with the scene's regimes shaded, and names the folder
    holding the results.
    """
    from oneadapt.demo import run_demo
    from oneadapt.storage import OutputDir

    lams = parse_lambdas(lambdas)
    with OutputDir(out):
        folder = run_demo(
            out, seconds=seconds, seed=seed, lambdas=lams, height=height, console=console
        )
    console.print(f"[bold]results in {folder.resolve()}[/]")


@app.command("train-builtin")
def train_builtin(
    out: Annotated[
        Path,
        typer.Option(
            help="Where to write the weights (never the packaged ones unless named here)."
        ),
    ] = Path("builtin.pt"),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    steps: Annotated[int, typer.Option(min=1, help="Training steps (batches of 12).")] = 4000,
) -> None:
    """Train the built-in detector on the procedural scene (fixed seed, fixed step count).

    Writes the weights to --out (default ./builtin.pt), checked before training starts;
    copy them over oneadapt/models/weights/builtin.pt to ship them. The defaults reproduce
    the committed weights (python benchmarks/builtin_accuracy.py measures them).
    """
    from oneadapt.models.train_builtin import train_builtin as run_training
    from oneadapt.storage import check_output_file

    stats = run_training(check_output_file(out), seed=seed, steps=steps)
    console.print(f"trained: {stats}; weights in {out}")


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


def show_version(value: bool) -> None:
    if value:
        print(f"oneadapt {package_version('oneadapt')}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options that apply before any command (the app's help is set on ``app``)."""


def show_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    """A warning as one plain line (no source line), like an error."""
    console.print(f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True)


def interrupt(signum: int, _frame: object) -> None:
    """SIGINT and SIGTERM unwind the run, so output directories it created are removed."""
    raise Interrupted(signal.Signals(signum).name)


def main() -> None:
    """Entry point: a user error becomes one line on stderr and its kind's exit code."""
    warnings.showwarning = show_warning
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, interrupt)
    try:
        sys.exit(app(standalone_mode=False) or 0)
    except OneAdaptError as exc:
        fail(str(exc), exc.exit_code)
    except typer.TyperException as exc:  # typer's usage errors: one line, not a help panel
        ctx = getattr(exc, "ctx", None)
        hint = f" See `{ctx.command_path} --help`." if ctx is not None else ""
        fail(f"{exc.format_message().rstrip('.')}.{hint}", getattr(exc, "exit_code", 2))
    except Interrupted as exc:
        fail(f"interrupted ({exc}); nothing was left half-written.", exc.exit_code)


def fail(message: str, code: int) -> None:
    """Print one error line on stderr and exit with ``code``."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    sys.exit(code)


import oneadapt.fleet.commands  # noqa: E402, F401 (registers fleet on app)
import oneadapt.runtime.commands  # noqa: E402, F401 (registers serve and camera on app)

if __name__ == "__main__":
    main()
