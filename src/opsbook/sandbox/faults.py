"""Fault scenarios: sandbox/faults/<name>/ with fault.yaml, inject.sh and heal.sh."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from opsbook.errors import SandboxError


@dataclass(frozen=True)
class Fault:
    """One failure state the sandbox can be put in, and how to see it."""

    name: str
    summary: str
    symptom: str
    alerts: tuple[str, ...]  # Prometheus alerts the fault makes fire
    observe: str = ""  # shell (host tools, sandbox env): exits 0 while the fault is visible
    directory: Path | None = None

    @property
    def inject_script(self) -> Path:
        return self._script("inject.sh")

    @property
    def heal_script(self) -> Path:
        return self._script("heal.sh")

    def _script(self, name: str) -> Path:
        if self.directory is None:
            raise SandboxError(f"fault {self.name} has no directory")
        return self.directory / name


def load_fault(directory: Path) -> Fault:
    spec_path = directory / "fault.yaml"
    try:
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SandboxError(f"{spec_path}: cannot read fault description: {exc}") from exc
    if not isinstance(spec, dict):
        raise SandboxError(f"{spec_path}: expected a mapping")
    unknown = set(spec) - {"name", "summary", "symptom", "alerts", "observe"}
    if unknown:
        raise SandboxError(f"{spec_path}: unknown keys {', '.join(sorted(unknown))}")
    name = spec.get("name", directory.name)
    if name != directory.name:
        raise SandboxError(f"{spec_path}: name {name!r} differs from its folder {directory.name!r}")
    alerts = spec.get("alerts") or []
    if not isinstance(alerts, list) or not all(isinstance(a, str) for a in alerts):
        raise SandboxError(f"{spec_path}: alerts must be a list of alert names")
    for script in ("inject.sh", "heal.sh"):
        if not (directory / script).is_file():
            raise SandboxError(f"fault {name}: {directory / script} is missing")
    return Fault(name=name, summary=str(spec.get("summary", "")).strip(), symptom=str(spec.get("symptom", "")).strip(),
                 alerts=tuple(alerts), observe=str(spec.get("observe", "")).strip(), directory=directory)


def load_faults(faults_dir: Path) -> list[Fault]:
    if not faults_dir.is_dir():
        raise SandboxError(f"no fault scenarios: {faults_dir} does not exist")
    return [load_fault(d) for d in sorted(faults_dir.iterdir()) if (d / "fault.yaml").is_file()]
