"""One exception type for problems the user can fix.

The CLI prints such errors as a single line (what is wrong, then how to fix it)
and exits non-zero; everything else is a bug and keeps its traceback.
"""


class OneAdaptError(Exception):
    """A user-facing problem: bad input file, unknown model, invalid knob value, ..."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} {fix}".strip())
