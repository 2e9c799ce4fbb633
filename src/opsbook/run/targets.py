"""Where steps run: the sandbox (default, no configuration) or a configured target.

Targets other than the sandbox are declared in `opsbook.toml` or `[tool.opsbook.targets]`
in pyproject.toml (docs/targets.md):

    [targets.staging]            # ([tool.opsbook.targets.staging] in pyproject.toml)
    confirm = true               # ask for the target name before the first step (the default)
    env_file = ".env.staging"    # KEY=value lines, never committed; documented by .env.staging.example
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
from opsbook.project import project_settings, settings_source

SANDBOX = "sandbox"
EXAMPLE_SUFFIX = ".example"
"""`.env.staging.example` documents the variables of `.env.staging`: committed, no real values."""

TARGET_KEYS = {"confirm": bool, "env_file": str, "secrets": list, "pass_env": list, "env": dict}
"""The keys of a [targets.NAME] table and their TOML types. A misspelt key (`secret = [...]`) is an
error, not ignored: ignored, it would leave the values it meant to mask unmasked."""


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
        raise UsageError(f"unknown target `{name}` (known: {known}); declare it in opsbook.toml under [targets.{name}]"
                         " (see docs/targets.md)")
    spec = _checked_spec(name, config[name], settings_source(root))
    env: dict[str, str] = {}
    env_file = Path(root) / Path(spec["env_file"]).expanduser() if spec.get("env_file") else None
    if env_file is not None:
        env.update(read_env_file(env_file, target=name))
    env.update({k: str(v) for k, v in (spec.get("env") or {}).items()})
    for key in spec.get("pass_env") or []:
        if key in os.environ:
            env[key] = os.environ[key]
    warning = undocumented_gap(env_file, env) if env_file is not None else ""
    return Target(name=name, env=env, secret_names=frozenset(spec.get("secrets") or []),
                  confirm=bool(spec.get("confirm", True)), sandbox=False, warning=warning)


def _checked_spec(name: str, spec: object, source: str) -> dict[str, Any]:
    where = f"{source} [targets.{name}]"
    if not isinstance(spec, dict):
        raise UsageError(f"{where} must be a table (confirm, env_file, secrets, pass_env, env)")
    for key, value in spec.items():
        kind = TARGET_KEYS.get(key)
        if kind is None:
            raise UsageError(f"{where}: unknown key `{key}` (known: {', '.join(TARGET_KEYS)})")
        if not isinstance(value, kind):
            raise UsageError(f"{where}: `{key}` must be a {_toml_kind(kind)}, not {value!r}")
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise UsageError(f"{where}: `{key}` must be a list of variable names, not {value!r}")
    return spec


def _toml_kind(kind: type) -> str:
    return {bool: "boolean (true or false)", str: "string", list: "list of strings", dict: "table"}[kind]


def example_path(env_file: Path) -> Path:
    """The committed example of an env file: `.env.staging` → `.env.staging.example`."""
    return env_file.with_name(env_file.name + EXAMPLE_SUFFIX)


def read_env_file(path: Path, *, target: str | None = None) -> dict[str, str]:
    """KEY=value lines (optionally `export KEY=value`, quoted values); # comments."""
    if not path.is_file():
        whose = f" of target {target}" if target else ""
        example = example_path(path)
        if example.is_file():
            how = f"copy {example.name} to {path.name} (`cp {example} {path}`) and fill in its values"
        else:
            how = "create it with a KEY=value line for each variable the runbooks read"
        raise UsageError(f"env file {path}{whose} does not exist: {how}; it holds credentials, never commit it")
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


def undocumented_gap(path: Path, env: dict[str, str]) -> str:
    """A warning naming the variables the env file's example lists (uncommented) that the env
    file lacks or leaves empty; "" when none is missing or there is no example."""
    example = example_path(path)
    if not example.is_file():
        return ""
    try:
        wanted = read_env_file(example)
    except UsageError:
        return ""  # a broken example is the example's problem, not this run's
    missing = [key for key in wanted if not env.get(key)]
    if not missing:
        return ""
    return (f"{path.name} lacks {', '.join(missing)}, which {example.name} lists: "
            "steps that read them will fail")
