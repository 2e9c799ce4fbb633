"""The sandbox's container exporter, live: this project's services only, with the limits compose sets."""

from __future__ import annotations

import json
import re
import subprocess
from collections import defaultdict
from datetime import datetime

import pytest

from opsbook.sandbox import Sandbox

pytestmark = pytest.mark.sandbox
SAMPLE = re.compile(r'^(?P<metric>\w+)\{name="(?P<name>[^"]+)"\} (?P<value>\S+)$')
UNITS = {"k": 2**10, "m": 2**20, "g": 2**30}


def scrape(sandbox: Sandbox) -> dict[str, dict[str, list[float]]]:
    """metric → compose service → values, read from the exporter inside its container."""
    states = {s.service: s for s in sandbox.status()}
    done = subprocess.run(["docker", "exec", states["containers"].container, "curl", "-fsS",
                           "http://localhost:8080/metrics"], capture_output=True, text=True, timeout=30, check=True)
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for line in done.stdout.splitlines():
        found = SAMPLE.match(line)
        if found:
            samples[found["metric"]][found["name"]].append(float(found["value"]))
    assert "container_scrape_error 0" in done.stdout.splitlines()
    return samples


def bytes_of(limit: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kmg]?)b?", str(limit).lower()).groups()  # type: ignore[union-attr]
    return int(number) * UNITS.get(unit, 1)


def started_at(container: str) -> float:
    state = json.loads(subprocess.run(["docker", "inspect", "-f", "{{json .State}}", container],
                                      capture_output=True, text=True, check=True).stdout)
    return datetime.fromisoformat(state["StartedAt"].replace("Z", "+00:00")).timestamp()


def test_reports_this_projects_services_only_with_the_limits_of_compose(sandbox: Sandbox) -> None:
    sandbox.wait_healthy(60)
    samples = scrape(sandbox)
    ours = {s.service: s.container for s in sandbox.status() if s.container}
    # One series per service of this project: other projects on the engine have the same services,
    # but not the same containers (their start times differ).
    assert set(samples["container_start_time_seconds"]) == set(ours)
    for service, container in ours.items():
        assert samples["container_start_time_seconds"][service] == [pytest.approx(started_at(container), abs=0.01)]
        assert len(samples["container_restarts_total"][service]) == 1, service
    running = {s.service for s in sandbox.status() if s.state == "running"}
    assert set(samples["container_cpu_usage_seconds_total"]) == running
    assert all(v[0] > 0 for v in samples["container_memory_working_set_bytes"].values())

    for service, spec in sandbox.compose_spec()["services"].items():
        if service not in running:
            continue
        quota = samples["container_spec_cpu_quota"].get(service)
        period = samples["container_spec_cpu_period"][service][0]
        memory = samples["container_spec_memory_limit_bytes"][service][0]
        if "cpus" in spec:
            assert quota and quota[0] / period == pytest.approx(float(spec["cpus"])), service
        else:
            assert quota is None, service
        assert memory == (bytes_of(spec["mem_limit"]) if "mem_limit" in spec else 0), service
    assert {"app", "worker"} <= set(samples["container_spec_cpu_quota"])


def test_cpu_time_only_grows(sandbox: Sandbox) -> None:
    first = scrape(sandbox)["container_cpu_usage_seconds_total"]
    second = scrape(sandbox)["container_cpu_usage_seconds_total"]
    for service in set(first) & set(second):
        assert second[service][0] >= first[service][0], service
