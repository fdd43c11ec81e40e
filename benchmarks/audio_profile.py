"""The audio profile table: bytes and VAD agreement at every sample rate and Opus bitrate.

For each shared speech file (``../shared/data/audio``, skipped when absent) and the
procedural speech scene, every 1-second segment is resampled to each sample rate, Opus
coded at each bitrate and decoded (``oneadapt.media.opus``), and Silero VAD (the
differentiable module over the packaged weights) decides speech per 32-ms window. The
reference is the same VAD on the raw 16 kHz audio; agreement is the fraction of windows
whose decision matches it (``oneadapt.tasks.vad``). Each second is coded and analysed on
its own (fresh encoder, VAD from a zero LSTM state), as the camera's 1-second chunks are.

Columns: mean kbit/s of Opus packets, mean and worst per-second agreement, camera
milliseconds to resample and encode and VAD milliseconds, both per second of audio. The
scene's table is also split by regime, one DNNGrad pass is timed at each rate, and
``--plot`` draws the decisions over the waveform at two bitrates.

Usage: ``python benchmarks/audio_profile.py [--scene-seconds 60] [--plot docs/results/...]``.
One torch thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from oneadapt.evaluate.vad_plot import plot_vad_decisions
from oneadapt.knobs.bitrate import BITRATES
from oneadapt.knobs.sample_rate import RATES as SAMPLE_RATES
from oneadapt.media.audio import ANALYSIS_RATE, AudioFileSource, AudioSegment, AudioSource
from oneadapt.media.opus import encode
from oneadapt.media.speech_scene import SpeechScene
from oneadapt.models.silero_vad import SileroVAD, load_silero_vad
from oneadapt.storage import shared_data_dir
from oneadapt.tasks.vad import SpeechProbabilities, VadTask

PLOT_BITRATES = (BITRATES[0], BITRATES[-1])


def profile(source: AudioSource, vad: SileroVAD, task: VadTask) -> pd.DataFrame:
    """One row per (second, sample rate, bitrate), plus the VAD's per-second probabilities."""
    rows = []
    for segment in source.segments():
        reference = vad.infer(segment.samples, segment.sample_rate)
        regime = next((n for a, b, n in source.regimes if a <= segment.index < b), "")
        for rate in SAMPLE_RATES:
            for bitrate in BITRATES:
                coded = encode(segment, rate, bitrate)
                start = time.perf_counter()
                probabilities = vad.infer(coded.decoded, rate)
                rows.append(
                    {
                        "source": source.name,
                        "second": segment.index,
                        "regime": regime,
                        "sample_rate": rate,
                        "bitrate": bitrate,
                        "bytes": coded.num_bytes,
                        "accuracy": task.agreement(probabilities, reference),
                        "encode_s": coded.encode_seconds,
                        "vad_s": time.perf_counter() - start,
                        "speech": float(task.decisions(reference).mean()),
                    }
                )
    return pd.DataFrame(rows)


def table(df: pd.DataFrame, by: list[str]) -> str:
    """A markdown table of per-configuration means over seconds."""
    g = df.groupby(by, sort=False)
    out = pd.DataFrame(
        {
            "kbit/s": g["bytes"].mean() * 8 / 1000,
            "agreement": g["accuracy"].mean(),
            "worst s": g["accuracy"].min(),
            "encode ms/s": g["encode_s"].mean() * 1000,
            "VAD ms/s": g["vad_s"].mean() * 1000,
        }
    ).reset_index()
    out["bitrate"] = out["bitrate"] // 1000
    out = out.rename(columns={"sample_rate": "Hz", "bitrate": "target kbit/s"})
    cells = [[_cell(v) for v in row] for row in out.itertuples(index=False)]
    lines = [list(out.columns), ["---"] * len(out.columns), *cells]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _cell(value: object) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def plot(source: AudioSource, vad: SileroVAD, task: VadTask, path: Path) -> None:
    segments = list(source.segments())
    reference = [vad.infer(s.samples, s.sample_rate) for s in segments]
    configurations = [
        (
            f"Opus {bitrate // 1000} kbit/s, 16 kHz",
            [vad.infer(encode(s, 16000, bitrate).decoded, 16000) for s in segments],
        )
        for bitrate in PLOT_BITRATES
    ]
    samples = np.concatenate([s.samples for s in segments])
    title = f"Silero VAD on {source.name}: decisions at two Opus bitrates"
    plot_vad_decisions(
        task, samples, segments[0].sample_rate, reference, configurations, path, title
    )


def dnngrad_ms(
    source: AudioSource, vad: SileroVAD, task: VadTask, rate: int
) -> tuple[float, float]:
    """Median milliseconds per second of audio at ``rate``: the VAD's forward pass, and
    forward plus the proxy's backward pass to the waveform (one DNNGrad)."""
    forward, backward = [], []
    for segment in source.segments():
        audio = torch.from_numpy(encode(segment, rate, BITRATES[0]).decoded)[None]
        start = time.perf_counter()
        vad.infer(audio[0].numpy(), rate)
        forward.append(time.perf_counter() - start)
        start = time.perf_counter()
        audio.requires_grad_()
        task.proxy(SpeechProbabilities(vad(audio, rate)[0])).backward()
        backward.append(time.perf_counter() - start)
    return 1000 * float(np.median(forward)), 1000 * float(np.median(backward))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scene-seconds", type=int, default=60)
    parser.add_argument("--scene-seed", type=int, default=0)
    parser.add_argument("--plot", type=Path, help="PNG of VAD decisions on vosk_test.wav")
    args = parser.parse_args()
    torch.set_num_threads(1)
    vad, task = load_silero_vad(), VadTask()
    warm_up = AudioSegment(0, np.zeros(ANALYSIS_RATE, np.float32), ANALYSIS_RATE)
    for rate in SAMPLE_RATES:  # first calls load codec and resampler code: keep it out of ms
        vad.infer(encode(warm_up, rate, BITRATES[0]).decoded, rate)
    audio_dir = shared_data_dir() / "audio"
    files = sorted(audio_dir.glob("*.wav")) + sorted(audio_dir.glob("*.flac"))
    sources: list[AudioSource] = [AudioFileSource(f) for f in files]
    scene = SpeechScene(args.scene_seed, args.scene_seconds)
    sources.append(scene)
    knobs = ["sample_rate", "bitrate"]
    for source in sources:
        df = profile(source, vad, task)
        seconds, speech = df["second"].nunique(), df.groupby("second")["speech"].first().mean()
        print(f"\n### {source.name} ({seconds} s, {speech:.0%} speech windows in the reference)\n")
        print(table(df, knobs))
        if source is scene:
            print(f"\n#### {source.name} by regime (16 kHz)\n")
            print(table(df[df["sample_rate"] == 16000], ["regime", *knobs]))
    print()
    for rate in SAMPLE_RATES:
        forward, backward = dnngrad_ms(scene, vad, task, rate)
        print(
            f"VAD per second at {rate} Hz (median over {scene.name}): forward {forward:.1f} ms, "
            f"forward + proxy backward to the waveform (DNNGrad) {backward:.1f} ms"
        )
    if args.plot:
        vosk = audio_dir / "vosk_test.wav"
        plot(AudioFileSource(vosk) if vosk.is_file() else scene, vad, task, args.plot)
        print(f"\nwrote {args.plot}")


if __name__ == "__main__":
    main()
