"""The container exporter's cgroup and engine readers (sandbox/containers), on made-up files: no docker."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

CONTAINERS = Path(__file__).resolve().parents[2] / "sandbox" / "containers"
ID = "c0ffee" * 10 + "abcd"


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"opsbook_sandbox_containers_{name}", CONTAINERS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


cgroup = load("cgroup")
engine = load("engine")


def write(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text + "\n")


def test_cgroup_v2_with_limits(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    write(tmp_path / "system.slice" / f"docker-{ID}.scope", {
        "cpu.stat": "usage_usec 2500000\nuser_usec 2000000", "cpu.max": "50000 100000",
        "memory.current": "209715200", "memory.stat": "anon 200000000\ninactive_file 10485760",
        "memory.max": "268435456"})
    usage = cgroup.Cgroups(tmp_path).usage(ID)
    assert usage == cgroup.Usage(cpu_seconds=2.5, cpu_quota_us=50000, cpu_period_us=100000,
                                 working_set_bytes=209715200 - 10485760, memory_limit_bytes=268435456)


def test_cgroup_v2_without_limits(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    write(tmp_path / "docker" / ID, {"cpu.stat": "usage_usec 1", "cpu.max": "max 100000", "memory.current": "5",
                                     "memory.stat": "inactive_file 9", "memory.max": "max"})
    usage = cgroup.Cgroups(tmp_path).usage(ID)
    assert usage is not None
    assert (usage.cpu_quota_us, usage.memory_limit_bytes, usage.working_set_bytes) == (None, None, 0)


def test_cgroup_v1_separate_hierarchies(tmp_path: Path) -> None:
    write(tmp_path / "cpuacct" / "docker" / ID, {"cpuacct.usage": "1500000000"})
    write(tmp_path / "cpu" / "docker" / ID, {"cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000"})
    write(tmp_path / "memory" / "docker" / ID, {"memory.usage_in_bytes": "30000000",
                                                "memory.stat": "cache 100\ntotal_inactive_file 1000000",
                                                "memory.limit_in_bytes": "9223372036854771712"})
    usage = cgroup.Cgroups(tmp_path).usage(ID)
    assert usage == cgroup.Usage(cpu_seconds=1.5, cpu_quota_us=None, cpu_period_us=100000,
                                 working_set_bytes=29000000, memory_limit_bytes=None)


def test_cgroup_found_by_search_and_none_once_gone(tmp_path: Path) -> None:
    group = tmp_path / "memory" / "user.slice" / "user-1000.slice" / ID
    write(group, {"memory.usage_in_bytes": "1", "memory.stat": "", "memory.limit_in_bytes": "1048576"})
    write(tmp_path / "cpu,cpuacct" / "user.slice" / "user-1000.slice" / ID,
          {"cpuacct.usage": "0", "cpu.cfs_quota_us": "25000", "cpu.cfs_period_us": "100000"})
    groups = cgroup.Cgroups(tmp_path)
    usage = groups.usage(ID)
    assert usage is not None and usage.cpu_quota_us == 25000 and usage.memory_limit_bytes == 1048576
    (group / "memory.usage_in_bytes").unlink()
    assert groups.usage(ID) is None
    assert groups.usage("not-a-container") is None


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-01T10:00:00.123456789Z", 1714557600.123456),
    ("2024-05-01T10:00:00Z", 1714557600.0),
    ("0001-01-01T00:00:00Z", None),
    ("", None),
])
def test_engine_times(text: str, expected: float | None) -> None:
    assert engine.parse_time(text) == expected
