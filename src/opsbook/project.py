"""The project's own settings: `opsbook.toml` at the project root, else `[tool.opsbook]` in pyproject.toml.

    runbooks_dir = "runbooks"                 # where the runbooks are (default: the site's
                                              # extra.opsbook.runbooks_dir in mkdocs.yml, else runbooks)
    exclude = ["README.md", "_index.md"]      # files below it that are not runbooks (glob patterns)
    [targets.staging] ...                     # see opsbook.run.targets

Read when a command needs them, never at import.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from opsbook.errors import UsageError

SETTINGS_FILE = "opsbook.toml"


def project_settings(root: Path) -> dict[str, Any]:
    """The settings table: all of opsbook.toml, or pyproject's [tool.opsbook]; {} when neither exists."""
    own = Path(root) / SETTINGS_FILE
    if own.is_file():
        return _read_toml(own)
    pyproject = Path(root) / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("opsbook", {})
        return table if isinstance(table, dict) else {}
    return {}


def settings_source(root: Path) -> str:
    """Where the settings are read from, for messages."""
    return SETTINGS_FILE if (Path(root) / SETTINGS_FILE).is_file() else "pyproject.toml [tool.opsbook]"


def site_setting(root: Path, key: str) -> Any:
    """A value of `extra.opsbook` in the project's mkdocs.yml (None if absent or unreadable)."""
    config = Path(root) / "mkdocs.yml"
    if not config.is_file():
        return None
    try:
        data = yaml.load(config.read_text(encoding="utf-8"), Loader=_MkdocsLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    extra = data.get("extra") if isinstance(data, dict) else None
    block = extra.get("opsbook") if isinstance(extra, dict) else None
    return block.get(key) if isinstance(block, dict) else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: {exc}") from exc


class _MkdocsLoader(yaml.SafeLoader):
    """Safe YAML that reads mkdocs.yml: its `!!python/name:` and `!ENV` tags become None, never code."""


_MkdocsLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
_MkdocsLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
