"""Shared fixtures. Tests that need ../shared/data skip with a message when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from oneadapt.storage import shared_data_dir

torch.set_num_threads(2)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (or ``$ONEADAPT_DATA``); skips the test when it is not there."""
    path = shared_data_dir()
    if not (path / "videos").is_dir():
        pytest.skip(f"shared data not found at {path} (set ONEADAPT_DATA to run this test)")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test session gets its own inference cache, so no result leaks in from outside."""
    if "ONEADAPT_CACHE" not in os.environ:
        monkeypatch.setenv("ONEADAPT_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
