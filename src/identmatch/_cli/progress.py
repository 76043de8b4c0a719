"""Progress of a long command on stderr: a bar on a terminal, plain lines anywhere else.

On a terminal each stage is a line with its start time, under a bar counting the stages done
(and, where a command counts them, the records done) with the time spent and an estimate of
the time left; in a pipe, a log or CI only the plain lines are written (no control codes).
``--quiet`` prints nothing. stdout stays for results.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import click

__all__ = ["Reporter"]


class Reporter:
    """Called with each stage's message as it starts; a context manager that ends the bar.

    Args:
        quiet: print nothing.
        stages: how many stages the command has (the bar's length); a stage past it
            lengthens the bar.
        console: the rich console to write to (stderr by default).
    """

    def __init__(self, quiet: bool, stages: int = 6, console: Any = None) -> None:
        self.quiet = quiet
        self.stages = max(stages, 1)
        self.start = time.perf_counter()
        self._console = console
        self._progress: Any = None
        self._task: Any = None
        self._records: Any = None
        self._done = -1

    def _terminal(self) -> Any:
        from rich.console import Console

        if self._console is None:
            self._console = Console(stderr=True)
        return self._console if self._console.is_terminal else None

    def __call__(self, message: str) -> None:
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.start
        line = f"[{elapsed:6.1f}s] {message}..."
        console = self._terminal()
        if console is None:
            click.echo(line, err=True)
            return
        self._done += 1
        if self._progress is None:
            self._progress = _bar(console)
            self._progress.start()
        if self._task is None:
            self._task = self._progress.add_task(message, total=self.stages, unit="stages")
        total = max(self.stages, self._done + 1)
        self._progress.update(self._task, description=message, completed=self._done, total=total)
        self._progress.console.print(line, markup=False, highlight=False)

    def records(self, done: int, total: int | None) -> None:
        """Records done so far of ``total`` (None: not known): a bar of its own on a
        terminal, a plain line elsewhere."""
        if self.quiet:
            return
        of = f" of {total:,}" if total is not None else ""
        console = self._terminal()
        if console is None:
            elapsed = time.perf_counter() - self.start
            click.echo(f"[{elapsed:6.1f}s] {done:,}{of} records done", err=True)
            return
        if self._progress is None:
            self._progress = _bar(console)
            self._progress.start()
        if self._records is None:
            self._records = self._progress.add_task("records", total=total, unit="records")
        self._progress.update(self._records, completed=done, total=total)

    def close(self) -> None:
        """Fill and stop the bar (tables printed after it start on a clean line)."""
        if self._progress is not None:
            if self._task is not None:
                total = max(self.stages, self._done + 1)
                self._progress.update(self._task, description="done", completed=total, total=total)
            self._progress.stop()
            self._progress = None

    def __enter__(self) -> Reporter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def _bar(console: Any) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}", markup=False),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        console=console,
    )
