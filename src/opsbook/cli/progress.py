"""Progress of long sandbox work on the terminal: a live rich display, or plain lines in CI logs."""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import Iterator

from opsbook.sandbox.progress import NullProgress, Progress, Task


class _PlainTask:
    def __init__(self, title: str) -> None:
        self.title = title
        self.last = ""
        self.last_at = 0.0

    def update(self, text: str) -> None:
        # Throttled: CI logs get the gist, not every apt line.
        now = time.monotonic()
        if text != self.last and now - self.last_at >= 2:
            print(f"  {self.title}: {text}", file=sys.stderr, flush=True)
            self.last, self.last_at = text, now


class PlainProgress:
    """A line when a task starts and when it ends; details throttled (CI logs)."""

    @contextmanager
    def task(self, title: str) -> Iterator[Task]:
        started = time.monotonic()
        print(f"… {title}", file=sys.stderr, flush=True)
        try:
            yield _PlainTask(title)
        except BaseException:
            print(f"✗ {title} (failed after {time.monotonic() - started:.1f}s)", file=sys.stderr, flush=True)
            raise
        print(f"✓ {title} ({time.monotonic() - started:.1f}s)", file=sys.stderr, flush=True)

    def note(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


class RichProgress:
    """One spinner line per task, ticked off when done; the current detail after the title."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(SpinnerColumn(finished_text="[green]✓[/]"), TextColumn("{task.description}"),
                                 TimeElapsedColumn(), console=self.console, transient=False)

    def __enter__(self) -> "RichProgress":
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    @contextmanager
    def task(self, title: str) -> Iterator[Task]:
        from rich.markup import escape

        task_id = self.progress.add_task(escape(title), total=1)
        progress = self.progress

        class _RichTask:
            def update(self, text: str) -> None:
                progress.update(task_id, description=f"{escape(title)} [dim]{escape(text[:100])}[/]")

        try:
            yield _RichTask()
        except BaseException:
            progress.update(task_id, description=f"[red]✗ {escape(title)}[/]")
            progress.stop_task(task_id)
            raise
        progress.update(task_id, description=escape(title), completed=1)

    def note(self, text: str) -> None:
        self.progress.console.print(text, markup=False, highlight=False)


@contextmanager
def progress_display(enabled: bool = True) -> Iterator[Progress]:
    """Rich on a terminal, plain lines otherwise, nothing when disabled (a `ProgressFactory`)."""
    if not enabled:
        yield NullProgress()
    elif sys.stderr.isatty():
        with RichProgress() as display:
            yield display
    else:
        yield PlainProgress()
