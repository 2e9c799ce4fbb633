"""Kernel settings read from the environment when the kernel starts (never at import)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from opsbook.errors import KernelSettingsError
from opsbook.kernel.protocol import KILL_GRACE_VAR, OUTPUT_CAP_VAR, RESTORE_STATE_VAR, SECRET_NAMES_VAR

DEFAULT_OUTPUT_CAP = 1_000_000
"""Bytes of stdout, and separately of stderr, that one step may show."""

DEFAULT_KILL_GRACE = 3.0
"""Seconds between interrupting a step's process group and killing it."""



@dataclass(frozen=True)
class KernelSettings:
    """How the kernel runs steps: output cap, kill grace, secrets, state to resume from."""

    output_cap: int = DEFAULT_OUTPUT_CAP
    kill_grace: float = DEFAULT_KILL_GRACE
    secret_names: frozenset[str] = frozenset()
    restore_state: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> KernelSettings:
        env = os.environ if environ is None else environ
        return cls(
            output_cap=_positive_int(env, OUTPUT_CAP_VAR, DEFAULT_OUTPUT_CAP),
            kill_grace=_non_negative_float(env, KILL_GRACE_VAR, DEFAULT_KILL_GRACE),
            secret_names=parse_secret_names(env.get(SECRET_NAMES_VAR, "")),
            restore_state=Path(env[RESTORE_STATE_VAR]) if env.get(RESTORE_STATE_VAR) else None,
        )


def parse_secret_names(text: str) -> frozenset[str]:
    """Comma-separated variable names, blanks ignored."""
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        raise KernelSettingsError(f"{name}={raw!r}: expected a number of bytes") from None
    if value <= 0:
        raise KernelSettingsError(f"{name}={raw!r}: must be greater than 0")
    return value


def _non_negative_float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise KernelSettingsError(f"{name}={raw!r}: expected a number of seconds") from None
    if value < 0:
        raise KernelSettingsError(f"{name}={raw!r}: must not be negative")
    return value
