"""Broken state and interruptions: what survives, what is removed, what is recovered,
and what the user is told."""

from __future__ import annotations

import io
import signal
import sqlite3
import subprocess
import sys
import time
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from media_helpers import write_counter_video
from rich.console import Console
from rich.table import Table

from oneadapt import console as console_module
from oneadapt.evaluate import bench as bench_module
from oneadapt.inference_cache import CacheWarning, InferenceCache
from oneadapt.inputs import open_sources
from oneadapt.media.sources import ShortVideoWarning, VideoSource
from oneadapt.models.builtin import load_builtin
from oneadapt.storage import OutputDir
from oneadapt.tasks.detection import Detections

POLICIES = ["fixed:20/96/10", "fixed:40/96/10"]


@pytest.fixture(scope="module")
def same_named(tmp_path_factory) -> list[str]:
    """Two different 2-second clips, both called video.mp4."""
    root = tmp_path_factory.mktemp("cams")
    paths = []
    for i, cam in enumerate(("cam1", "cam2")):
        (root / cam).mkdir()
        write_counter_video(root / cam / "video.mp4", Fraction(10), 20 + i, size=(160, 96))
        paths.append(str(root / cam / "video.mp4"))
    return paths


def run_bench(sources, out: Path, resume: bool = False) -> dict:
    with OutputDir(out) as target:
        model = load_builtin()
        return bench_module.bench(
            sources, model, POLICIES, [0.3], target, seconds=1, progress=False, resume=resume
        )


def test_same_file_names_stay_apart(same_named):
    sources = open_sources(same_named, fps=10, seconds=1)
    assert [s.name for s in sources] == ["cam1/video", "cam2/video"]


def test_interrupted_bench_keeps_finished_points_and_resumes(same_named, tmp_path, monkeypatch):
    out = tmp_path / "new" / "bench"
    real = bench_module.run_policy
    calls = []

    def interrupted_after_one(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(bench_module, "run_policy", interrupted_after_one)
    with pytest.raises(KeyboardInterrupt):
        run_bench(open_sources(same_named[:1], 10, 1), out)
    saved = sorted((out / "points").glob("*.parquet"))
    assert len(saved) == 1 and not (out / "summary.json").exists()
    assert pd.read_parquet(saved[0])["policy"].unique().tolist() == [POLICIES[0]]

    calls.clear()
    monkeypatch.setattr(
        bench_module, "run_policy", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    summary = run_bench(open_sources(same_named[:1], 10, 1), out, resume=True)
    assert len(calls) == 1, "the finished point was measured again"
    assert sorted(p["policy"] for p in summary["points"]) == sorted(POLICIES)

    calls.clear()
    run_bench(open_sources(same_named[:1], 10, 1), out)  # no --resume: starts over
    assert len(calls) == 2


def test_output_dir_is_removed_only_if_this_run_created_it(tmp_path):
    created = tmp_path / "a" / "b"
    with pytest.raises(RuntimeError), OutputDir(created) as target:
        (target.create() / "half.txt").write_text("x")
        raise RuntimeError
    assert not (tmp_path / "a").exists()

    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(RuntimeError), OutputDir(existing / "sub"):
        raise RuntimeError  # nothing created: nothing to remove
    with pytest.raises(RuntimeError), OutputDir(existing):
        raise RuntimeError
    assert existing.is_dir()

    kept = tmp_path / "kept"
    with pytest.raises(RuntimeError), OutputDir(kept) as target:
        target.create()
        target.keep = True
        raise RuntimeError
    assert kept.is_dir()


def _write_cache(path: Path, rows: int) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE detections (key TEXT PRIMARY KEY, rows BLOB, seconds REAL)")
    db.executemany(
        "INSERT INTO detections VALUES (?, ?, ?)",
        [(str(i), np.zeros(6 * 100, np.float32).tobytes(), 0.1) for i in range(rows)],
    )
    db.commit()
    db.close()


@pytest.mark.parametrize("damage", ["not a database", "truncated"])
def test_corrupt_cache_is_set_aside_with_a_warning(tmp_path, damage):
    path = tmp_path / "detections.sqlite"
    if damage == "truncated":
        _write_cache(path, 300)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_text("not a database at all")
    with pytest.warns(CacheWarning, match="corrupt.*set it aside"):
        cache = InferenceCache(path)
        cache.get("250", Detections)  # a truncated file may only fail when a lost page is read
    dets = Detections.from_array(np.ones((2, 6), np.float32))
    cache.put("k", dets, 0.5)
    assert cache.get("k", Detections)[1] == 0.5
    assert len(list(tmp_path.glob("detections.sqlite.corrupt-*"))) == 1


def test_undecodable_cache_row_is_a_miss(tmp_path):
    path = tmp_path / "detections.sqlite"
    _write_cache(path, 1)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE detections SET rows = ? WHERE key = '0'", (b"\x00" * 7,))
    assert InferenceCache(path).get("0", Detections) is None


def test_truncated_video_says_how_much_was_decodable(shared_data, tmp_path):
    clip = tmp_path / "truncated.mp4"
    clip.write_bytes((shared_data / "videos" / "intel_car-detection.mp4").read_bytes()[:200_000])
    source = VideoSource(clip)
    with pytest.warns(ShortVideoWarning, match=r"only 1 s decodable of the 2 s asked.*truncated"):
        assert len(list(source.segments(2))) == 1


def test_complete_video_does_not_warn(same_named):
    source = VideoSource(same_named[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(list(source.segments(2))) == 2
    with pytest.warns(ShortVideoWarning, match="only 2 s decodable of the 5 s asked"):
        list(source.segments(5))


def test_tables_are_not_cut_in_logs(capsys):
    table = Table(title="wide")
    for i in range(12):
        table.add_column(f"column-number-{i}")
    table.add_row(*[f"accuracy-{i}" for i in range(12)])
    console_module.print_table(table)  # capsys: stdout is not a terminal
    out = capsys.readouterr().out
    assert "…" not in out and "column-number-11" in out and "accuracy-11" in out


def test_progress_prints_plain_lines_in_logs(monkeypatch):
    monkeypatch.setattr(console_module, "LOG_EVERY_S", 0.0)
    log = io.StringIO()
    with console_module.Progress(console=Console(file=log, width=200)) as bar:
        job = bar.add_task("profiling 4 configurations", total=4)
        for _ in range(4):
            bar.advance(job)
    lines = log.getvalue().splitlines()
    assert lines[0].startswith("profiling 4 configurations: 1/4")
    assert lines[-1].startswith("profiling 4 configurations: 4/4")


def oneadapt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "oneadapt", *args], capture_output=True, text=True, timeout=120
    )


def test_version_and_scene_in_help():
    result = oneadapt("--version")
    assert result.returncode == 0 and result.stdout.startswith("oneadapt ")
    for command in ("profile", "run", "gradcheck"):
        help_text = oneadapt(command, "--help").stdout
        assert "scene:SEED" in " ".join(help_text.split()), command


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_removes_the_output_folder_it_created(tmp_path, sig):
    out = tmp_path / "new" / "demo"  # the demo creates its folder as soon as it starts
    process = subprocess.Popen(
        [sys.executable, "-m", "oneadapt", "demo", "--seconds", "30", "--height", "64"]
        + ["-o", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert out.exists(), "the demo did not start"
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    lines = [line for line in err.splitlines() if line.strip()]
    assert process.returncode == 130, err
    name = signal.Signals(sig).name
    assert lines[-1] == f"error: interrupted ({name}); nothing was left half-written.", err
    assert not (tmp_path / "new").exists()
