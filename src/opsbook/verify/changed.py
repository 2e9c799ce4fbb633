"""`opsbook verify --changed [BASE]`: the runbooks a change can affect, each with why.

A runbook is affected by a change to
  - its own file;
  - a script it names (`scripts/NAME` anywhere in its text);
  - a fault one of its cases injects (`sandbox/faults/NAME/`);
  - the files a sandbox service it lists (`services:`) is built from (the service's build
    folder; images shared by several services count for each of them);
  - an alert rule it names (`alerts:`, or a case's), when that rule's definition changed; and
    Alertmanager's configuration, for a runbook that names any alert (its notifications).
A change to what every verification runs on (the engine under src/, compose.yaml, the sandbox's
shared library, the base images, the project's settings) affects every runbook. Anything else
(docs, tests, the site) affects none. The nightly run still verifies everything.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from opsbook.errors import UsageError
from opsbook.runbook.model import Runbook

EVERYTHING = ("src/opsbook/", "sandbox/compose.yaml", "sandbox/lib/", "sandbox/images/python/",
              "sandbox/faults/lib.sh", "pyproject.toml", "opsbook.toml", "monitoring/prometheus/prometheus.yml")
"""What every verification runs on: a change here affects every runbook."""

RULES_DIR = "monitoring/prometheus/alerts/"
ROUTING_DIR = "monitoring/alertmanager/"
SCRIPT_MENTION = re.compile(r"\bscripts/([A-Za-z0-9_.-]+)")


def changed_files(root: Path, base: str) -> list[str]:
    """Paths (relative to the repository) changed since `base`: committed since the merge base,
    staged, unstaged and untracked."""
    def git(*args: str) -> list[str]:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise UsageError(f"--changed {base}: git {' '.join(args[:2])} failed: {done.stderr.strip()[:300]}")
        return [line for line in done.stdout.splitlines() if line]

    git("rev-parse", "--verify", f"{base}^{{commit}}")
    files = set(git("diff", "--name-only", f"{base}...HEAD"))
    files |= set(git("diff", "--name-only", "HEAD"))
    files |= set(git("ls-files", "--others", "--exclude-standard"))
    return sorted(files)


def rule_definitions(text: str) -> dict[str, str]:
    """Each alert of a rules file, by name, as a canonical text of its definition."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        return {}
    found = {}
    for group in document.get("groups") or [] if isinstance(document, dict) else []:
        for rule in (group.get("rules") or []) if isinstance(group, dict) else []:
            if isinstance(rule, dict) and "alert" in rule:
                found[str(rule["alert"])] = yaml.safe_dump(rule, sort_keys=True)
    return found


def changed_alerts(before: str, after: str) -> set[str]:
    """Alerts added, removed or redefined between two versions of a rules file."""
    old, new = rule_definitions(before), rule_definitions(after)
    return {name for name in old.keys() | new.keys() if old.get(name) != new.get(name)}


def changed_alerts_since(root: Path, base: str, files: Iterable[str]) -> set[str]:
    """The alerts whose definition changed in the rule files among `files`."""
    names: set[str] = set()
    for path in files:
        if not (path.startswith(RULES_DIR) and path.endswith(".rules.yml")):
            continue
        shown = subprocess.run(["git", "show", f"{base}:{path}"], cwd=root, capture_output=True, text=True, timeout=60)
        before = shown.stdout if shown.returncode == 0 else ""
        current = root / path
        after = current.read_text(encoding="utf-8") if current.exists() else ""
        names |= changed_alerts(before, after)
    return names


def service_folders(compose: Mapping[str, Any]) -> dict[str, set[str]]:
    """Each compose service's build folders below sandbox/ (a service that runs another's image
    shares its folder): `images/postgres/Dockerfile` → `sandbox/images/postgres/`."""
    services = compose.get("services") or {}
    folder_of_image: dict[str, str] = {}
    for spec in services.values():
        build = spec.get("build") if isinstance(spec, dict) else None
        if isinstance(build, dict) and build.get("dockerfile") and spec.get("image"):
            folder = PurePosixPath("sandbox", str(build["dockerfile"])).parent.as_posix() + "/"
            folder_of_image[str(spec["image"]).split(":")[0]] = folder
    folders: dict[str, set[str]] = {}
    for name, spec in services.items():
        image = str(spec.get("image", "")).split(":")[0] if isinstance(spec, dict) else ""
        if image in folder_of_image:
            folders.setdefault(name, set()).add(folder_of_image[image])
    return folders


def affected(runbooks: Sequence[Runbook], files: Iterable[str], alerts: set[str], compose: Mapping[str, Any],
             root: Path) -> dict[str, list[str]]:
    """The affected runbooks (by id) with the reasons, in the order given."""
    files = sorted(set(files))
    everything = [f for f in files if any(f.startswith(e) if e.endswith("/") else f == e for e in EVERYTHING)]
    routing = [f for f in files if f.startswith(ROUTING_DIR)]
    folders = service_folders(compose)
    reasons: dict[str, list[str]] = {}
    for runbook in runbooks:
        why: list[str] = []
        if everything:
            why.append(f"{everything[0]} changed (every runbook runs on it)")
        path = _relative(runbook.path, root)
        if path in files:
            why.append("the runbook changed")
        text = runbook.path.read_text(encoding="utf-8") if runbook.path.exists() else ""
        for script in sorted(set(SCRIPT_MENTION.findall(text))):
            if f"scripts/{script}" in files:
                why.append(f"it runs scripts/{script}")
        scenarios = {c.scenario or runbook.scenario for c in runbook.verify}
        for scenario in sorted(s for s in scenarios if s):
            if any(f.startswith(f"sandbox/faults/{scenario}/") for f in files):
                why.append(f"its fault {scenario} changed")
        for service in runbook.services:
            touched = [f for folder in sorted(folders.get(service, ())) for f in files if f.startswith(folder)]
            if touched:
                why.append(f"service {service} changed ({touched[0]})")
        named = set(runbook.alerts) | {a for c in runbook.verify for a in (c.alerts or ())}
        for alert in sorted(named & alerts):
            why.append(f"alert {alert} changed")
        if named and routing:
            why.append(f"{routing[0]} changed (where its alerts are notified)")
        if why:
            reasons[runbook.id] = why
    return reasons


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
