"""Regenerate ``oneadapt_pb2.py`` from ``oneadapt.proto`` with grpcio-tools.

The generated file is committed, so installing oneadapt needs no code generator; run
``python -m oneadapt.protocol.generate`` after editing the .proto (a test fails until then).
"""

from __future__ import annotations

import sys
from pathlib import Path

PROTO = Path(__file__).with_name("oneadapt.proto")


def generate(out_dir: Path) -> Path:
    """Write ``oneadapt_pb2.py`` into ``out_dir``; return its path."""
    from grpc_tools import protoc

    argv = ["protoc", f"-I{PROTO.parent}", f"--python_out={out_dir}", str(PROTO)]
    if protoc.main(argv) != 0:
        raise RuntimeError(f"protoc failed on {PROTO}")
    return Path(out_dir) / "oneadapt_pb2.py"


if __name__ == "__main__":
    print(generate(PROTO.parent), file=sys.stderr)
