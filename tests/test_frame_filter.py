"""Frame filtering: the features see motion, not noise or lighting; a frame is sent iff
every enabled feature reaches its threshold against the last sent frame; the thresholds are
knobs that narrow the frame rate's frames; the gradient policy steps them in closed form."""

from __future__ import annotations

import numpy as np
import pytest

from oneadapt.adapt.gradient_policy import GradientPolicy, floor_position
from oneadapt.adapt.policy import Feedback, PolicyContext
from oneadapt.errors import ConfigurationError
from oneadapt.inputs import parse_knobs
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.media.codec import encode, plan
from oneadapt.media.frame_filter import differences, reduce, select
from oneadapt.media.sources import Segment

FILTERS = ("filter_pixel", "filter_area", "filter_edge")


def _segment(frames: np.ndarray) -> Segment:
    return Segment(0, frames, np.arange(len(frames)) / 10.0, 10)


def _moving_square(frames: int = 10, step: int = 4) -> np.ndarray:
    """A grey road with noise and a dark 40-px square moving ``step`` px a frame."""
    rng = np.random.default_rng(0)
    video = np.full((frames, 120, 320, 3), 128, np.uint8)
    video += rng.integers(0, 4, video.shape, dtype=np.uint8)  # sensor noise
    for t in range(frames):
        video[t, 40:80, 10 + step * t : 50 + step * t] = 20
    return video


def _static(frames: int = 10) -> np.ndarray:
    return np.repeat(_moving_square(1), frames, axis=0)


def test_features_see_a_moving_object_and_ignore_noise_and_lighting() -> None:
    video = _moving_square()
    diff = differences(reduce(video), 0, 5)
    assert all(0.02 < diff[name] < 0.2 for name in diff), diff
    assert differences(reduce(_static()), 0, 9) == {"pixel": 0.0, "area": 0.0, "edge": 0.0}
    brighter = video[:2].copy()
    brighter[1] = np.clip(brighter[0].astype(int) + 60, 0, 255)
    lit = differences(reduce(brighter), 0, 1)
    assert lit["pixel"] == 1.0 and lit["edge"] == 0.0  # only the pixel feature sees light


@pytest.mark.parametrize("name", FILTERS)
def test_threshold_zero_sends_every_frame_and_a_static_clip_only_its_first(name, video_segment):
    assert list(plan(video_segment, Configuration({name: 0.0})).sent) == list(range(10))
    static = _segment(_static())
    assert list(plan(static, Configuration({name: 0.02})).sent) == [0]
    moving = plan(_segment(_moving_square()), Configuration({name: 0.04})).sent
    assert moving[0] == 0 and 1 < len(moving) < 10  # changed enough every few frames


def test_a_frame_is_sent_only_when_every_enabled_feature_reaches_its_threshold() -> None:
    video = _static(4)
    video[2] = np.clip(video[2].astype(int) + 60, 0, 255)  # a lighting change: no new edges
    frames = np.arange(4)
    assert list(select(video, frames, {"pixel": 0.5})) == [0, 2, 3]  # 3 is 0's light again
    assert list(select(video, frames, {"pixel": 0.5, "edge": 0.01})) == [0]
    assert list(select(video, frames, {"pixel": 0.5, "edge": 0.0})) == [0, 2, 3]  # 0: off


def test_the_filter_narrows_the_frames_the_frame_rate_keeps(video_segment) -> None:
    assert list(plan(video_segment, Configuration(fps=5, filter_pixel=0.0)).sent) == [
        0,
        2,
        4,
        6,
        8,
    ]
    static = _segment(_static())
    assert list(plan(static, Configuration(fps=5, filter_edge=0.02)).sent) == [0]
    encoded = encode(static, Configuration(qp=30, filter_area=0.02))
    assert len(encoded.decoded) == 10 and (encoded.decoded == encoded.decoded[0]).all()


def test_an_invalid_threshold_names_the_fix() -> None:
    lists = parse_knobs({}, ["filter_pixel=0,1.5"])
    with pytest.raises(ConfigurationError, match=r"pixel-difference threshold 1.5 is invalid"):
        ConfigSpace.default(240, 10, **lists)
    with pytest.raises(ConfigurationError, match="--knob filter_edge=0,0.02"):
        ConfigSpace.default(240, 10, filter_edge=(-0.1,))


def _policy_after_one_second(segment: Segment, lam: float) -> tuple[GradientPolicy, Feedback]:
    space = ConfigSpace.default(segment.height, 10, qp=(30,), fps=(10,), filter_pixel=None)
    policy = GradientPolicy(PolicyContext(space), lam=lam)
    config = policy.current()
    assert config["filter_pixel"] == 0.04  # the middle of the list
    encoded = encode(segment, config)
    policy.reference_bytes = encode(segment, space.reference).num_bytes
    return policy, Feedback(0, config, segment, encoded, None)


def test_the_closed_form_step_follows_the_staleness_curve(video_segment) -> None:
    knob = "filter_pixel"
    policy, feedback = _policy_after_one_second(video_segment, lam=0.1)
    space_knob = policy.space.knob(knob)
    policy.choose_temporal(feedback, space_knob, curve=(0.0,) * 10)  # reuse costs nothing
    assert policy.current()[knob] == 0.06  # the next cheaper threshold
    assert policy.take_overhead().camera_encodes == 2  # one compress per neighbour, for the bytes
    policy, feedback = _policy_after_one_second(video_segment, lam=0.1)
    policy.choose_temporal(feedback, space_knob, curve=(0.5,) * 10)  # stale outputs are lost
    assert policy.current()[knob] == 0.02  # the next dearer threshold
    policy.choose_temporal(feedback, space_knob, curve=(0.0,) * 10)  # then a still second
    assert policy.current()[knob] < 0.06  # the loss just seen, fading, still holds it dearer


def test_a_threshold_may_reach_its_cheapest_value_and_is_not_probed_as_a_picture() -> None:
    space = ConfigSpace.default(240, 10, filter_edge=None)
    knob = space.knob("filter_edge")
    assert knob.stage.selects_frames and not space.knob("qp").stage.selects_frames
    assert floor_position(knob) == knob.position(0.1)
