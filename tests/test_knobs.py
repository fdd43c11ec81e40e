"""Open knobs: every knob module is found, validates its values and acts on real bytes; a
configuration is an immutable mapping; spaces, grids and option lists are built per knob."""

from __future__ import annotations

import pytest
from knob_helpers import bytes_at_each_value

from oneadapt.errors import ConfigurationError
from oneadapt.inputs import parse_knobs
from oneadapt.knobs import ConfigSpace, Configuration, Stage, StreamShape, knob_types
from oneadapt.knobs.encoder import B_FRAMES, EncoderKnob
from oneadapt.media.codec import X264_DEFAULTS, plan

DEFAULT = ("qp", "height", "fps")
KNOBS = sorted(knob_types())
VIDEO = [name for name in KNOBS if knob_types()[name].modality == "video"]
EXTRA = [name for name in VIDEO if name not in DEFAULT]
STREAM = StreamShape(240, 10)


def test_the_default_space_is_qp_height_fps() -> None:
    assert ConfigSpace.default(240).names == DEFAULT
    assert ConfigSpace.default(240).reference == Configuration(qp=20, height=240, fps=10)


@pytest.mark.parametrize("name", EXTRA)
def test_a_knob_off_by_default_joins_the_space_when_named(name: str) -> None:
    space = ConfigSpace.default(240, 10, **{name: None})
    assert space.names == (*DEFAULT, name)
    assert space.knob(name) == knob_types()[name].build(STREAM)


@pytest.mark.parametrize("name", KNOBS)
def test_every_knob_declares_itself_and_orders_its_defaults(name: str) -> None:
    kind = knob_types()[name]
    assert isinstance(kind.stage, Stage) and kind.title and kind.example
    knob = kind.build(STREAM)
    assert len(knob.values) >= 2
    assert list(knob.values) == sorted(knob.values, reverse=not kind.cheaper_upward)
    assert kind.build(STREAM, list(reversed(knob.values))) == knob  # sorted expensive first
    for value in knob.values:
        assert kind.check(kind.parse(str(value)), STREAM) == value
    for bad in (1_000_000, float("nan")):
        with pytest.raises(ConfigurationError, match=f"{kind.title} .* is invalid"):
            kind.check(bad, STREAM)


# On the procedural clip (no sensor noise), neighbouring values of these knobs can code to the
# same bytes: they are checked on real footage only.
NEED_REAL_FOOTAGE = ("b_bias", "filter_pixel")


@pytest.mark.parametrize("name", VIDEO)
def test_every_value_of_every_video_knob_changes_the_bytes_of_a_real_clip(
    request: pytest.FixtureRequest, name: str
) -> None:
    fixture = "highway_segment" if name in NEED_REAL_FOOTAGE else "video_segment"
    sizes = bytes_at_each_value(request.getfixturevalue(fixture), name)
    assert len(set(sizes)) == len(sizes), sizes


def test_a_configuration_is_an_immutable_hashable_mapping() -> None:
    a = Configuration(qp=30, height=240, fps=5)
    b = Configuration({"fps": 5, "height": 240, "qp": 30})
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert dict(a) == {"qp": 30, "height": 240, "fps": 5} and a.label() == "qp30/240p/5fps"
    assert a.with_knob("qp", 40)["qp"] == 40 and a["qp"] == 30
    assert a != Configuration(qp=30, height=240)
    with pytest.raises(KeyError):
        a.with_knob("sharpness", 1)
    with pytest.raises(TypeError):
        a["qp"] = 20  # type: ignore[index]


def test_a_space_builds_grids_validates_and_completes_configurations() -> None:
    space = ConfigSpace.default(240, 10, qp=(20, 30), fps=(5, 10))
    assert space.size() == 2 * 5 * 2 == len(set(space.grid()))
    assert space.reference == Configuration(qp=20, height=240, fps=10)
    partial = Configuration(qp=30, height=120)
    with pytest.raises(ConfigurationError, match="does not set"):
        space.validate(partial)
    assert space.validate(space.complete(partial)) == Configuration(qp=30, height=120, fps=10)
    with pytest.raises(ConfigurationError, match="unknown knob 'sharpness'"):
        ConfigSpace.default(240, 10, sharpness=(1, 2))


def test_knobs_act_where_they_say(video_segment) -> None:
    how = plan(video_segment, Configuration(qp=30, height=120, fps=5))
    assert (how.width, how.height, how.rate) == (160, 120, 5) and len(how.sent) == 5
    assert how.options == {**X264_DEFAULTS, "qp": "30"}  # zerolatency: no B-frames
    for name in EXTRA:
        kind = knob_types()[name]
        if issubclass(kind, EncoderKnob):
            assert kind.requires in ({}, B_FRAMES)


def test_knob_options_parse_shorthands_and_knob_specs() -> None:
    lists = parse_knobs({"--qp": "20,30", "--res": None, "--fps": None}, ["fps=5, 2"])
    assert lists == {"qp": [20, 30], "fps": [5, 2]}
    bad = [
        ({"--qp": "20"}, ["qp=30"], "twice"),
        ({}, ["fps"], "NAME=VALUES"),
        ({}, ["nosuch=1"], "unknown knob"),
        ({}, ["fps=fast"], "--knob fps"),
        ({}, ["fps=,"], "empty"),
    ]
    for shorthands, specs, needle in bad:
        with pytest.raises(ConfigurationError, match=needle):
            parse_knobs(shorthands, specs)
