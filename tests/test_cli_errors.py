"""Every bad-input path of the CLI: one-line error naming problem and fix, exit 2, no output."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from media_helpers import write_counter_video

from oneadapt.knobs import knob_types


def oneadapt(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "oneadapt", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("v") / "clip.mp4"
    write_counter_video(path, Fraction(10), 20)
    return path


@pytest.fixture(scope="module")
def onnx_model(builtin_onnx: Path) -> Path:
    """A valid ONNX detector: the bad input, not the model, must be what fails."""
    return builtin_onnx


def assert_user_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_missing_video(tmp_path, onnx_model):
    out = tmp_path / "out"
    assert_user_error(
        oneadapt("profile", tmp_path / "none.mp4", "-m", onnx_model, "-o", out), "does not exist"
    )
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("content,needle", [(b"", "empty"), (b"\x00garbage" * 500, "decode")])
def test_bad_video_files(tmp_path, onnx_model, content, needle):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    out = tmp_path / "out"
    assert_user_error(oneadapt("profile", bad, "-m", onnx_model, "-o", out), needle)
    assert not out.exists() or not any(out.iterdir())


def test_missing_model_file(tmp_path, video):
    assert_user_error(
        oneadapt("profile", video, "-m", tmp_path / "m.onnx", "-o", tmp_path / "o"),
        "does not exist",
    )


def test_unknown_model_format(tmp_path, video):
    weights = tmp_path / "model.pkl"
    weights.write_bytes(b"not a model")
    assert_user_error(oneadapt("profile", video, "-m", weights, "-o", tmp_path / "o"), "format")


def test_corrupt_onnx(tmp_path, video):
    weights = tmp_path / "model.onnx"
    weights.write_bytes(b"\x08\x07garbage" * 100)
    assert_user_error(oneadapt("profile", video, "-m", weights, "-o", tmp_path / "o"), str(weights))


def test_unsupported_onnx_model(tmp_path, video, shared_data):
    pose_model = shared_data / "models" / "movenet_singlepose_lightning_int8_192.onnx"
    assert_user_error(
        oneadapt("profile", video, "-m", pose_model, "-o", tmp_path / "o"),
        "not a supported detector",
    )


def test_unknown_model_name(tmp_path, video):
    assert_user_error(
        oneadapt("profile", video, "-m", "no-such-model", "-o", tmp_path / "o"), "no-such-model"
    )


@pytest.mark.parametrize(
    "knob", [("--qp", "20,99"), ("--fps", "10,30"), ("--res", "40,41"), ("--qp", "twenty")]
)
def test_invalid_knob_values(tmp_path, video, onnx_model, knob):
    out = tmp_path / "o"
    assert_user_error(oneadapt("profile", video, "-m", onnx_model, "-o", out, *knob), knob[0])
    assert not out.exists()


@pytest.mark.parametrize("name", sorted(knob_types()))
def test_every_knob_rejects_an_invalid_value_on_the_command_line(tmp_path, video, onnx_model, name):
    kind = knob_types()[name]
    option = [kind.flag, "1000000"] if kind.flag else ["--knob", f"{name}=1000000"]
    out = tmp_path / "o"
    assert_user_error(
        oneadapt("profile", video, "-m", onnx_model, "-o", out, *option), kind.option(), "invalid"
    )
    assert not out.exists()


def test_unknown_knob_and_knob_given_twice(tmp_path, video, onnx_model):
    out = tmp_path / "o"
    args = ("profile", video, "-m", onnx_model, "-o", out)
    assert_user_error(oneadapt(*args, "--knob", "sharpness=1"), "unknown knob", "qp")
    assert_user_error(oneadapt(*args, "--qp", "20", "--knob", "qp=30"), "qp is given twice")
    assert not out.exists()


@pytest.mark.parametrize(
    "args,needles",
    [
        (("run", "{video}", "--policy", "fixed:qp=30,sharpness=1"), ("unknown knob", "qp")),
        (("run", "{video}", "--policy", "fixed:qp=30,qp=31"), ("names knob qp twice",)),
        (  # a knob of another sensor: refused with the knobs this run has
            ("run", "speech:1", "-m", "silero-vad", "--policy", "fixed:qp=30"),
            ("fixed: names knob(s) qp", "sample_rate, bitrate"),
        ),
        (
            ("bench", "speech:1", "-m", "silero-vad", "--policies", "oneadapt,fixed:voxel_m=0.2"),
            ("knob(s) voxel_m", "sample_rate, bitrate"),
        ),
    ],
)
def test_fixed_policy_with_a_knob_the_run_lacks(tmp_path, video, onnx_model, args, needles):
    out = tmp_path / "o"
    command = [str(a).format(video=video) for a in args]
    model = [] if "-m" in command else ["-m", onnx_model]
    assert_user_error(oneadapt(*command, *model, "-o", out, "-s", "2"), *needles)
    assert not out.exists() or not any(out.iterdir())


def test_unwritable_output_dir(tmp_path, video, onnx_model):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a directory should be")
    assert_user_error(
        oneadapt("profile", video, "-m", onnx_model, "-o", blocker / "out"), "is a file"
    )
