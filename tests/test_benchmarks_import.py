"""Every script of ``benchmarks/`` still imports against the library and has a ``main``: the
scripts run only by hand, so an API change (a moved function, a constructor's signature)
would otherwise break them unseen, as it once did three of them."""

from __future__ import annotations

import pytest
from benchmark_helpers import BENCHMARKS, benchmark_script

SCRIPTS = sorted(p.stem for p in BENCHMARKS.glob("*.py"))


@pytest.mark.parametrize("name", SCRIPTS)
def test_the_benchmark_imports(name: str) -> None:
    with benchmark_script(name) as module:
        assert callable(getattr(module, "main", None))
