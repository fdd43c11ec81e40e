"""``oneadapt serve`` and ``oneadapt camera``: the two deployed programs.

They register themselves on the main app (``oneadapt.cli`` imports this module last). The
camera command imports no torch unless its source is the procedural scene.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from oneadapt.cli import (
    AnalysisFpsOpt,
    ClassesOpt,
    DnnGradEveryOpt,
    FpsOpt,
    KnobOpt,
    ModelOpt,
    OutOpt,
    QpOpt,
    ResOpt,
    SecondsOpt,
    TokenOpt,
    app,
    console,
    existing_file,
    grad_settings,
    knob_lists,
)
from oneadapt.errors import ConfigurationError
from oneadapt.inputs import check_lambda, check_stream_budget, parse_classes
from oneadapt.knobs import ConfigSpace, parse_fixed

MetricsPortOpt = Annotated[
    int | None,
    typer.Option(min=1, max=65535, help="Serve Prometheus metrics on this port (127.0.0.1)."),
]


def stream_name(source: str) -> str:
    """A default stream id that never carries credentials (``rtsp://user:pass@host/x`` gives
    ``host/x``), since the server logs it."""
    parts = urlsplit(source)
    if not parts.hostname:
        return Path(source).stem
    return f"{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


@app.command()
def serve(
    model: ModelOpt,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="gRPC port (0: any).")] = 50051,
    token: TokenOpt = None,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate (enables TLS).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    metrics_port: MetricsPortOpt = None,
    dnngrad_every: DnnGradEveryOpt = None,
    classes: ClassesOpt = None,
    ray: Annotated[
        bool, typer.Option("--ray", help="Run the analysis as a Ray Serve deployment.")
    ] = False,
    replicas: Annotated[
        int | None, typer.Option(min=1, help="With --ray: this many replicas.")
    ] = None,
    autoscale: Annotated[
        str | None, typer.Option(help="With --ray: MIN..MAX replicas, scaled on load.")
    ] = None,
) -> None:
    """The server: receive segments from cameras over gRPC, run the model, return its
    outputs (any task's: each answer names its kind, so cameras need no task setting) and
    DNNGrad.

    Keeps DNNGrad state per stream id, so several cameras share one server; writes one JSON
    line per segment on stderr; on SIGTERM stops taking calls and drains in-flight ones.
    With --ray the same analysis runs on Ray Serve replicas behind the same gRPC API.
    """
    if (replicas is not None or autoscale is not None) and not ray:
        raise ConfigurationError(
            "--replicas and --autoscale need --ray.", "Add --ray, or drop them."
        )
    if (tls_cert is None) != (tls_key is None):
        raise ConfigurationError(
            "TLS needs both --tls-cert and --tls-key.", "Pass both, or neither."
        )
    existing_file(tls_cert, "--tls-cert")
    existing_file(tls_key, "--tls-key")
    if ray:
        from oneadapt.runtime.ray_server import RayAnalyzer, Scaling, import_ray

        scaling = Scaling.parse(replicas, autoscale)
        import_ray()
    from oneadapt.inference_cache import Detector, InferenceCache
    from oneadapt.models.registry import load_model
    from oneadapt.runtime.analyzer import Analyzer
    from oneadapt.runtime.grpc_server import ServerSettings, run_server

    detector_model = load_model(model)
    wanted = parse_classes(classes, detector_model.class_names)
    settings = ServerSettings(f"{host}:{port}", token, tls_cert, tls_key, metrics_port)
    if ray:
        remote = RayAnalyzer(model, wanted, grad_settings(dnngrad_every), scaling)
        try:
            run_server(remote, settings)
        finally:
            remote.shutdown()
        return
    task = detector_model.task(wanted)
    analyzer = Analyzer(
        Detector(detector_model, InferenceCache()), task, grad_settings(dnngrad_every)
    )
    run_server(analyzer, settings)


@app.command()
def camera(
    source: Annotated[
        str,
        typer.Argument(
            help="Video file, stream URL (rtsp://, http://), rtsp-listen://HOST:PORT/PATH "
            "(receive an RTSP stream pushed there, e.g. by ffmpeg -f rtsp) or "
            "scene:SEED[:HEIGHT]."
        ),
    ],
    server: Annotated[str, typer.Option(help="The server's HOST:PORT.")],
    out: OutOpt,
    policy: Annotated[
        str,
        typer.Option(
            help="oneadapt (the gradient policy) or fixed:NAME=VALUE,... of the video knobs "
            "(or fixed:QP/HEIGHT/FPS); the baselines that choose by accuracy against the "
            "reference cannot run on a camera."
        ),
    ] = "oneadapt",
    lam: Annotated[float, typer.Option("--lambda", help="Resource weight against accuracy.")] = 0.3,
    max_kbps: Annotated[
        float | None,
        typer.Option(help="Bandwidth budget: lambda (from --lambda) adapts to keep within it."),
    ] = None,
    seconds: SecondsOpt = None,
    realtime: Annotated[
        bool,
        typer.Option(
            help="Capture files at their own pace (without it they play as fast as read; "
            "live streams always run in real time)."
        ),
    ] = False,
    token: TokenOpt = None,
    tls_ca: Annotated[Path | None, typer.Option(help="PEM CA certificate (enables TLS).")] = None,
    stream_id: Annotated[
        str | None, typer.Option(help="Stream id on the server (default: the source's name).")
    ] = None,
    queue_size: Annotated[int, typer.Option(min=1, help="Unsent segments kept on disk.")] = 30,
    deadline: Annotated[float, typer.Option(min=0.1, help="Seconds allowed per call.")] = 30.0,
    metrics_port: MetricsPortOpt = None,
    qp: QpOpt = None,
    res: ResOpt = None,
    fps: FpsOpt = None,
    knob: KnobOpt = None,
    analysis_fps: AnalysisFpsOpt = 10,
) -> None:
    """The camera: encode a source under the policy, send it to 'oneadapt serve', adapt.

    Writes DIR/camera.parquet (one row per second, with its delivery outcome),
    DIR/outputs.parquet (the server's outputs per frame, whatever its task) and, from a
    detector, DIR/detections.parquet (one row per box); unsent seconds wait in DIR/queue.
    """
    policy = policy.strip()
    if policy.startswith("fixed:"):
        parse_fixed(policy)
    elif policy != "oneadapt":
        raise ConfigurationError(
            f"the camera cannot run policy {policy!r}: only oneadapt and fixed:... "
            "run on a camera (best-fixed, awstream, chameleon and oracle choose by accuracy "
            "against the reference configuration, which a deployed camera does not have).",
            "Use --policy oneadapt or e.g. --policy fixed:qp=30,height=240,fps=5.",
        )
    existing_file(tls_ca, "--tls-ca")
    lam = check_lambda(lam)
    max_kbps = check_stream_budget(max_kbps, policy)
    knobs = knob_lists(qp, res, fps, knob)
    from oneadapt.adapt.gradient_policy import GradientPolicy
    from oneadapt.adapt.policy import FixedPolicy, Policy, PolicyContext
    from oneadapt.media.sources import open_source
    from oneadapt.runtime.camera import Camera, CameraSettings
    from oneadapt.runtime.grpc_client import GrpcTransport
    from oneadapt.runtime.metrics import CameraMetrics
    from oneadapt.storage import prepare_output_dir

    video = open_source(source, fps=analysis_fps, scene_seconds=seconds or 60)
    space = ConfigSpace.default(video.height, analysis_fps, **knobs)
    chosen: Policy = (
        FixedPolicy(space.validate(space.fixed(parse_fixed(policy))))
        if policy.startswith("fixed:")
        else GradientPolicy(PolicyContext(space), lam, max_kbps=max_kbps)
    )
    settings = CameraSettings(stream_id or stream_name(source), realtime, queue_size)
    metrics = CameraMetrics(settings.stream_id)
    if metrics_port is not None:
        metrics.serve(metrics_port)
    transport = GrpcTransport(server, token, tls_ca, deadline)
    try:
        cam = Camera(video, chosen, space, transport, prepare_output_dir(out), settings, metrics)
        df = cam.run(seconds)
    finally:
        transport.close()
    counts = df["outcome"].value_counts().to_dict()
    console.print(
        f"{len(df)} s: {counts.get('delivered', 0)} delivered, {counts.get('late', 0)} late, "
        f"{counts.get('dropped', 0)} dropped; {df['kbps'].mean():.1f} kbit/s"
    )
    console.print(f"results in {out}")
