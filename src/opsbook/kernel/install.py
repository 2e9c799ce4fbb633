"""Install the opsbook kernelspec into the active environment, so nbclient and JupyterLab find it."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

KERNEL_NAME = "opsbook-bash"
DISPLAY_NAME = "opsbook (bash)"


def kernelspec() -> dict[str, Any]:
    """The kernel.json for this interpreter."""
    return {
        "argv": [sys.executable, "-m", "opsbook.kernel", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "bash",
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
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".kernel.json.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(wanted)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return folder
