"""The ``fixed:`` policy's spec: any knob by name, or the video shorthand; the syntax and
values checked when parsed, the knobs against the run's space once it is known."""

from __future__ import annotations

import pytest

from oneadapt.errors import ConfigurationError
from oneadapt.inputs import check_policy, parse_policies
from oneadapt.knobs import ConfigSpace, Configuration, StreamShape, parse_fixed

AUDIO = ConfigSpace.build(StreamShape(0, 10), modality="audio")
VIDEO = ConfigSpace.default(240, 5, qp=(24, 40), height=(240, 120), fps=(5, 2))


@pytest.mark.parametrize(
    "spec,config",
    [
        ("fixed:30/240/5", Configuration(qp=30, height=240, fps=5)),
        ("fixed:qp=30,height=240,fps=5", Configuration(qp=30, height=240, fps=5)),
        ("fixed: qp = 30 , fps=5", Configuration(qp=30, fps=5)),
        ("fixed:bitrate=12000,sample_rate=8000", Configuration(bitrate=12000, sample_rate=8000)),
        ("fixed:voxel_m=0.3,draco_bits=9", Configuration(voxel_m=0.3, draco_bits=9)),
        ("fixed:roi=0.5,i_qfactor=0.5", Configuration(roi=0.5, i_qfactor=0.5)),
    ],
)
def test_both_spellings_parse(spec: str, config: Configuration) -> None:
    parsed = parse_fixed(spec)
    assert parsed == config
    assert all(type(parsed[name]) is type(value) for name, value in config.items())


@pytest.mark.parametrize(
    "spec,needle",
    [
        ("fixed:", "is not a fixed-configuration policy"),
        ("fixed:30/240", "is not a fixed-configuration policy"),
        ("fixed:qp=30,40", "is not a fixed-configuration policy"),
        ("fixed:nosuch=3", "unknown knob 'nosuch'"),
        ("fixed:qp=30,qp=40", "names knob qp twice"),
        ("fixed:qp=x", "'x' is not a value of knob qp"),
        ("fixed:qp=٣", "is not a value of knob qp"),
        ("fixed:qp=99", "QP 99 is invalid"),
        ("fixed:sample_rate=9000", "sample rate 9000 is invalid"),
        ("fixed:voxel_m=nan", "voxel size nan is invalid"),
    ],
)
def test_bad_specs_say_what_and_how_in_one_line(spec: str, needle: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_policy(spec)
    message = str(caught.value)
    assert needle in caught.value.problem and "\n" not in message
    assert "fixed:" in caught.value.fix or "Use one of" in caught.value.fix


def test_the_space_completes_its_own_knobs_and_refuses_others() -> None:
    assert AUDIO.fixed(parse_fixed("fixed:bitrate=12000")) == Configuration(
        sample_rate=16000, bitrate=12000
    )
    assert VIDEO.fixed(parse_fixed("fixed:height=120")) == Configuration(qp=24, height=120, fps=5)
    for space, spec in ((AUDIO, "fixed:30/240/5"), (VIDEO, "fixed:qp=30,bitrate=12000")):
        with pytest.raises(ConfigurationError) as caught:
            space.fixed(parse_fixed(spec))
        assert "which this run does not have" in caught.value.problem
        assert caught.value.fix == f"Name knobs of its space: {', '.join(space.names)}."


def test_policy_lists_keep_a_fixed_specs_commas() -> None:
    assert parse_policies("oneadapt,fixed:qp=30,height=240 ,fps=5,oracle,fixed:30/120/2") == [
        "oneadapt",
        "fixed:qp=30,height=240 ,fps=5",
        "oracle",
        "fixed:30/120/2",
    ]
    with pytest.raises(ConfigurationError, match="unknown knob 'nosuch'"):
        parse_policies("oneadapt,fixed:qp=30,nosuch=1")
