"""A container's CPU and memory, used and allowed, read from its cgroup (v2, or v1's hierarchies).

The same numbers cAdvisor reports: CPU time used, the CFS quota and period, the working set
(memory in use minus inactive page cache, what the OOM killer weighs) and the memory limit.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

UNLIMITED = 1 << 62
"""Memory limits above this mean "no limit" (v1 reports 9223372036854771712); cAdvisor says 0."""

NOT_FOUND_TTL = 10.0
"""Seconds a container whose cgroup was not found is not searched for again."""

SEARCH_DEPTH = 6


@dataclass(frozen=True)
class Usage:
    """What one container uses and may use, at one moment."""

    cpu_seconds: float
    cpu_quota_us: int | None  # None: no CPU limit
    cpu_period_us: int
    working_set_bytes: int
    memory_limit_bytes: int | None  # None: no memory limit


def _read(path: Path) -> str:
    return path.read_text(encoding="ascii").strip()


def _stat(path: Path) -> dict[str, int]:
    values = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            values[key] = int(value)
    return values


class Cgroups:
    """The cgroup filesystem mounted at `root` (the host's /sys/fs/cgroup, read-only)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.unified = (root / "cgroup.controllers").exists()
        self._found: dict[str, Path] = {}
        self._missing: dict[str, float] = {}

    # --------------------------------------------------------------- where
    def _candidates(self, container_id: str, parent: str) -> list[str]:
        """Relative cgroup paths docker uses: cgroupfs driver, systemd driver, a custom parent."""
        parents = [p for p in (parent.strip("/"), "docker", "system.slice") if p]
        paths = []
        for base in dict.fromkeys(parents):
            paths += [f"{base}/{container_id}", f"{base}/docker-{container_id}.scope"]
        return paths

    def _hierarchy(self, controller: str) -> Path:
        """v1: the mount of a controller (cpu and cpuacct may share one); v2: the root."""
        if self.unified:
            return self.root
        for name in (controller, "cpu,cpuacct", "cpuacct,cpu"):
            if (self.root / name).is_dir():
                return self.root / name
        return self.root / controller

    def _locate(self, container_id: str, parent: str) -> Path | None:
        """The container's cgroup, relative to a hierarchy (the same below every v1 controller)."""
        if container_id in self._found:
            return self._found[container_id]
        if time.monotonic() - self._missing.get(container_id, -NOT_FOUND_TTL) < NOT_FOUND_TTL:
            return None
        memory = self._hierarchy("memory")
        relative = next((Path(c) for c in self._candidates(container_id, parent) if (memory / c).is_dir()), None)
        if relative is None:  # rootless docker, a nested engine: search, once
            relative = self._search(memory, container_id)
        if relative is None:
            self._missing[container_id] = time.monotonic()
        else:
            self._found[container_id] = relative
        return relative

    def _search(self, hierarchy: Path, container_id: str) -> Path | None:
        for top, dirs, _files in os.walk(hierarchy):
            depth = len(Path(top).relative_to(hierarchy).parts)
            for name in dirs:
                if name in (container_id, f"docker-{container_id}.scope"):
                    return Path(top, name).relative_to(hierarchy)
            if depth >= SEARCH_DEPTH:
                dirs[:] = []
        return None

    def forget(self, keep: set[str]) -> None:
        """Drop what is cached about containers not in `keep` (removed ones)."""
        for cache in (self._found, self._missing):
            for container_id in set(cache) - keep:
                del cache[container_id]

    # --------------------------------------------------------------- what
    def usage(self, container_id: str, parent: str = "") -> Usage | None:
        """None when the container has no cgroup (it is not running)."""
        relative = self._locate(container_id, parent)
        if relative is None:
            return None
        try:
            return self._usage_v2(self.root / relative) if self.unified else self._usage_v1(relative)
        except (FileNotFoundError, ProcessLookupError):
            self._found.pop(container_id, None)  # stopped between listing and reading
            return None

    def _usage_v2(self, group: Path) -> Usage:
        quota, _, period = _read(group / "cpu.max").partition(" ")
        memory = _stat(group / "memory.stat")
        limit = _read(group / "memory.max")
        return Usage(
            cpu_seconds=_stat(group / "cpu.stat")["usage_usec"] / 1e6,
            cpu_quota_us=None if quota == "max" else int(quota),
            cpu_period_us=int(period or 100000),
            working_set_bytes=max(0, int(_read(group / "memory.current")) - memory.get("inactive_file", 0)),
            memory_limit_bytes=None if limit == "max" or int(limit) >= UNLIMITED else int(limit),
        )

    def _usage_v1(self, relative: Path) -> Usage:
        cpuacct = self._hierarchy("cpuacct") / relative
        cpu = self._hierarchy("cpu") / relative
        memory = self._hierarchy("memory") / relative
        quota = int(_read(cpu / "cpu.cfs_quota_us"))
        limit = int(_read(memory / "memory.limit_in_bytes"))
        inactive = _stat(memory / "memory.stat").get("total_inactive_file", 0)
        return Usage(
            cpu_seconds=int(_read(cpuacct / "cpuacct.usage")) / 1e9,
            cpu_quota_us=None if quota < 0 else quota,
            cpu_period_us=int(_read(cpu / "cpu.cfs_period_us")),
            working_set_bytes=max(0, int(_read(memory / "memory.usage_in_bytes")) - inactive),
            memory_limit_bytes=None if limit >= UNLIMITED else limit,
        )
