"""The built-in detector: loads from the committed weights, differentiable, accurate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from oneadapt.errors import OneAdaptError
from oneadapt.media.scene import SCENE_CLASSES, SceneSource
from oneadapt.models.base import to_tensor
from oneadapt.models.builtin import WEIGHTS_PATH, load_builtin
from oneadapt.tasks.ground_truth import map50


@pytest.fixture(scope="module")
def model():
    return load_builtin()


def test_loads_committed_weights_small(model) -> None:
    assert WEIGHTS_PATH.stat().st_size < 5_000_000
    assert model.id.startswith("builtin-") and len(model.id) > len("builtin-")
    assert tuple(model.class_names) == SCENE_CLASSES
    assert sum(p.numel() for p in model.net.parameters()) < 2_000_000


def test_missing_or_corrupt_weights_raise_user_error(tmp_path: Path) -> None:
    with pytest.raises(OneAdaptError, match="train-builtin"):
        load_builtin(tmp_path / "absent.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a state dict")
    with pytest.raises(OneAdaptError, match="train-builtin"):
        load_builtin(bad)


def test_scores_have_finite_nonzero_input_gradients(model) -> None:
    frame, _ = SceneSource(seed=7, seconds=2).frame(5)
    x = to_tensor(frame[None], requires_grad=True)
    dets = model.forward(x)
    assert len(dets) == 1 and len(dets[0]) > 0
    dets[0].scores.sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_detects_scene_objects_on_an_unseen_seed(model) -> None:
    source = SceneSource(seed=2000, seconds=60)  # a seed outside TRAIN_SCENE_SEEDS
    frames, truth = [], []
    for k in range(0, 600, 60):
        frame, gt = source.frame(k)
        frames.append(frame)
        truth.append(gt)
    preds = model.infer(np.stack(frames))
    for p in preds:
        assert torch.all(p.boxes[:, 2] <= 1280) and torch.all(p.boxes[:, 3] <= 720)
    assert map50(preds, truth, range(len(SCENE_CLASSES))) > 0.7


def test_training_is_reproducible_to_the_byte(tmp_path: Path) -> None:
    """Same seed, same steps: identical weight files, wherever they are written."""
    from oneadapt.models.train_builtin import train_builtin

    first, second = tmp_path / "a.pt", tmp_path / "sub" / "b.pt"
    for out in (first, second):
        stats = train_builtin(out, steps=2, batch_size=2, scene_seeds=[1000], workers=1)
        assert stats["steps"] == 2
    assert first.read_bytes() == second.read_bytes()
    load_builtin(first)  # and they load as the built-in model
