"""Output for terminals and for logs.

rich draws for an 80-column terminal when it is not on one, cutting table cells ("accur…")
and hiding progress bars entirely. Off a terminal, these helpers print at full width:
tables at their natural width, Markdown as its plain source, progress as plain lines.
"""

from __future__ import annotations

import time

import rich.progress
from rich.console import Console
from rich.markdown import Markdown
from rich.measure import Measurement
from rich.table import Table

LOG_WIDTH = 100
"""Width of rules and panels off a terminal; lines are never wrapped there."""
LOG_EVERY_S = 10.0
"""Seconds between plain progress lines of one task."""


def make_console(stderr: bool = False) -> Console:
    """A console for stdout or stderr: the terminal's width on a terminal; in a log, lines
    as long as they are (a path is not broken in two)."""
    console = Console(stderr=stderr)
    return (
        console if console.is_terminal else Console(stderr=stderr, width=LOG_WIDTH, soft_wrap=True)
    )


def print_table(table: Table) -> None:
    """A table on stdout, never cut: in a log, as wide as its contents."""
    console = make_console()
    if not console.is_terminal:
        unlimited = Console(width=1_000_000)
        width = Measurement.get(unlimited, unlimited.options, table).maximum
        console = Console(width=max(width, len(str(table.title or ""))))
    console.print(table)


def print_markdown(text: str) -> None:
    """Markdown on stdout: rendered on a terminal, its source (already readable) in a log."""
    console = make_console()
    console.print(Markdown(text) if console.is_terminal else text, markup=False, highlight=False)


class Progress(rich.progress.Progress):
    """rich's progress display on a terminal (on stderr); in a log, where it would not show,
    a plain line per task every :data:`LOG_EVERY_S` seconds, and a last one when a task
    that printed one completes (tasks shorter than that stay quiet)."""

    def __init__(
        self,
        *columns: str | rich.progress.ProgressColumn,
        console: Console | None = None,
        disable: bool = False,
        **options: object,
    ) -> None:
        console = console or make_console(stderr=True)
        self._plain = not disable and not console.is_terminal
        self._printed: dict[rich.progress.TaskID, float] = {}
        super().__init__(*columns, console=console, disable=disable or self._plain, **options)

    def update(self, task_id: rich.progress.TaskID, **changes: object) -> None:
        super().update(task_id, **changes)
        self._log(task_id)

    def advance(self, task_id: rich.progress.TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id)

    def _log(self, task_id: rich.progress.TaskID) -> None:
        if not self._plain:
            return
        task = self._tasks[task_id]
        now = time.monotonic()
        finished = task.total is not None and task.completed >= task.total
        last = self._printed.get(task_id)
        due = (task.elapsed or 0.0) >= LOG_EVERY_S if last is None else now - last >= LOG_EVERY_S
        if last == float("inf") or not (due or (finished and last is not None)):
            return
        self._printed[task_id] = float("inf") if finished else now
        total = f"/{task.total:g}" if task.total is not None else ""
        fields = " ".join(str(v) for v in task.fields.values() if v not in (None, ""))
        self.console.print(
            f"{task.description}: {task.completed:g}{total} after {task.elapsed or 0.0:.0f} s"
            + (f" {fields}" if fields else ""),
            highlight=False,
        )


def status_progress(description: str = "", disable: bool = False) -> Progress:
    """The bar long loops show: a bold description, the bar, done/total, elapsed time and a
    ``status`` field the loop updates (the current configuration, say)."""
    columns = (
        rich.progress.TextColumn(
            f"[bold]{description}" if description else "[bold]{task.description}"
        ),
        rich.progress.BarColumn(),
        rich.progress.MofNCompleteColumn(),
        rich.progress.TimeElapsedColumn(),
        rich.progress.TextColumn("{task.fields[status]}"),
    )
    return Progress(*columns, disable=disable, transient=True)
