"""The sandbox app's standard-library modules, loaded by path for unit tests (the app is not a package
of this project, and importing it whole would need psycopg2 and Redis)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

APP_MODULES = Path(__file__).resolve().parents[2] / "sandbox" / "app" / "opsbook_app"


def load_app_module(name: str) -> ModuleType:
    """sandbox/app/opsbook_app/<name>.py as module `sandbox_<name>`."""
    spec = importlib.util.spec_from_file_location(f"sandbox_{name}", APP_MODULES / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module
