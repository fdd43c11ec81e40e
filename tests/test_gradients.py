"""DNNGrad on real decoded frames of a real detector, its wire format, and gradcheck."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from oneadapt.adapt.gradients import (
    DNNGradServer,
    DNNGradSettings,
    FeedbackMap,
    block_mean,
    box_smooth,
)
from oneadapt.errors import OneAdaptError
from oneadapt.evaluate.gradcheck import gradcheck, write_gradcheck_outputs
from oneadapt.evaluate.measure import infer_encoded
from oneadapt.inference_cache import Detector
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.media.codec import encode


@pytest.fixture(scope="module")
def setup(yolox_highway):
    """YOLOX, its task, and the motorway clip (320x240) at 5 fps."""
    detector, task, source, _ = yolox_highway
    return detector.model, task, source


def test_block_mean_and_smoothing_keep_edge_tiles_exact() -> None:
    x = np.arange(5 * 7, dtype=np.float64).reshape(5, 7)
    blocks = block_mean(x, 4)
    assert blocks.shape == (2, 2)
    assert blocks[1, 1] == pytest.approx(x[4:, 4:].mean())
    assert box_smooth(np.full((3, 4), 2.0), 3) == pytest.approx(np.full((3, 4), 2.0))


def test_dnn_grad_is_finite_and_concentrated_on_detected_objects(setup, shared_data) -> None:
    """YOLOX on the motorway clip (shared data): a gradient on every candidate's blocks."""
    model, task, source = setup
    segment = next(source.segments(1))
    encoded = encode(segment, Configuration(qp=20, height=240, fps=5))
    server = DNNGradServer(model, task, DNNGradSettings(kernel=1, ema=0.0))
    grad_map = server.feedback(0, encoded)
    weights = grad_map.weights()
    assert grad_map.levels.shape == (15, 20)
    assert np.isfinite(weights).all() and weights.max() > 0
    assert server.last_passes == 1 and server.last_backward_seconds > 0
    # The forward pass is the server's inference of the back-propagated (last) frame.
    (last,) = server.last_inferred
    inferred, seconds = server.last_inferred[last]
    assert last == len(encoded.decoded) - 1 and seconds > 0
    fast = model.infer(encoded.decoded[last : last + 1])[0]
    torch.testing.assert_close(inferred.boxes, fast.boxes, atol=1e-2, rtol=1e-4)
    torch.testing.assert_close(inferred.scores, fast.scores, atol=1e-4, rtol=1e-4)

    # The proxy's gradient peaks on borderline detections, so compare against every
    # candidate of a class of interest the model returns, confident or not.
    dets = model.infer(encoded.decoded[-1:])[0].select(task.classes)
    assert len(task.relevant(dets)) > 0, "the motorway clip shows vehicles in its first second"
    on_object = np.zeros(weights.shape, bool)
    for x1, y1, x2, y2 in dets.boxes.numpy() / grad_map.block:
        on_object[int(y1) : int(np.ceil(y2)), int(x1) : int(np.ceil(x2))] = True
    assert (weights[on_object] > 0).all()
    assert weights[on_object].mean() > 3 * weights[~on_object].mean()


def test_feedback_map_round_trips_and_stays_under_2kb_at_720p(setup) -> None:
    model, task, source = setup
    segment = next(source.segments(1))
    # Upscale the real frames to 1280x720: the size the 2 KB budget is set for.
    segment.frames = np.repeat(np.repeat(segment.frames, 3, axis=1), 4, axis=2)[:, :720, :1280]
    encoded = encode(segment, Configuration(qp=25, height=720, fps=1))
    grad_map = DNNGradServer(model, task).feedback(7, encoded)
    wire = grad_map.to_bytes()
    back = FeedbackMap.from_bytes(wire)
    assert back.levels.shape == (45, 80)
    assert np.array_equal(back.levels, grad_map.levels)
    assert (back.second, back.block, back.scale) == (7, 16, pytest.approx(grad_map.scale))
    assert grad_map.nbytes == len(wire) <= 2048


def test_interval_reuses_the_last_map_without_a_backward_pass(setup) -> None:
    model, task, source = setup
    server = DNNGradServer(model, task, DNNGradSettings(interval=2))
    passes, seconds = [], []
    for segment in source.segments(3):
        grad_map = server.feedback(
            segment.index, encode(segment, Configuration(qp=30, height=240, fps=5))
        )
        passes.append(server.last_passes)
        seconds.append(grad_map.second)
        assert bool(server.last_inferred) == bool(server.last_passes)
    assert passes == [1, 0, 1]
    assert seconds == [0, 0, 2]  # the second second reuses the first second's map
    with pytest.raises(OneAdaptError):
        DNNGradSettings(interval=0)


def test_the_first_map_carries_the_staleness_of_its_own_second(setup) -> None:
    """The server records a second's outputs after computing its map; the map it sends then
    already holds the staleness measured on that second, so the camera's frame-rate step
    need not wait a second for it."""
    model, task, source = setup
    server = DNNGradServer(model, task)
    segments = source.segments(2)
    for second, segment in enumerate(segments):
        encoded = encode(segment, Configuration(qp=30, height=240, fps=5))
        server.feedback(second, encoded)
        assert server.message.staleness is None or second > 0
        outputs, _, _ = infer_encoded(encoded, Detector(model), task, server.last_inferred)
        server.record(second, encoded, outputs)
        assert server.message.second == second
        assert server.message.staleness is not None
        assert FeedbackMap.from_bytes(server.message.to_bytes()).staleness is not None


def test_gradcheck_reports_agreement_figures(setup, tmp_path: Path) -> None:
    model, task, source = setup
    space = ConfigSpace.default(source.height, analysis_fps=source.fps)
    result = gradcheck(
        source,
        Detector(model),
        task,
        space,
        configs=[Configuration(qp=30, height=180, fps=3)],
        seconds=2,  # the frame rate's estimate needs the server's staleness (from second 1)
        progress=False,
    )
    write_gradcheck_outputs(result, tmp_path)
    saved = json.loads((tmp_path / "gradcheck.json").read_text())
    for key in ("mean_cosine", "pearson", "per_knob", "records", "points"):
        assert key in saved
    assert set(saved["decision_agreement"]) == {"0.1", "0.3", "1"}
    assert all(0.0 <= v <= 1.0 for v in saved["decision_agreement"].values())
    assert saved["scale_ratio"] is None or saved["scale_ratio"] >= 0
    assert all("resource_change" in r for r in saved["records"])
    assert {r["knob"] for r in saved["records"]} == {"qp", "height", "fps"}
    assert (tmp_path / "gradcheck.png").stat().st_size > 0
