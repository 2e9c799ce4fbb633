"""What several test folders share: runbook files, stand-in sandboxes, record builders, site builds.

Importable as `tests.support` from the repository root (a subprocess gets it with `subprocess_env()`).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a Python subprocess that imports `tests.support` (the repository on PYTHONPATH)."""
    paths = [str(REPO), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}
