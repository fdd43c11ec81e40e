"""The fleet with real parts: the in-process fleet (encoder, built-in detector, DNNGrad)
under the shared price, and ``oneadapt fleet`` against a real gRPC server, with streams
joining and leaving through the dashboard's API and the page checked in Chromium."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from browser_helpers import browser
from runtime_helpers import free_port, serving

from oneadapt.fleet.coordinator import SharedPrice
from oneadapt.fleet.simulate import Stream, simulate_fleet
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace
from oneadapt.media.scene import scene_from_spec
from oneadapt.models.registry import load_model
from oneadapt.runtime.analyzer import Analyzer
from oneadapt.tasks.detection import DetectionTask

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def builtin() -> tuple[Detector, DetectionTask]:
    model = load_model("builtin")
    return Detector(model), DetectionTask.for_model(model.class_names)


def scene(seed: int, seconds: int) -> Stream:
    source = scene_from_spec(f"scene:{seed}:144", fps=5, seconds=seconds)
    return Stream(source, ConfigSpace.default(source.height, analysis_fps=5))


def test_in_process_fleet_shares_one_price(builtin) -> None:
    """Every stream's lambda is the one price times its own reference kbit/s, the round
    totals are the streams' kbit/s, and a stream that joins late counts from its round."""
    detector, task = builtin
    first, second = scene(1, 4), scene(2, 3)
    first_space = first.space
    late = Stream(second.source, second.space, join=2)
    rule = SharedPrice(total_kbps=40, start_lambda=0.3)
    df, rounds = simulate_fleet([first, late], rule, detector, task, progress=False)
    assert sorted(df.groupby("stream")["round"].apply(list).to_dict().values()) == [
        [0, 1, 2, 3],
        [2, 3, 4],
    ]
    priced = df[df["price"].notna()]
    assert len(priced) == len(df) - 1  # all but the first second of the first round
    expected = priced["price"] * priced["reference_kbps"]
    assert (priced["lambda"] - expected).abs().max() < 1e-9
    first = df.groupby("stream").first()  # at the reference, lowered (QP first) under the cap
    assert first["fps"].eq(first_space.reference["fps"]).all()
    assert first["height"].eq(first_space.reference["height"]).all()
    assert (first["kbps"] <= first["cap_kbps"]).all()
    at_reference = first["qp"].eq(first_space.reference["qp"])
    assert first.loc[at_reference, "kbps"].eq(first.loc[at_reference, "reference_kbps"]).all()
    assert (first.loc[~at_reference, "reference_kbps"] > first.loc[~at_reference, "cap_kbps"]).all()
    assert (df["reference_kbps"] >= df["kbps"]).all()
    totals = df.groupby("round")["kbps"].sum()
    assert rounds.set_index("round")["total_kbps"].to_dict() == pytest.approx(totals.to_dict())
    assert rounds["streams"].tolist() == [1, 1, 2, 2, 1]
    assert df["accuracy"].between(0, 1).all()


def oneadapt(*args: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "oneadapt", *args], stderr=log.open("w"), env=env
    )


def api(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.load(reply)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def wait_for_dashboard(port: int, fleet: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert fleet.poll() is None, "oneadapt fleet exited early"
        try:
            if api(port, "GET", "/api/state")[1]["rounds"]["time"]:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the dashboard showed no round in time")


def test_fleet_with_live_joins_and_dashboard(builtin, tmp_path: Path) -> None:
    """Two cameras at their own pace against a real server, a third joining and one leaving
    through the API; the page, in Chromium, draws every chart with data and updates live.
    Its screenshot goes to tmp_path; with ONEADAPT_UPDATE_DOCS=1, to docs/dashboard.png
    (a test run leaves the committed tree as it was)."""
    detector, task = builtin
    shot = (DOCS if os.environ.get("ONEADAPT_UPDATE_DOCS") else tmp_path) / "dashboard.png"
    out, page_port = tmp_path / "fleet", free_port()
    with serving(Analyzer(detector, task)) as (port, _):
        fleet = oneadapt(
            "fleet", "scene:1:144", "scene:2:144", "--server", f"127.0.0.1:{port}",
            "--max-kbps", "60", "--seconds", "16", "--realtime", "--analysis-fps", "5",
            "--out", str(out), "--dashboard-port", str(page_port), "--wait", "2",
            log=tmp_path / "fleet.log",
        )  # fmt: skip
        try:
            wait_for_dashboard(page_port, fleet)
            assert api(page_port, "POST", "/api/streams", {"source": "scene:3:144"}) == (
                201,
                {"stream": "scene:3:144"},
            )
            status, reply = api(page_port, "POST", "/api/streams", {"source": "scene:3:144"})
            assert status == 400 and "already in the fleet" in reply["error"]
            assert api(page_port, "POST", "/api/streams", {"src": 1})[0] == 400
            assert api(page_port, "DELETE", "/api/streams/nobody")[0] == 404
            with browser(f"http://127.0.0.1:{page_port}/") as page:
                charts = "[...document.querySelectorAll('.chart')]"
                page.wait_for(f"{charts}.length >= 13", 30)  # fleet + 4 per stream
                page.wait_for(f"{charts}.every(c => +c.dataset.points >= 3)", 30)
                first = int(page.evaluate("document.getElementById('status').dataset.round"))
                page.wait_for(f"+document.getElementById('status').dataset.round > {first}", 15)
                assert page.evaluate("+document.getElementById('split').dataset.streams") >= 2
                assert api(page_port, "DELETE", "/api/streams/scene:1:144")[0] == 202
                page.wait_for("document.body.innerText.includes('scene:1:144 (left)')", 20)
                page.screenshot(shot)
            assert fleet.wait(90) == 0, (tmp_path / "fleet.log").read_text()
        finally:
            if fleet.poll() is None:
                fleet.kill()
    rounds = pd.read_parquet(out / "rounds.parquet")
    entries = pd.read_parquet(out / "fleet.parquet")
    assert set(entries["stream"]) == {"scene:1:144", "scene:2:144", "scene:3:144"}
    assert rounds["total_kbps"].gt(0).all()
    for name in entries["stream"].unique():
        record = pd.read_parquet(out / name / "camera.parquet")
        assert record["outcome"].isin(["delivered", "late", "dropped"]).all()
        assert record["second"].tolist() == list(range(len(record)))
    left = pd.read_parquet(out / "scene:1:144" / "camera.parquet")
    assert len(left) < 16  # it left before its source ended
    assert shot.stat().st_size > 20_000


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["scene:1:144", "--rule", "greedy"], "unknown --rule 'greedy'"),
        (["scene:1:144", "--max-kbps", "0"], "--max-kbps 0.0 is not a finite number > 0"),
        (["scene:1:144", "--tls-ca", "/nonexistent.pem"], "--tls-ca /nonexistent.pem does not"),
        (["scene:1:144", "scene:1:144"], "is given twice"),
        (["/nonexistent.mp4"], "/nonexistent.mp4"),
    ],
)
def test_fleet_bad_input_is_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    """One line naming the problem, exit code 2, and no output directory."""
    result = subprocess.run(
        [sys.executable, "-m", "oneadapt", "fleet", "--server", "127.0.0.1:1",
         "--max-kbps", "100", "--out", str(tmp_path / "out"), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and needle in result.stderr, result.stderr
    assert not (tmp_path / "out").exists()
