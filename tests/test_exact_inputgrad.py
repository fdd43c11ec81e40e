"""benchmarks/exact_inputgrad.py: the policy's estimates replaced by a profile's measured
accuracy changes, on real encodes of the procedural scene."""

from __future__ import annotations

import pandas as pd
import pytest
from benchmark_helpers import benchmark_script

import oneadapt.adapt.gradient_policy as gradient_policy
from oneadapt.errors import ConfigurationError
from oneadapt.knobs import Configuration
from oneadapt.media.codec import encode
from oneadapt.media.scene import SceneSource

ACCURACY = {(20, 10): 1.0, (30, 10): 0.9, (40, 10): 0.6, (20, 5): 0.8, (30, 5): 0.7, (40, 5): 0.5}


@pytest.fixture(scope="module")
def ex():
    with benchmark_script("exact_inputgrad") as module:
        yield module


def profile(seconds: int = 2) -> pd.DataFrame:
    """QP 20/30/40 at 10 and 5 fps, one height; the second second is 0.1 worse off QP 20."""
    return pd.DataFrame(
        {"second": s, "qp": qp, "height": 120, "fps": fps, "bytes": 1000 - 20 * qp,
         "frames_inferred": fps, "accuracy": acc - (0.1 if s == 1 and qp != 20 else 0.0)}
        for s in range(seconds)
        for (qp, fps), acc in ACCURACY.items()
    )  # fmt: skip


def test_probes_and_options_are_the_measured_changes(ex):
    measured = ex.MeasuredAccuracy(profile())
    assert measured.lists() == {"qp": (20, 30, 40), "height": (120,), "fps": (10, 5)}
    segment = next(SceneSource(seed=3, seconds=2, width=160, height=120).segments())
    config = Configuration({"qp": 30, "height": 120, "fps": 10})
    current = encode(segment, config)
    qp = measured.space.knob("qp")
    probes, _ = ex.exact_probes(measured)(segment, current, (qp,), None, both=True)
    # At QP 30 on second 0: the cheaper QP 40 loses 0.9 - 0.6, the dearer QP 20 buys 1 - 0.9.
    assert [(p.neighbour, p.cheaper) for p in probes] == [(40, True), (20, False)]
    assert [p.accuracy_loss for p in probes] == pytest.approx([0.3, 0.1])
    assert all(p.neighbour_bytes > 0 for p in probes)  # bytes are real encodes
    fps = measured.space.knob("fps")
    options, _ = ex.exact_options(measured, gradient_policy.temporal_options)(
        segment, current, fps, [0.1, 0.2]
    )
    assert {o.value: o.loss for o in options} == pytest.approx({10: 0.1, 5: 0.3})


def test_the_policy_module_is_restored_and_gaps_are_refused(ex):
    measured = ex.MeasuredAccuracy(profile())
    saved = gradient_policy.probe_knobs, gradient_policy.temporal_options
    with ex.exact_estimates(measured):
        assert gradient_policy.probe_knobs is not saved[0]
        assert gradient_policy.temporal_options is not saved[1]
    assert (gradient_policy.probe_knobs, gradient_policy.temporal_options) == saved
    with pytest.raises(ConfigurationError, match="no second 5"):
        measured(5, Configuration({"qp": 30, "height": 120, "fps": 10}))
