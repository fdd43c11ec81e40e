"""The camera-side cap that holds a bandwidth budget over every window of seconds."""

from __future__ import annotations

import pytest

from oneadapt.adapt.rate_cap import fit_under_cap, window_cap
from oneadapt.knobs import ConfigSpace, Configuration
from oneadapt.media.codec import compress
from oneadapt.media.scene import SceneSource


def test_window_cap_leaves_each_window_what_it_has_left() -> None:
    assert window_cap([], 10.0, 3) == 10.0
    assert window_cap([5.0], 10.0, 3) == pytest.approx(12.5)  # under-spending carries over
    assert window_cap([20.0, 5.0], 10.0, 3) == pytest.approx(5.0)  # that window's last second
    assert window_cap([40.0, 0.0], 10.0, 3) == 0.0  # overspent: nothing, never negative
    assert window_cap([1.0] * 50, 10.0, 3) == pytest.approx(14.5)  # only the last W-1 count


def test_window_cap_given_the_rest_leaves_what_the_later_seconds_do_not_take() -> None:
    assert window_cap([], 10.0, 3, rest=5.0) == pytest.approx(20.0)  # 30 - 2 x 5
    assert window_cap([5.0], 10.0, 3, rest=5.0) == pytest.approx(20.0)
    assert window_cap([20.0, 5.0], 10.0, 3, rest=5.0) == pytest.approx(5.0)  # a last second
    assert window_cap([], 10.0, 3, rest=20.0) == 0.0  # the rest alone overspends


def test_fit_under_cap_steps_qp_first_until_the_second_fits() -> None:
    source = SceneSource(seed=3, seconds=1, width=160, height=96)
    segment = next(source.segments(1))
    space = ConfigSpace.default(96, qp=(20, 30, 40, 50))
    lowest = {k.name: k.values[-1] for k in space.knobs}
    config = space.reference
    size = {
        q: compress(segment, config.with_knob("qp", q)).num_bytes * 8 / 1000 for q in (20, 30, 40)
    }
    assert size[20] > size[30] > size[40]
    cap = (size[30] + size[40]) / 2
    fitted, spent = fit_under_cap(segment, config, space.knobs, lowest, cap)
    assert fitted == config.with_knob("qp", 40)  # QP before any other knob
    assert compress(segment, fitted).num_bytes * 8 / 1000 <= cap
    assert spent.camera_encodes == 3  # QP 20, 30, 40
    same, spent = fit_under_cap(segment, config, space.knobs, lowest, size[20] + 1)
    assert same == config and spent.camera_encodes == 1
    floor, _ = fit_under_cap(segment, config, space.knobs, lowest, 0.0)
    assert floor == Configuration(lowest)  # nothing fits: every knob at its lowest
    # Dithering: the rung above the one that fits is sent when the windows afford it with
    # the later seconds at the cheaper rung, and only then.
    affordable = {size[40]: size[30]}
    dithered, spent = fit_under_cap(
        segment, config, space.knobs, lowest, cap, stretch=lambda rest: affordable[rest]
    )
    assert dithered == config.with_knob("qp", 30) and spent.camera_encodes == 3
    held, _ = fit_under_cap(
        segment, config, space.knobs, lowest, cap, stretch=lambda rest: affordable[rest] - 1
    )
    assert held == config.with_knob("qp", 40)
