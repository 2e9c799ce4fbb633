"""How long sandbox work reports its progress: a display of tasks, each with a current detail.

The sandbox only calls these protocols; the terminal displays that implement them live in
`opsbook.cli.progress`, so nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from typing import Iterator, Protocol


class Task(Protocol):
    def update(self, text: str) -> None: ...


class Progress(Protocol):
    """A display of long work: one task at a time (or several, from threads), plus notes."""

    def task(self, title: str) -> AbstractContextManager[Task]: ...
    def note(self, text: str) -> None: ...


ProgressFactory = Callable[[], AbstractContextManager[Progress]]
"""Opens a display for the length of one piece of work (e.g. `Sandbox.up`) and closes it after."""


class _NullTask:
    def update(self, text: str) -> None:
        pass


class NullProgress:
    """Shows nothing."""

    @contextmanager
    def task(self, title: str) -> Iterator[Task]:
        yield _NullTask()

    def note(self, text: str) -> None:
        pass


@contextmanager
def no_progress() -> Iterator[Progress]:
    yield NullProgress()
