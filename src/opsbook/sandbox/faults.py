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
    notified: bool = True  # False: the fault breaks delivery itself (Alertmanager down); its alerts only fire
    directory: Path | None = None
    no_alert: str = ""  # why no alert fires (alerts empty): what a person notices instead

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
    unknown = set(spec) - {"name", "summary", "symptom", "alerts", "observe", "notified", "no_alert"}
    if unknown:
        raise SandboxError(f"{spec_path}: unknown keys {', '.join(sorted(unknown))}")
    name = spec.get("name", directory.name)
    if name != directory.name:
        raise SandboxError(f"{spec_path}: name {name!r} differs from its folder {directory.name!r}")
    alerts = spec.get("alerts") or []
    if not isinstance(alerts, list) or not all(isinstance(a, str) for a in alerts):
        raise SandboxError(f"{spec_path}: alerts must be a list of alert names")
    no_alert = str(spec.get("no_alert") or "").strip()
    if not alerts and not no_alert:
        raise SandboxError(f"{spec_path}: name the alerts the fault makes fire, or say under no_alert why none "
                           "does and what a person notices instead")
    for script in ("inject.sh", "heal.sh"):
        if not (directory / script).is_file():
            raise SandboxError(f"fault {name}: {directory / script} is missing")
    return Fault(name=name, summary=str(spec.get("summary", "")).strip(), symptom=str(spec.get("symptom", "")).strip(),
                 alerts=tuple(alerts), observe=str(spec.get("observe", "")).strip(),
                 notified=spec.get("notified", True) is not False, directory=directory, no_alert=no_alert)


def load_faults(faults_dir: Path) -> list[Fault]:
    if not faults_dir.is_dir():
        raise SandboxError(f"no fault scenarios: {faults_dir} does not exist")
    return [load_fault(d) for d in sorted(faults_dir.iterdir()) if (d / "fault.yaml").is_file()]


UNIT_TESTED_ONLY = "unit-tested-only.yaml"


def load_unit_tested_only(faults_dir: Path) -> dict[str, str]:
    """Alerts no fault fires in the sandbox → why (faults_dir/unit-tested-only.yaml); {} when absent."""
    path = faults_dir / UNIT_TESTED_ONLY
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SandboxError(f"{path}: cannot read: {exc}") from exc
    if spec is None:
        return {}
    if not isinstance(spec, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip()
                                             for k, v in spec.items()):
        raise SandboxError(f"{path}: expected `AlertName: reason it cannot fire in the sandbox` lines")
    return {name: reason.strip() for name, reason in spec.items()}
