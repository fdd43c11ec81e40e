import numpy as np
import pytest

from oneadapt.errors import OneAdaptError
from oneadapt.knobs import ConfigSpace, Configuration, resolution_ladder
from oneadapt.knobs.fps import sent_frames
from oneadapt.knobs.qp import QP
from oneadapt.media.codec import decode, encode
from oneadapt.media.sources import Segment


@pytest.fixture(scope="module")
def segment() -> Segment:
    """A textured, moving 10-frame segment (odd-sized to exercise even rounding)."""
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (121, 161, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:121, 0:161]
    frames = []
    for t in range(10):
        img = base.copy()
        img[(xx - 40 - 6 * t) ** 2 + (yy - 60) ** 2 < 400] = (220, 40, 40)
        frames.append(img)
    return Segment(0, np.stack(frames), np.arange(10) / 10, 10)


def test_bytes_fall_with_qp(segment):
    sizes = [
        encode(segment, Configuration(qp=qp, height=120, fps=10)).num_bytes
        for qp in (20, 30, 40, 50)
    ]
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False)), sizes


def test_decoded_matches_reference_size_and_quality_falls(segment):
    errors = []
    for qp, height in [(20, 120), (40, 120), (40, 60)]:
        enc = encode(segment, Configuration(qp=qp, height=height, fps=10))
        assert enc.decoded.shape == segment.frames.shape and enc.decoded.dtype == np.uint8
        errors.append(np.abs(enc.decoded.astype(int) - segment.frames).mean())
    assert errors[0] < errors[1] < errors[2]


def test_bytes_fall_with_resolution(segment):
    sizes = [
        encode(segment, Configuration(qp=30, height=h, fps=10)).num_bytes for h in (120, 90, 60, 30)
    ]
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False)), sizes


@pytest.mark.parametrize(
    "fps,expected", [(10, range(10)), (5, [0, 2, 4, 6, 8]), (3, [0, 3, 6]), (2, [0, 5]), (1, [0])]
)
def test_frame_rate_sends_expected_frames(segment, fps, expected):
    enc = encode(segment, Configuration(qp=30, height=120, fps=fps))
    assert enc.sent.tolist() == list(expected)
    assert sent_frames(10, 10, fps).tolist() == list(expected)
    # An unsent frame repeats the last sent one.
    for i in range(10):
        last = max(s for s in expected if s <= i)
        assert np.array_equal(enc.decoded[i], enc.decoded[last])
    assert len(decode(enc.data, segment.width, segment.height)) == len(expected)


def test_encoding_is_deterministic(segment):
    a = encode(segment, Configuration(qp=30, height=90, fps=5))
    b = encode(segment, Configuration(qp=30, height=90, fps=5))
    assert a.data == b.data


def test_invalid_knob_values(segment):
    with pytest.raises(OneAdaptError):
        encode(segment, Configuration(qp=60, height=120, fps=10))
    with pytest.raises(OneAdaptError):
        encode(segment, Configuration(qp=30, height=120, fps=20))
    with pytest.raises(OneAdaptError):
        ConfigSpace.default(240, qp=[20, 70])
    with pytest.raises(OneAdaptError):
        ConfigSpace.default(240, height=[480])
    with pytest.raises(OneAdaptError):
        ConfigSpace.default(240, fps=[0])


def test_knob_positions_round_trip():
    knob = QP((20, 30, 40, 50))
    assert [knob.position(v) for v in knob.values] == [1.0, 0.75, 0.5, 0.25]
    assert all(knob.value_at(knob.position(v)) == v for v in knob.values)
    assert knob.cheaper(40) == 50 and knob.cheaper(50) is None
    assert resolution_ladder(720) == (720, 540, 360, 270, 180)
    assert resolution_ladder(241)[0] == 240


def test_space_orders_expensive_first():
    space = ConfigSpace.default(480, qp=[40, 20, 30], height=[240, 480], fps=[1, 10, 5])
    assert space.reference == Configuration(qp=20, height=480, fps=10)
    assert space.size() == 3 * 2 * 3 == len(list(space.grid()))
