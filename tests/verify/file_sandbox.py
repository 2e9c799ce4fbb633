"""A stand-in sandbox whose state is files, so verification logic runs with real kernels but no docker."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

from opsbook.errors import SandboxError

# Its own copy of the header: this module is also imported by conftests of throw-away projects
# that pytest runs in a subprocess, where the tests package is not importable.
HEADER = """\
---
jupyter:
  kernelspec:
    name: opsbook-bash
    display_name: opsbook (bash)
    language: bash
opsbook:
  format: 1
  title: {title}
{extra}---
"""


class FileSandbox:
    """Faults and alerts are files in a directory; steps see it as $SANDBOX_STATE.

    inject(f) creates the fault file and one file per alert the fault triggers; heal removes
    both; the sandbox is healthy when no fault file exists; an alert fires while its file exists.
    """

    def __init__(self, state: Path, faults: dict[str, set[str]], running: bool = True) -> None:
        self.running = running
        self.state = state
        self.faults = faults
        self.calls: list[str] = []
        state.mkdir(parents=True, exist_ok=True)

    def up(self, *, timeout: float = 0, progress: bool = False) -> None:
        self.calls.append("up")
        self.running = True

    def down(self) -> None:
        self.calls.append("down")
        self.running = False

    def reset(self) -> None:
        self.calls.append("reset")
        for f in self.state.iterdir():
            f.unlink()

    def healthy(self) -> bool:
        return self.running and not any(self.state.glob("fault-*"))

    def env(self) -> dict[str, str]:
        return {"SANDBOX_STATE": str(self.state), "SANDBOX_TOKEN": "tok-9f8e7d6c5b"}

    def secret_names(self) -> Iterable[str]:
        return {"SANDBOX_TOKEN"}

    def inject(self, fault: str) -> None:
        self.calls.append(f"inject {fault}")
        if fault not in self.faults:
            raise SandboxError(f"unknown fault {fault}")
        (self.state / f"fault-{fault}").touch()
        for alert in self.faults[fault]:
            (self.state / f"alert-{alert}").touch()

    def heal(self, fault: str | None = None) -> None:
        self.calls.append(f"heal {fault}")
        for name in [fault] if fault else list(self.faults):
            (self.state / f"fault-{name}").unlink(missing_ok=True)

    def firing_alerts(self) -> set[str]:
        return {p.name[len("alert-"):] for p in self.state.glob("alert-*")}

    def wait_alerts(self, names: Iterable[str], *, firing: bool, timeout: float) -> set[str]:
        return set(names) & self.firing_alerts() if firing else set(names) - self.firing_alerts()



def write_runbook(folder: Path, rid: str, header: str, body: str, title: str = "Test runbook") -> Path:
    """A runbook file at folder/runbooks/<rid>.md; `header` is extra `opsbook:` keys (indented 2)."""
    path = folder / "runbooks" / f"{rid}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = textwrap.indent(textwrap.dedent(header).strip("\n"), "  ") + "\n" if header.strip() else ""
    path.write_text(HEADER.format(title=title, extra=extra) + "\n" + textwrap.dedent(body).lstrip("\n"))
    return path
