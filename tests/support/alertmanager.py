"""Alertmanager's config as the tests use it: the renderer run as production runs it, the example
and sandbox values it is rendered with, and the routing contract written out."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from tests.support import REPO

ALERTMANAGER = REPO / "monitoring" / "alertmanager"
RENDER = ALERTMANAGER / "render-config.sh"
TEMPLATE = ALERTMANAGER / "alertmanager.yml"
ENV_EXAMPLE = REPO / "monitoring" / ".env.example"

SEVERITY_RECEIVERS = {"critical": {"oncall-pager", "oncall-chat"}, "major": {"oncall-chat"}, "warning": {"team-email"}}
CATEGORY_RECEIVERS = {"security": {"security-email"}, "business": {"product-email"}}


def expected_receivers(labels: dict[str, str]) -> set[str]:
    """The routing contract (the header of monitoring/alertmanager/alertmanager.yml), written out:
    by severity (none or another: team-email), plus the security or business team's inbox."""
    by_severity = SEVERITY_RECEIVERS.get(labels.get("severity", ""), {"team-email"})
    return by_severity | CATEGORY_RECEIVERS.get(labels.get("category", ""), set())


def example_env() -> dict[str, str]:
    """monitoring/.env.example as KEY=value pairs (what `set -a; . FILE` would export)."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def sandbox_env() -> dict[str, str]:
    """The values sandbox/compose.yaml gives the alertmanager service."""
    spec = yaml.safe_load((REPO / "sandbox" / "compose.yaml").read_text())
    return {k: str(v) for k, v in spec["services"]["alertmanager"]["environment"].items()}


def render(template: Path, output: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """render-config.sh TEMPLATE OUTPUT with exactly `env` (and PATH): nothing leaks in from the caller."""
    clean = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL")}
    return subprocess.run(["sh", str(RENDER), str(template), str(output)], env={**clean, **env},
                          capture_output=True, text=True, timeout=30)
