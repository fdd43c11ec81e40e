"""Exceptions for problems the user can fix, one subclass per kind.

The CLI prints such errors as a single line (what is wrong, then how to fix it) and
exits with the kind's exit code; everything else is a bug and keeps its traceback.
Typed kinds let callers (and tests) tell a bad option from a bad file without parsing
messages.
"""


class OneAdaptError(Exception):
    """A user-facing problem: bad input file, unknown model, invalid knob value, ..."""

    exit_code = 2
    """What the command line exits with; every user error is 2, a bug exits 1."""

    def __init__(self, problem: str, fix: str = "") -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} {fix}".strip())


class ConfigurationError(OneAdaptError):
    """An option or argument that cannot work: knob values, lambdas, policies, classes,
    output paths, the inference cache's location."""


class MediaError(OneAdaptError):
    """A video file or stream that is missing, undecodable, too short or silent."""


class ModelError(OneAdaptError):
    """A model that is missing, unknown, unsupported or corrupt."""


class ProtocolError(OneAdaptError):
    """Bytes that do not decode: a feedback message, an inference-cache row."""


class StateError(OneAdaptError):
    """Saved state that is missing or inconsistent: a results directory, a corrupt cache."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM. A BaseException like KeyboardInterrupt, so ``with`` blocks and
    ``finally`` clauses clean up, but not one, so typer does not turn it into a silent exit
    and the CLI can say what happened."""

    exit_code = 130
