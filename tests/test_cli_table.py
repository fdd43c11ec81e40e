"""Every command against every bad input: exit code 2, exactly one stderr line, and no
file or folder created. Runs the CLI in-process (no interpreter start per case)."""

from __future__ import annotations

import os
import signal
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import pytest
from media_helpers import write_counter_video

from oneadapt.cli import main

MEASURING = ("profile", "run", "gradcheck", "bench")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """Read-only inputs outside each case's working directory."""
    root = tmp_path_factory.mktemp("inputs")
    write_counter_video(root / "clip.mp4", Fraction(10), 20, size=(160, 96))
    write_counter_video(root / "short.mp4", Fraction(10), 5, size=(160, 96))
    (root / "empty.mp4").write_bytes(b"")
    (root / "garbage.mp4").write_bytes(b"\x00garbage" * 500)
    (root / "model.pkl").write_bytes(b"not a model")
    (root / "broken.onnx").write_bytes(b"\x08\x07garbage" * 100)
    (root / "page.html").write_text("<!doctype html><html><body>Not Found</body></html>")
    (root / "a-file").write_text("a file where a directory should be")
    (root / "adir").mkdir()
    (root / "adir.onnx").mkdir()
    (root / "partial").mkdir()
    (root / "partial" / "summary.json").write_text('{"points": []}')
    return root


@dataclass
class Case:
    """One bad input: ``change`` turns a command's valid arguments into bad ones."""

    name: str
    commands: tuple[str, ...]
    change: Callable[[list[str], Path], list[str]]
    env: dict[str, str] = field(default_factory=dict)
    says: str = ""
    """Text the error line must contain, where a vaguer message would mislead."""


def video(spec: str) -> Callable[[list[str], Path], list[str]]:
    def change(args: list[str], root: Path) -> list[str]:
        bad = spec if spec.startswith("scene") else str(root / spec)
        return [bad if a == "VIDEO" else a for a in args]

    return change


def model(spec: str) -> Callable[[list[str], Path], list[str]]:
    return lambda args, root: [spec.format(root=root) if a == "builtin" else a for a in args]


def add(*extra: str) -> Callable[[list[str], Path], list[str]]:
    return lambda args, root: [*args, *(e.format(root=root) for e in extra)]


CASES = [
    Case("missing video", MEASURING, video("none.mp4")),
    Case("directory as video", MEASURING, video("adir"), says="is a directory"),
    Case("empty video", MEASURING, video("empty.mp4")),
    Case("undecodable video", MEASURING, video("garbage.mp4")),
    Case("video shorter than 1 s", MEASURING, video("short.mp4")),
    Case("bad scene spec", MEASURING, video("scene:x")),
    Case("missing model file", MEASURING, model("{root}/none.onnx")),
    Case("unknown model name", MEASURING, model("no-such-model")),
    Case("unknown model format", MEASURING, model("{root}/model.pkl")),
    Case("corrupt onnx", MEASURING, model("{root}/broken.onnx")),
    Case("directory as model", MEASURING, model("{root}/adir.onnx"), says="is a directory"),
    Case("QP out of range", MEASURING, add("--qp", "20,99")),
    Case("QP not a number", MEASURING, add("--qp", "twenty")),
    Case("empty QP list", MEASURING, add("--qp", ",")),
    Case("frame rate above analysis rate", MEASURING, add("--fps", "10,30")),
    Case("unknown class", MEASURING, add("--classes", "foo,car"), says="'foo'"),
    Case(
        "padded unknown class", MEASURING, add("--classes", "person, bus stop"), says="'bus stop'"
    ),
    Case(
        "out is an existing file",
        MEASURING + ("demo",),
        add("-o", "{root}/a-file"),
        says="is an existing file",
    ),
    Case("out under a file", MEASURING + ("demo",), add("-o", "{root}/a-file/out")),
    Case("cache under a file", MEASURING, add(), {"ONEADAPT_CACHE": "{root}/a-file/cache"}),
    Case("seconds zero (usage error)", MEASURING, add("-s", "0")),
    Case("unknown option (usage error)", MEASURING, add("--no-such-option")),
    Case("lambda inf", ("run", "demo"), add("--lambda", "inf")),
    Case("lambda nan", ("run", "demo"), add("--lambda", "nan")),
    Case("lambdas nan,inf", ("bench",), add("--lambdas", "nan,inf")),
    Case("lambda given twice", ("bench",), add("--lambdas", "0.1,0.1")),
    Case("unknown policy", ("run", "camera"), add("--policy", "nosuch")),
    Case("bad fixed policy", ("run", "camera"), add("--policy", "fixed:30/240")),
    Case(
        "policy that needs the reference",
        ("camera",),
        add("--policy", "awstream"),
        says="does not have",
    ),
    Case(
        "budget with a fixed policy",
        ("run", "camera"),
        add("--policy", "fixed:30/96/5", "--max-kbps", "100"),
        says="--max-kbps",
    ),
    Case(
        "fixed height not a knob value", ("camera",), add("--policy", "fixed:30/240/5"), says="240"
    ),
    Case("unknown policy late in list", ("bench",), add("--policies", "oneadapt,nosuch")),
    Case("same video twice", ("bench",), add("{root}/clip.mp4"), says="given twice"),
    Case("same scene twice", ("bench",), lambda a, r: ["bench", "scene:1", "scene:1", *a[2:]]),
    Case("missing second video", ("bench",), add("{root}/none.mp4")),
    Case("missing directory", ("report",), add("{root}/none")),
    Case("empty directory", ("report",), add("{root}/adir")),
    Case("partial bench directory", ("report",), add("{root}/partial")),
    Case("file as directory", ("report",), add("{root}/a-file")),
    Case("weights out is a directory", ("train-builtin",), add("--out", "{root}/adir")),
    Case("weights out under a file", ("train-builtin",), add("--out", "{root}/a-file/w.pt")),
    Case("name with a path", ("models pull",), add("../escaped", "--url", "file://{root}/x")),
    Case("unknown name without URL", ("models pull",), add("no-such-model")),
    Case("HTML page as model", ("models pull",), add("mine", "--url", "file://{root}/page.html")),
    Case("missing URL file", ("models pull",), add("mine", "--url", "file://{root}/none.onnx")),
    Case("bad checksum", ("models pull",), add("yolox-nano", "--sha256", "abc")),
]

VALID = {
    "profile": ["profile", "VIDEO", "-m", "builtin", "-o", "out", "-s", "1"],
    "run": ["run", "VIDEO", "-m", "builtin", "-o", "out", "-s", "1"],
    "gradcheck": ["gradcheck", "VIDEO", "-m", "builtin", "-o", "out", "-s", "1"],
    "bench": ["bench", "VIDEO", "-m", "builtin", "-o", "out", "-s", "1", "--lambdas", "0.3"],
    "demo": ["demo", "--seconds", "2", "--height", "64"],
    "camera": ["camera", "VIDEO", "--server", "127.0.0.1:9", "--out", "out", "-s", "1"],
    "report": ["report"],
    "train-builtin": ["train-builtin", "--steps", "1"],
    "models pull": ["models", "pull"],
}
TABLE = [(command, case) for case in CASES for command in case.commands]


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize(
    "command,case", TABLE, ids=[f"{command}: {case.name}" for command, case in TABLE]
)
def test_bad_input(command, case, inputs, tmp_path, monkeypatch, capfd):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("ONEADAPT_MODELS", str(work / "models"))
    for key, value in case.env.items():
        monkeypatch.setenv(key, value.format(root=inputs))
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # main() replaces it
    args = case.change(VALID[command], inputs)
    args = [str(inputs / "clip.mp4") if a == "VIDEO" else a for a in args]
    monkeypatch.setattr(sys, "argv", ["oneadapt", *args])
    before_inputs, before_work = snapshot(inputs), snapshot(work)
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert exit_info.value.code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert case.says in lines[0]
    assert snapshot(work) == before_work, "files or folders were left in the working directory"
    assert snapshot(inputs) == before_inputs, "files or folders were left beside the inputs"
    assert not (inputs.parent / "escaped.onnx").exists()
    assert os.getcwd() == str(work)
