"""The VAD decision plot: window times and a written PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from oneadapt.evaluate.vad_plot import plot_vad_decisions, window_spans
from oneadapt.tasks.vad import VadTask


def test_window_spans_tile_each_second() -> None:
    starts, ends = window_spans([np.zeros(32), np.zeros(32)])
    assert len(starts) == 64 and starts[0] == 0.0 and starts[32] == 1.0
    assert np.allclose(ends[:31] - starts[:31], 0.032)
    assert ends[31] == 1.0 and ends[-1] == 2.0  # the partial last window stops at the second


def test_plot_writes_a_png(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    samples = rng.uniform(-0.5, 0.5, 32000).astype(np.float32)
    reference = [rng.uniform(0, 1, 32) for _ in range(2)]
    coded = [np.where(rng.uniform(size=32) < 0.1, 1 - r, r) for r in reference]
    path = tmp_path / "vad.png"
    plot_vad_decisions(VadTask(), samples, 16000, reference, [("coded", coded)], path, "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
