"""Where steps run: the sandbox (default, no configuration) or a configured target.

Targets other than the sandbox are declared in `opsbook.toml` or `[tool.opsbook.targets]`
in pyproject.toml:

    [targets.staging]            # ([tool.opsbook.targets.staging] in pyproject.toml)
    confirm = true               # ask for the target name before the first step
    env_file = ".env.staging"    # KEY=value lines, never committed
    secrets = ["DATABASE_URL", "API_TOKEN"]
    pass_env = ["KUBECONFIG"]    # copied from your environment when set
    [targets.staging.env]
    APP_URL = "https://staging.example.com"
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opsbook.errors import SandboxError, UsageError
from opsbook.project import project_settings

SANDBOX = "sandbox"


@dataclass(frozen=True)
class Target:
    """A place steps run against: the variables steps see and how careful to be there."""

    name: str
    env: dict[str, str] = field(default_factory=dict)
    secret_names: frozenset[str] = frozenset()
    confirm: bool = False  # typed confirmation before the first step
    sandbox: bool = False  # disposable: destructive steps need no confirmation
    project: str | None = None  # sandbox compose project, when sandbox
    healthy: Callable[[], bool] | None = field(default=None, compare=False, repr=False)
    """Whether the target itself is up (the sandbox knows): a failing step then says so."""
    warning: str = ""
    """Something the operator should know before the first step (e.g. the sandbox is not set up)."""

    @property
    def secrets(self) -> dict[str, str]:
        return {k: v for k, v in self.env.items() if k in self.secret_names and v}


def sandbox_target(root: Path, project: str | None = None) -> Target:
    """The sandbox as a target; never starts it (see `opsbook sandbox up`)."""
    from opsbook.sandbox import Sandbox  # the compose driver is only needed for this target

    box = Sandbox(root, project)
    try:
        env = box.env()
    except SandboxError as exc:
        # A runbook that needs nothing of the sandbox still runs; a step that does fails, and
        # its failure says that the sandbox is down.
        return Target(name=SANDBOX, secret_names=frozenset(box.secret_names()), confirm=False, sandbox=True,
                      project=project, healthy=box.healthy,
                      warning=f"{exc}; steps run without the sandbox's variables (APP_URL, DATABASE_URL, ...)")
    return Target(name=SANDBOX, env=env, secret_names=frozenset(box.secret_names()),
                  confirm=False, sandbox=True, project=project, healthy=box.healthy)


def target_config(root: Path) -> dict[str, dict[str, Any]]:
    """The [targets] tables from opsbook.toml, else from pyproject's [tool.opsbook.targets]."""
    targets = project_settings(root).get("targets", {})
    return targets if isinstance(targets, dict) else {}


def load_target(name: str, root: Path, project: str | None = None) -> Target:
    """Resolve a target by name; the sandbox needs no configuration."""
    if name == SANDBOX:
        return sandbox_target(root, project)
    config = target_config(root)
    if name not in config:
        known = ", ".join(sorted([SANDBOX, *config]))
        raise UsageError(f"unknown target `{name}` (known: {known}); declare it in opsbook.toml under [targets.{name}]")
    spec = config[name]
    env: dict[str, str] = {}
    if spec.get("env_file"):
        env.update(read_env_file(root / spec["env_file"]))
    env.update({k: str(v) for k, v in (spec.get("env") or {}).items()})
    for key in spec.get("pass_env") or []:
        if key in os.environ:
            env[key] = os.environ[key]
    return Target(name=name, env=env, secret_names=frozenset(spec.get("secrets") or []),
                  confirm=bool(spec.get("confirm", True)), sandbox=False)


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines (optionally `export KEY=value`, quoted values); # comments."""
    if not path.is_file():
        raise UsageError(f"env file {path} does not exist; create it (it is never committed)")
    env: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise UsageError(f"{path}:{number}: expected KEY=value")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key.strip()] = value
    return env
