"""Import ``onnx2torch.convert`` on machines without a working torchvision.

onnx2torch imports torchvision at module level, but only its NonMaxSuppression and
RoiAlign converters use it, and no detector graph here contains those ops. This project
must not depend on torchvision (PyPI's build is CUDA-only and fails to import on CPU
machines), so when ``import torchvision`` fails a stub ``torchvision``/``torchvision.ops``
is placed in ``sys.modules`` just for the duration of the onnx2torch import. The stub's
functions raise a clear error if such a converter ever runs; the stub is removed again
afterwards so nothing else mistakes it for the real package.

onnx2torch's Slice converter indexes with a list, which PyTorch flags with a deprecation
warning on every process; it still slices correctly (tests/test_onnx_models.py checks the
converted graphs against onnxruntime), so that one warning from onnx2torch is silenced. So
is its warning that linear Resize with "asymmetric" / "align_corners" coordinates "might
differ": the DeepLab segmenter's TFLite resizes use them, and its converted module matches
onnxruntime to 1e-3 on its logits (tests/test_segmentation.py).
"""

from __future__ import annotations

import sys
import types
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["convert"]


def _needs_torchvision(name: str) -> Callable[..., Any]:
    def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"torchvision.ops.{name} is needed by this ONNX graph's onnx2torch converter "
            "(NonMaxSuppression / RoiAlign), but torchvision is not importable here. "
            "The supported detectors do not use these ops."
        )

    unavailable.__name__ = name
    return unavailable


def _stub_modules() -> dict[str, types.ModuleType]:
    ops = types.ModuleType("torchvision.ops")
    for name in ("nms", "box_convert", "roi_align"):
        setattr(ops, name, _needs_torchvision(name))
    root = types.ModuleType("torchvision")
    root.ops = ops  # type: ignore[attr-defined]
    root.__oneadapt_stub__ = True  # type: ignore[attr-defined]
    return {"torchvision": root, "torchvision.ops": ops}


def _import_convert() -> Callable[..., Any]:
    if "onnx2torch" not in sys.modules:
        try:
            import torchvision  # noqa: F401
        except Exception:  # absent, or a build that fails to load (e.g. CUDA-only wheels)
            # Drop whatever a failed import left half-initialised, then stub it.
            for key in [k for k in sys.modules if k.split(".")[0] == "torchvision"]:
                del sys.modules[key]
            stubs = _stub_modules()
            sys.modules.update(stubs)
            try:
                import onnx2torch  # noqa: F401
            finally:
                for key, module in stubs.items():
                    if sys.modules.get(key) is module:
                        del sys.modules[key]
    from onnx2torch import convert as onnx2torch_convert

    return onnx2torch_convert


warnings.filterwarnings(
    "ignore",
    message="Using a non-tuple sequence for multidimensional indexing",
    category=UserWarning,
    module=r"onnx2torch\.",
)
warnings.filterwarnings(
    "ignore",
    message='For linear and cubic interpolation in "asymmetric"',
    category=UserWarning,
    module=r"onnx2torch\.",
)
convert = _import_convert()
