"""The wire protocol: committed generated code is current, and the camera side (policy,
encoder, protocol, gRPC client, metrics, CLI) runs without torch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from oneadapt.protocol.generate import generate

ROOT = Path(__file__).resolve().parents[1]


def test_generated_code_matches_the_proto(tmp_path: Path) -> None:
    committed = ROOT / "oneadapt" / "protocol" / "oneadapt_pb2.py"
    assert generate(tmp_path).read_bytes() == committed.read_bytes(), (
        "oneadapt_pb2.py is stale: run python -m oneadapt.protocol.generate"
    )


CAMERA_WITHOUT_TORCH = """
import sys
import numpy as np
import oneadapt.cli
from oneadapt.adapt.gradient_policy import GradientPolicy
from oneadapt.adapt.policy import PolicyContext
from oneadapt.knobs import ConfigSpace
from oneadapt.media.sources import Segment
from oneadapt.protocol.feedback import FeedbackMap
from oneadapt.runtime.camera import Camera
from oneadapt.runtime.grpc_client import GrpcTransport
from oneadapt.runtime.metrics import CameraMetrics

space = ConfigSpace.default(64, analysis_fps=2)
policy = GradientPolicy(PolicyContext(space), 0.3)
frames = np.random.default_rng(0).integers(0, 255, (2, 64, 96, 3), dtype=np.uint8)
segment = Segment(0, frames, np.array([0.0, 0.5]), 2)
from oneadapt.adapt.policy import Feedback
from oneadapt.media.codec import encode
encoded = encode(segment, policy.decide(0, segment))
grad = FeedbackMap.from_bytes(FeedbackMap.quantize(0, 16, (64, 96), np.ones((4, 6))).to_bytes())
policy.observe(Feedback(0, encoded.config, segment, encoded, grad))
assert policy.take_overhead().camera_encodes > 0
from oneadapt.protocol import oneadapt_pb2 as pb
from oneadapt.protocol.messages import checked_outputs
answer = pb.Analysis(output="segmentation")
answer.frames.add(rows=[1, 2, 0, 1, 7, 1])
kind, rows = checked_outputs(answer)
assert kind.name == "segmentation" and kind.count(rows[0]) == 1
print(sorted(m for m in sys.modules if m == "torch" or m.startswith("torch.")))
"""


def test_camera_side_runs_without_torch() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CAMERA_WITHOUT_TORCH],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


def test_feedback_map_is_still_importable_from_gradients() -> None:
    from oneadapt.adapt.gradients import FeedbackMap as Old
    from oneadapt.protocol.feedback import FeedbackMap

    assert Old is FeedbackMap


def test_default_stream_id_carries_no_credentials() -> None:
    from oneadapt.runtime.commands import stream_name

    assert stream_name("rtsp://admin:hunter2@10.0.0.7:554/live") == "10.0.0.7:554/live"
    assert stream_name("/videos/highway.avi") == "highway"


def test_every_command_module_imports_first() -> None:
    """A command module imported before ``oneadapt.cli`` (as a test or a plugin may) must not
    hit an import cycle (fleet.commands once imported runtime.commands half-initialised)."""
    for module in ("oneadapt.runtime.commands", "oneadapt.fleet.commands", "oneadapt.cli"):
        done = subprocess.run(
            [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT
        )
        assert done.returncode == 0, (module, done.stderr[-500:])


def test_every_container_s_rows_are_a_kind_the_camera_checks() -> None:
    """Each output container names its rows' kind, and that kind (numpy only, what the
    camera uses) accepts exactly what the container writes and counts its records."""
    import numpy as np
    import torch

    from oneadapt.errors import ProtocolError
    from oneadapt.protocol import oneadapt_pb2 as pb
    from oneadapt.protocol.messages import checked_outputs
    from oneadapt.tasks.detection import Detections
    from oneadapt.tasks.keypoints import Keypoints
    from oneadapt.tasks.rows import KINDS, row_kind
    from oneadapt.tasks.segmentation import SegmentationMap
    from oneadapt.tasks.vad import SpeechProbabilities

    boxes = Detections(torch.tensor([[1.0, 2, 30, 40], [5, 6, 7, 8]]), torch.tensor([0.9, 0.2]),
                       torch.tensor([2, 0]))  # fmt: skip
    outputs = [
        (boxes, 2),
        (Keypoints(boxes, torch.arange(20.0).reshape(2, 5, 2)), 2),
        (SegmentationMap(torch.tensor([[0, 15, 15], [0, 0, 7]])), 3),
        (SpeechProbabilities(torch.tensor([0.1, 0.9, 0.5])), 3),
    ]
    assert sorted(type(o).row_kind for o, _ in outputs) == sorted(KINDS)
    for output, records in outputs:
        kind = row_kind(type(output).row_kind)
        answer = pb.Analysis(output=kind.name)
        answer.frames.add(rows=output.to_array().ravel().tolist())
        got, (rows,) = checked_outputs(answer)
        assert got is kind and kind.count(rows) == records
        np.testing.assert_array_equal(type(output).from_array(rows).to_array().ravel(), rows)
    assert row_kind("") is KINDS["detections"]  # what servers before the name sent
    for name, rows in [
        ("speech", [1.5]),
        ("detections", [1.0] * 7),
        ("detections", [0, 0, 0, 0, 0, 2.0**63]),  # read as int64 it would overflow
        ("segmentation", [1, 1, 2.0**40, 1]),
        ("x", []),
    ]:
        answer = pb.Analysis(output=name)
        answer.frames.add(rows=rows)
        with pytest.raises(ProtocolError):
            checked_outputs(answer)
