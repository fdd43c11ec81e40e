"""Property-based tests of every parser: any string or bytes gives a value or a
:class:`OneAdaptError`, never another exception; what the writer writes parses back."""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from oneadapt.adapt.baselines import parse_fixed
from oneadapt.adapt.gradients import FeedbackMap
from oneadapt.errors import ConfigurationError, OneAdaptError, ProtocolError
from oneadapt.inference_cache import decode_row
from oneadapt.inputs import (
    check_policy,
    parse_classes,
    parse_knobs,
    parse_lambdas,
    parse_policies,
)
from oneadapt.knobs import knob_type, knob_types
from oneadapt.media.scene import scene_from_spec
from oneadapt.tasks.detection import Detections

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text biased towards the characters these parsers split and convert on.
option_text = st.text(
    alphabet=st.sampled_from(list("0123456789,.-+ e_:/²٣infa\x00\t")) | st.characters(),
    max_size=30,
)


knob_name = st.sampled_from([*knob_types(), "nosuch", ""])


def user_error_or(call):
    """Call; a OneAdaptError is a valid outcome (anything else propagates and fails)."""
    try:
        return call()
    except OneAdaptError:
        return None


@FAST
@given(option_text)
@example("20, 30,,40")
@example("²")
@example("1e400")
@example(" , ")
def test_int_lists(text):
    lists = user_error_or(lambda: parse_knobs({"--qp": text}))
    assert lists is None or (lists["qp"] and all(isinstance(v, int) for v in lists["qp"]))


@FAST
@given(st.lists(st.integers(-(10**6), 10**6), min_size=1, max_size=6))
def test_int_lists_round_trip(values):
    assert parse_knobs({"--qp": " , ".join(map(str, values))}) == {"qp": values}


@FAST
@given(option_text)
@example("nan,inf")
@example("0.1,-0")
@example("1e400")
@example("0.1,0.1")
def test_lambda_lists(text):
    values = user_error_or(lambda: parse_lambdas(text))
    if values is not None:
        assert all(math.isfinite(v) and v >= 0 for v in values)
        assert len(set(values)) == len(values)


@FAST
@given(option_text | st.builds("fixed:{}".format, option_text))
@example("oneadapt, awstream")
@example("fixed:²/240/5")
@example("oneadapt,nosuch")
def test_policy_lists(text):
    names = user_error_or(lambda: parse_policies(text))
    if names is not None:
        assert all(check_policy(name) == name for name in names)


@FAST
@given(
    st.builds("fixed:{}/{}/{}".format, option_text, option_text, option_text)
    | st.builds("fixed:{}={},{}={}".format, knob_name, option_text, knob_name, option_text)
    | option_text
)
@example("fixed:30/240/5")
@example("fixed:99/240/5")
@example("fixed:²/240/5")
@example("fixed:qp=30,height=240")
@example("fixed:bitrate=1e400,qp=3")
def test_fixed_specs(spec):
    config = user_error_or(lambda: parse_fixed(spec))
    if config is not None:
        assert config and all(knob_type(name).check(v) == v for name, v in config.items())


@FAST
@given(st.integers(0, 51), st.integers(8, 2000).map(lambda h: 2 * h), st.integers(1, 60))
def test_fixed_specs_round_trip(qp, height, fps):
    config = parse_fixed(f"fixed:{qp}/{height}/{fps}")
    assert (config["qp"], config["height"], config["fps"]) == (qp, height, fps)


CLASS_NAMES = ("person", "car", "truck")


@FAST
@given(option_text | st.lists(st.sampled_from(CLASS_NAMES + ("bus", " car", ""))).map(",".join))
@example("person, car")
@example("foo,car")
@example(",")
def test_class_lists(text):
    wanted = user_error_or(lambda: parse_classes(text, CLASS_NAMES))
    if wanted is not None:
        assert wanted and set(wanted) <= set(CLASS_NAMES)
        assert set(wanted) == {n.strip() for n in text.split(",") if n.strip()}


@settings(max_examples=60, deadline=None)
@given(st.builds("scene:{}".format, option_text) | option_text)
@example("scene:-5")
@example("scene:²")
@example("scene:99999999999999999999")
@example("scene")
@example("scene::")
def test_scene_specs(spec):
    scene = user_error_or(lambda: scene_from_spec(spec, seconds=1))
    if scene is not None:
        seed = spec.partition(":")[2].partition(":")[0]  # scene[:SEED[:HEIGHT]]
        assert scene.name == f"scene-{int(seed or 0)}"


@FAST
@given(st.binary(max_size=200))
def test_feedback_messages_from_random_bytes(data):
    user_error_or(lambda: FeedbackMap.from_bytes(data))


header = struct.Struct("<4sIHHHHHfB")


@FAST
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(0, 2**16 - 1),
    st.integers(0, 40),
    st.integers(0, 40),
    st.floats(width=32),
    st.floats(width=32),
)
def test_feedback_messages_with_any_header(second, block, fh, fw, hb, wb, scale, stale):
    """A well-formed v2 message with arbitrary header fields either decodes into a map
    whose fields agree (usable by the camera) or is refused."""
    curve = struct.pack("<f", stale)
    data = header.pack(b"OAG2", second, block, fh, fw, hb, wb, scale, 1) + curve
    data += zlib.compress(bytes(hb * wb))
    grad_map = user_error_or(lambda: FeedbackMap.from_bytes(data))
    if grad_map is not None:
        assert grad_map.block >= 1
        assert grad_map.staleness is not None and 0 <= grad_map.staleness[0] <= 1
        assert grad_map.levels.shape == (-(-fh // block), -(-fw // block))
        assert np.isfinite(grad_map.weights()).all()


@FAST
@given(st.integers(0, 1000), st.integers(1, 32), st.integers(1, 300), st.integers(1, 300))
def test_feedback_messages_round_trip(second, block, fh, fw):
    values = np.arange(-(-fh // block) * -(-fw // block), dtype=np.float32)
    values = values.reshape(-(-fh // block), -(-fw // block))
    grad_map = FeedbackMap.quantize(second, block, (fh, fw), values)
    back = FeedbackMap.from_bytes(grad_map.to_bytes())
    assert (back.second, back.block, back.frame_height, back.frame_width) == (
        second,
        block,
        fh,
        fw,
    )
    assert np.array_equal(back.levels, grad_map.levels)


@FAST
@given(st.binary(max_size=120) | st.none() | st.text(max_size=5), st.floats() | st.integers())
def test_cache_rows_from_random_values(blob, seconds):
    try:
        dets, elapsed = decode_row(blob, seconds, Detections)
    except ProtocolError:
        return
    assert len(dets.scores) * 24 == len(blob) and elapsed >= 0
    assert bool((dets.classes >= 0).all())


@FAST
@given(
    st.lists(
        st.tuples(
            *[st.floats(-1e4, 1e4, width=32)] * 5,
            st.integers(0, 79),
        ),
        max_size=8,
    ),
    st.floats(0, 10),
)
def test_cache_rows_round_trip(rows, seconds):
    dets = Detections.from_array(np.array(rows, np.float32).reshape(-1, 6))
    back, elapsed = decode_row(dets.to_array().tobytes(), seconds, Detections)
    assert np.array_equal(back.to_array(), dets.to_array()) and elapsed == seconds


def test_parsers_raise_typed_errors():
    """The kinds the CLI maps to exit codes: a bad option is a ConfigurationError."""
    for call in (
        lambda: parse_knobs({"--qp": "x"}),
        lambda: parse_lambdas("inf"),
        lambda: parse_policies("nosuch"),
        lambda: parse_classes("foo", CLASS_NAMES),
    ):
        try:
            call()
        except ConfigurationError as exc:
            assert exc.exit_code == 2 and exc.fix
        else:
            raise AssertionError("no error")
