"""A stand-in sandbox whose state is files, so verification logic runs with real kernels but no docker."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from opsbook.errors import SandboxError


class FileSandbox:
    """Faults and alerts are files in a directory; steps see it as $SANDBOX_STATE.

    inject(f) creates the fault file and one file per alert the fault triggers; heal removes
    both; the sandbox is healthy when no fault file exists, except the faults in `healthy_despite`
    (like a runaway process: the services answer, the symptom is there); an alert fires while its
    file exists.
    """

    def __init__(self, state: Path, faults: dict[str, set[str]], running: bool = True,
                 healthy_despite: frozenset[str] = frozenset()) -> None:
        self.running = running
        self.healthy_despite = healthy_despite
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
        return self.running and not any(p.name[len("fault-"):] not in self.healthy_despite
                                        for p in self.state.glob("fault-*"))

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

    def observe(self, fault: str) -> bool:
        """The fault's symptom: its file (a step that removes it fixes the fault)."""
        return (self.state / f"fault-{fault}").exists()

    def heal(self, fault: str | None = None) -> None:
        self.calls.append(f"heal {fault}")
        for name in [fault] if fault else list(self.faults):
            (self.state / f"fault-{name}").unlink(missing_ok=True)

    def firing_alerts(self) -> set[str]:
        return {p.name[len("alert-"):] for p in self.state.glob("alert-*")}

    def wait_alerts(self, names: Iterable[str], *, firing: bool, timeout: float) -> set[str]:
        return set(names) & self.firing_alerts() if firing else set(names) - self.firing_alerts()
