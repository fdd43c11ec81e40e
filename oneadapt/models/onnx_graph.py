"""An ONNX file as two backends on the same weights: onnx2torch (differentiable) and
onnxruntime (fast), whatever the network computes.

Every ONNX model here (detectors, the segmenter, the face-landmark model) reads its file,
checks its signature and runs its network through this one class; the model modules
keep only their pre- and post-processing, so a model's two paths differ only in backend.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import onnx
import onnxruntime as ort
import torch

from oneadapt.errors import ModelError

Outputs = dict[str, torch.Tensor]
"""Raw network outputs by ONNX output name."""


def _parse(path: Path, data: bytes) -> onnx.ModelProto:
    """Parse the file, turning any parse failure into a user-facing error."""
    try:
        proto = onnx.load_from_string(data)
    except Exception as exc:  # protobuf raises several unrelated types on garbage
        raise ModelError(
            f"{path} is not a valid ONNX model ({type(exc).__name__}).",
            "Pass an intact .onnx file (re-download it with `oneadapt models pull NAME`).",
        ) from None
    if not proto.graph.node or not proto.graph.output:
        raise ModelError(
            f"{path} is not a valid ONNX model (no graph).",
            "Pass an intact .onnx file (re-download it with `oneadapt models pull NAME`).",
        )
    return proto


def _dims(value: onnx.ValueInfoProto) -> list[int]:
    """A value's shape, 0 for a symbolic dimension."""
    return [d.dim_value for d in value.type.tensor_type.shape.dim]


class OnnxGraph:
    """A parsed ONNX file: its signature, a weights digest, and (on :meth:`load`) both
    backends."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.data = self.path.read_bytes()
        except OSError as exc:
            raise ModelError(
                f"cannot read model file {self.path} ({exc.strerror or exc}).",
                "Check the path and its permissions.",
            ) from None
        self.proto = _parse(self.path, self.data)
        initializers = {t.name for t in self.proto.graph.initializer}
        inputs = [i for i in self.proto.graph.input if i.name not in initializers]
        self.outputs = {o.name: _dims(o) for o in self.proto.graph.output}
        """Output shapes by name, in the graph's order."""
        self.input_name = inputs[0].name if len(inputs) == 1 else ""
        self.input_shape = _dims(inputs[0]) if len(inputs) == 1 else []
        """The single input's shape (empty when the graph has several inputs)."""
        self.digest = hashlib.sha256(self.data).hexdigest()[:12]

    def load(self) -> None:
        """Convert to a frozen ``nn.Module`` and open an onnxruntime session."""
        from oneadapt.models.onnx2torch_compat import convert

        self.module = convert(self.proto).eval()
        self.module.requires_grad_(False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # one setting for both backends
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # these exports trigger harmless initializer warnings
        self.session = ort.InferenceSession(self.data, options, providers=["CPUExecutionProvider"])
        del self.data, self.proto  # the backends hold what they need

    def run_torch(self, x: torch.Tensor) -> Outputs:
        """Differentiable outputs through the converted module."""
        out = self.module(x)
        out = [out] if isinstance(out, torch.Tensor) else list(out)
        return dict(zip(self.outputs, out, strict=True))

    def run_onnxruntime(self, x: torch.Tensor) -> Outputs:
        """Outputs through onnxruntime (no gradients)."""
        arrays = self.session.run(list(self.outputs), {self.input_name: x.detach().numpy()})
        return {n: torch.from_numpy(a) for n, a in zip(self.outputs, arrays, strict=True)}
