"""Audio (Silero VAD), LiDAR (built-in BEV detector) and the video tasks beyond detection
(segmentation, face keypoints: the built-in detector exported in the DeepLab and YuNet
layouts) through the shared loop, on the procedural sources (no shared data): the kind of
data follows from the source spec, the task from the model; profile, run with the gradient
policy, gradcheck and bench with the baselines, and the server decoding the sensor's
message as the sensor did."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from oneadapt.adapt.baselines import make_policy
from oneadapt.adapt.policy import PolicyContext
from oneadapt.errors import ConfigurationError
from oneadapt.evaluate.bench import bench
from oneadapt.evaluate.gradcheck import gradcheck
from oneadapt.evaluate.profile import profile
from oneadapt.evaluate.run import run_policy
from oneadapt.inference_cache import Detector
from oneadapt.inputs import check_inputs
from oneadapt.knobs import ConfigSpace, parse_fixed
from oneadapt.media.modality import modality_of
from oneadapt.media.sources import open_source
from oneadapt.models.registry import load_model
from oneadapt.protocol.messages import received_segment, segment_message
from oneadapt.tasks.detection import DetectionTask
from oneadapt.tasks.keypoints import KeypointTask
from oneadapt.tasks.segmentation import SegmentationTask
from oneadapt.tasks.vad import VadTask


@dataclass(frozen=True)
class Case:
    spec: str
    model: str
    """A model spec, or the name of a conftest fixture giving an ONNX file."""
    modality: str
    task: type
    knobs: dict
    fps: int
    """Analysis rate (the LiDAR scene's scans per second; audio ignores it)."""
    other: str = "builtin"
    """A model for another kind of data."""
    lam: float = 0.3
    """The gradient policy's resource weight: one at which it leaves its start on this
    content within a few seconds."""
    fixed: str = ""
    """A ``fixed:`` policy naming some of the sensor's knobs, not at their reference values."""


VIDEO_KNOBS = {"qp": [20, 35, 50], "height": [720, 360], "fps": [10, 2]}


CASES = [
    Case(
        "speech:3",
        "silero-vad",
        "audio",
        VadTask,
        {},  # the default knobs: sample rate 16/8 kHz, six Opus bitrates
        10,
        fixed="fixed:bitrate=12000,sample_rate=8000",
    ),
    Case(
        "lidar:2001",
        "builtin-lidar",
        "lidar",
        DetectionTask,
        {"voxel_m": [0.0, 0.2, 0.3, 0.5], "max_range_m": [80.0], "draco_bits": [14, 11, 9, 8]},
        1,
        fixed="fixed:draco_bits=9,voxel_m=0.3",
    ),
    Case(
        "scene:3",
        "segmenter_onnx",
        "video",
        SegmentationTask,
        VIDEO_KNOBS,
        10,
        "silero-vad",
        1.0,
        fixed="fixed:qp=35,fps=2",
    ),
    Case(
        "scene:3",
        "landmarks_onnx",
        "video",
        KeypointTask,
        VIDEO_KNOBS,
        10,
        "silero-vad",
        fixed="fixed:height=360,qp=50",
    ),
]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: c.task.__name__)
def setup(request: pytest.FixtureRequest):
    case: Case = request.param
    source = open_source(case.spec, fps=case.fps, scene_seconds=6)
    sensor = modality_of(source)
    spec = case.model
    if spec.endswith("_onnx"):
        spec = str(request.getfixturevalue(spec))
    model = load_model(spec)
    space = sensor.space(source, case.fps, case.knobs)
    return case, source, sensor, model, space


def test_the_kind_of_data_follows_from_source_and_model(setup) -> None:
    case, source, sensor, model, space = setup
    assert sensor.name == model.modality == case.modality
    assert isinstance(model.task(), case.task)
    assert set(space.names) >= set(case.knobs) and space.size() > 1


def test_a_model_for_other_data_is_refused(setup, tmp_path) -> None:
    case, *_ = setup
    with pytest.raises(ConfigurationError, match="analyses"):
        check_inputs([case.spec], case.other, tmp_path / "out", analysis_fps=case.fps)


def test_server_decodes_what_the_sensor_decoded(setup) -> None:
    _, source, sensor, _, space = setup
    segment = next(iter(source.segments(1)))
    cheap = space.reference.with_knob(space.knobs[-1].name, space.knobs[-1].values[-1])
    encoded = sensor.encode(segment, cheap)
    message = segment_message(
        "s", 0, encoded, sensor.size(segment), sensor.times(segment), False, sensor.name
    )
    received = received_segment(message)
    assert received.num_bytes == encoded.num_bytes <= len(encoded.data)
    assert (encoded.num_bytes < len(encoded.data)) == (sensor.name != "video")  # framing free
    assert len(received.decoded) == len(encoded.decoded)
    for a, b in zip(received.decoded, encoded.decoded, strict=True):
        assert np.array_equal(a, b)


def test_profile_charts_a_real_trade_off(setup) -> None:
    _, source, sensor, model, full = setup
    ends = [tuple(dict.fromkeys((k.values[0], k.values[-1]))) for k in full.knobs]
    space = ConfigSpace(tuple(k.with_values(v) for k, v in zip(full.knobs, ends, strict=True)))
    df = profile(source, Detector(model), model.task(), space, 1, progress=False, sensor=sensor)
    assert len(df) == space.size()
    reference = df[(df[list(space.names)] == pd.Series(dict(space.reference))).all(axis=1)]
    assert (reference["accuracy"] == 1.0).all()
    cheapest = df[df["kbps"] == df["kbps"].min()]
    assert cheapest["kbps"].iloc[0] < 0.5 * reference["kbps"].max()
    assert df["accuracy"].min() < 1.0  # the cheap end costs accuracy somewhere


def test_gradient_policy_adapts_with_dnngrad(setup) -> None:
    case, source, sensor, model, space = setup
    task, detector = model.task(), Detector(model)
    policy = make_policy("oneadapt", PolicyContext(space, detector, task, sensor), case.lam)
    df = run_policy(source, policy, detector, task, space, 4, progress=False, sensor=sensor)
    assert len(df) == 4 and (df["backward_passes"] > 0).all() and (df["feedback_bytes"] > 0).all()
    assert (df["camera_encodes"] > 0).all()  # InputGrad probes every second
    assert df[list(space.names)].drop_duplicates().shape[0] > 1  # it moved
    assert df["accuracy"].between(0.0, 1.0).all() and df["accuracy"].mean() > 0.6


def test_fixed_policy_sends_the_named_knobs_every_second(setup) -> None:
    case, source, sensor, model, space = setup
    task, detector = model.task(), Detector(model)
    policy = make_policy(case.fixed, PolicyContext(space, detector, task, sensor), case.lam)
    df = run_policy(source, policy, detector, task, space, 2, progress=False, sensor=sensor)
    named = parse_fixed(case.fixed)
    assert all(space.reference[name] != value for name, value in named.items())
    expected = space.complete(named)
    assert df[list(space.names)].to_dict("records") == [dict(expected)] * 2
    # What was sent is that configuration's encoding, not the reference's.
    encoded = [sensor.encode(s, expected).num_bytes for s in source.segments(2)]
    assert df["bytes"].tolist() == encoded
    assert encoded[0] < sensor.encode(next(iter(source.segments(1))), space.reference).num_bytes


def test_gradcheck_compares_estimates_with_measured_changes(setup) -> None:
    _, source, sensor, model, space = setup
    result = gradcheck(
        source, Detector(model), model.task(), space, seconds=1, progress=False, sensor=sensor
    )
    # Every knob, the frame rate too: the first second's map already carries the staleness
    # the server measured on that second.
    assert {r["knob"] for r in result["records"]} == {
        k.name for k in space.knobs if len(k.values) > 1
    }
    assert any(r["estimated"] != 0.0 for r in result["records"])  # the map marks something
    assert result["decision_agreement"]["0.3"] is not None


def test_bench_runs_oneadapt_and_the_baselines(setup, tmp_path) -> None:
    case, source, sensor, model, space = setup
    policies = ["oneadapt", "best-fixed", "awstream", "chameleon"]
    summary = bench(
        [source],
        model,
        policies,
        [0.3],
        tmp_path / "bench",
        seconds=3,
        analysis_fps=case.fps,
        progress=False,
        knobs=case.knobs,
        best_fixed_seconds=1,
    )
    points = {p["policy"]: p for p in summary["points"]}
    assert set(points) == set(policies)
    assert all(0.0 <= p["accuracy"] <= 1.0 and p["kbps"] > 0 for p in points.values())
    assert points["awstream"]["overhead_frames_per_s"] > 0  # profiling is charged
    assert (tmp_path / "bench" / "bench.parquet").is_file()
