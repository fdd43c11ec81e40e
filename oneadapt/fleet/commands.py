"""``oneadapt fleet``: many cameras, one uplink budget, one coordinator (and its dashboard).

Registers itself on the main app (``oneadapt.cli`` imports this module last). Like
``oneadapt camera`` it imports no torch unless a source is the procedural scene.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from oneadapt.cli import AnalysisFpsOpt, OutOpt, SecondsOpt, TokenOpt, app, console, existing_file
from oneadapt.errors import ConfigurationError
from oneadapt.inputs import check_budget, check_lambda


@app.command()
def fleet(
    sources: Annotated[
        list[str],
        typer.Argument(help="Video files, stream URLs or scene:SEED[:HEIGHT], one per camera."),
    ],
    server: Annotated[str, typer.Option(help="The server's HOST:PORT.")],
    max_kbps: Annotated[float, typer.Option(help="Uplink budget of the whole fleet (kbit/s).")],
    out: OutOpt,
    rule: Annotated[
        str,
        typer.Option(
            help="shared-price (one lambda for all streams) or equal-split (each stream holds "
            "budget / streams with its own lambda)."
        ),
    ] = "shared-price",
    lam: Annotated[
        float, typer.Option("--lambda", help="Starting lambda of every stream's policy.")
    ] = 0.3,
    seconds: SecondsOpt = None,
    realtime: Annotated[
        bool, typer.Option(help="Capture at the sources' own pace (files play as fast as read).")
    ] = False,
    wait: Annotated[
        float,
        typer.Option(
            min=0.1, help="Seconds a round waits for a camera that has not reported (retrying)."
        ),
    ] = 5.0,
    dashboard_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Serve the live dashboard on 127.0.0.1:PORT."),
    ] = None,
    token: TokenOpt = None,
    tls_ca: Annotated[Path | None, typer.Option(help="PEM CA certificate (enables TLS).")] = None,
    deadline: Annotated[float, typer.Option(min=0.1, help="Seconds allowed per call.")] = 30.0,
    analysis_fps: AnalysisFpsOpt = 10,
) -> None:
    """A fleet of cameras against 'oneadapt serve', sharing one bandwidth budget.

    Every second the coordinator sets each camera's trade-off (one price for a kbit/s
    across the fleet, or an equal split) so that the total stays within --max-kbps.
    Streams join and leave at run time through the dashboard's API (POST /api/streams,
    DELETE /api/streams/ID). Writes DIR/STREAM/camera.parquet per camera, and
    DIR/fleet.parquet, DIR/rounds.parquet and DIR/summary.json for the fleet.
    """
    from oneadapt.fleet.coordinator import RULES, Fleet, make_rule

    if rule not in RULES:
        raise ConfigurationError(f"unknown --rule {rule!r}.", f"Use one of: {', '.join(RULES)}.")
    budget = check_budget(max_kbps, "--max-kbps")
    lam = check_lambda(lam)
    existing_file(tls_ca, "--tls-ca")
    from oneadapt.fleet.deploy import Board, CameraOptions, FleetRunner
    from oneadapt.inputs import open_sources
    from oneadapt.storage import prepare_output_dir

    open_sources(sources, analysis_fps, seconds)  # every source checked before any output

    coordinator = Fleet(make_rule(rule, budget, lam), wait=wait)
    options = CameraOptions(server, token, tls_ca, deadline, realtime, seconds, analysis_fps, lam)
    board = Board(coordinator, budget)
    runner = FleetRunner(coordinator, options, prepare_output_dir(out), board)
    if dashboard_port is not None:
        from oneadapt.dashboard.server import serve_dashboard

        page = serve_dashboard(board, runner, dashboard_port)
        console.print(f"dashboard on http://127.0.0.1:{page.server_port}/")
    for spec in sources:
        runner.add(spec)
    last = -1
    while runner.running():
        time.sleep(1.0)
        if coordinator.history and coordinator.round != last:
            last, spent = coordinator.round, coordinator.history[-1]
            console.print(
                f"round {spent.round}: {spent.total_kbps:.1f} kbit/s of {budget:g} over "
                f"{spent.streams} streams", highlight=False
            )  # fmt: skip
    runner.wait()
    summary = runner.write()
    for name, error in summary["errors"].items():
        console.print(f"[red]{name}[/]: {error}", highlight=False)
    window = summary["max_window_kbps"]
    console.print(
        f"{summary['rounds']} rounds, {summary['mean_total_kbps']:.1f} kbit/s on average"
        + (f", largest 10-s window {window:.1f}" if window is not None else "")
        + f" (budget {budget:g})"
    )
    console.print(f"results in {out}")
