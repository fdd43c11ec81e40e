"""Voice activity decisions drawn over the waveform, one panel per configuration.

What a bitrate costs a VAD is easiest to see in time: where along the recording the
decisions on the coded audio part from those on the raw audio (marked in red).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from oneadapt.models.silero_vad import WINDOW_SECONDS
from oneadapt.storage import atomic_path
from oneadapt.tasks.vad import VadTask


def window_spans(per_second: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) seconds of every 32-ms window of consecutive 1-second segments; a
    segment's last window is cut at the segment's end."""
    starts = np.concatenate(
        [second + WINDOW_SECONDS * np.arange(len(p)) for second, p in enumerate(per_second)]
    )
    return starts, np.minimum(starts + WINDOW_SECONDS, np.floor(starts) + 1)


def plot_vad_decisions(
    task: VadTask,
    samples: np.ndarray,
    sample_rate: int,
    reference: Sequence[np.ndarray],
    configurations: Sequence[tuple[str, Sequence[np.ndarray]]],
    path: Path,
    title: str,
) -> None:
    """Waveform with speech windows shaded: the reference (raw audio) on top, then one
    panel per (label, per-second probabilities) with windows that disagree in red."""
    truth = task.decisions(np.concatenate(reference))
    starts, ends = window_spans(reference)
    panels = [("reference (raw audio)", reference), *configurations]
    fig = Figure(figsize=(11, 1.9 * len(panels) + 0.6), dpi=110)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    time = np.arange(len(samples)) / sample_rate
    peak = float(np.abs(samples).max()) or 1.0
    for ax, (label, per_second) in zip(axes, panels, strict=True):
        decided = task.decisions(np.concatenate(per_second))
        for start, end, speech, wrong in zip(starts, ends, decided, decided != truth, strict=True):
            if speech:
                ax.axvspan(start, end, color="tab:green", alpha=0.25, lw=0)
            if wrong:
                ax.axvspan(start, end, ymin=0.0, ymax=0.12, color="crimson", lw=0)
        ax.plot(time, samples / peak, color="0.3", lw=0.3)
        agreement = float(np.mean(decided == truth))
        ax.set_title(f"{label}: agreement {agreement:.3f}", fontsize=9, loc="left")
        ax.set_ylim(-1.05, 1.05)
        ax.set_yticks([])
    axes[-1].set_xlabel("time (s); green: speech windows, red: decision differs from reference")
    axes[-1].set_xlim(0, len(samples) / sample_rate)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
