"""Install the opsbook kernelspec into the active environment, so nbclient and JupyterLab find it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from opsbook.kernel.protocol import DISPLAY_NAME, KERNEL_NAME, LANGUAGE
from opsbook.text import write_atomically


def kernelspec() -> dict[str, Any]:
    """The kernel.json for this interpreter."""
    return {
        "argv": [sys.executable, "-m", "opsbook.kernel", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": LANGUAGE,
        "interrupt_mode": "signal",
        "metadata": {"debugger": False},
    }


def kernelspec_dir(prefix: str | None = None) -> Path:
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME


def ensure_kernelspec(prefix: str | None = None) -> Path:
    """Write the kernelspec under `sys.prefix` unless an identical one is there; return its folder."""
    folder = kernelspec_dir(prefix)
    wanted = json.dumps(kernelspec(), indent=2) + "\n"
    target = folder / "kernel.json"
    try:
        if target.read_text(encoding="utf-8") == wanted:
            return folder
    except (OSError, UnicodeDecodeError):
        pass
    write_atomically(target, wanted, mode=0o644)
    return folder
