"""Container metrics of this compose project under cAdvisor's names: GET /metrics, GET /health.

The subset of cAdvisor the alert rules read, so the same rules work against a real cAdvisor:
container_cpu_usage_seconds_total, container_spec_cpu_quota / _period,
container_memory_working_set_bytes, container_spec_memory_limit_bytes,
container_start_time_seconds and container_scrape_error. One metric is not cAdvisor's:
container_restarts_total, docker's restart count (cAdvisor cannot see restarts by the engine).
The `name` label is the compose service. Only containers labelled with this project
(COMPOSE_PROJECT_NAME) are reported, whatever else runs on the engine.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from cgroup import Cgroups, Usage
from engine import Container, Engine
from sandboxlib.http import Request, Response, Router, serve, setup_logging
from sandboxlib.metrics import Gauge, Registry
from sandboxlib.settings import required

log = logging.getLogger("containers")
Sample = dict[tuple[str, ...], float]


class CollectedCounter(Gauge):
    """A counter whose value is read at scrape time (CPU seconds, restarts), not incremented here."""

    kind = "counter"


class ContainerMetrics:
    """One consistent reading per scrape: the engine's containers, then each one's cgroup."""

    def __init__(self, engine: Engine, cgroups: Cgroups) -> None:
        self.engine = engine
        self.cgroups = cgroups
        self.registry = Registry()
        self._lock = threading.Lock()
        self._containers: list[Container] = []
        self._usage: dict[str, Usage] = {}
        family = {
            "container_cpu_usage_seconds_total": (CollectedCounter, "Cumulative CPU time consumed in seconds.",
                                                  lambda u: u.cpu_seconds),
            "container_spec_cpu_quota": (Gauge, "CPU quota of the container (microseconds per period).",
                                         lambda u: u.cpu_quota_us),
            "container_spec_cpu_period": (Gauge, "CPU period of the container (microseconds).",
                                          lambda u: u.cpu_period_us),
            "container_memory_working_set_bytes": (Gauge, "Current working set in bytes.",
                                                   lambda u: u.working_set_bytes),
            "container_spec_memory_limit_bytes": (Gauge, "Memory limit of the container in bytes (0: none).",
                                                  lambda u: u.memory_limit_bytes or 0),
        }
        for name, (kind, help_text, value) in family.items():
            self.registry.add(kind(name, help_text, ("name",), collect=self._from_cgroup(value)))
        self.registry.add(Gauge("container_start_time_seconds", "Start time of the container since unix epoch.",
                                ("name",), collect=self._start_times))
        self.registry.add(CollectedCounter("container_restarts_total",
                                           "Times the engine restarted the container (docker's RestartCount).",
                                           ("name",), collect=self._restarts))
        self.registry.add(Gauge("container_scrape_error", "1 if the docker engine could not be read.",
                                collect=lambda: {(): 1.0 if self.engine.error else 0.0}))

    def _from_cgroup(self, value):  # type: ignore[no-untyped-def]
        def collect() -> Sample:
            found = {(c.service,): value(self._usage[c.id]) for c in self._containers if c.id in self._usage}
            return {key: v for key, v in found.items() if v is not None}
        return collect

    def _start_times(self) -> Sample:
        return {(c.service,): c.started_at for c in self._containers if c.started_at is not None}

    def _restarts(self) -> Sample:
        return {(c.service,): float(c.restart_count) for c in self._containers}

    def exposition(self) -> str:
        with self._lock:
            self._containers = self.engine.containers()
            self.cgroups.forget({c.id for c in self._containers})
            self._usage = {}
            for container in self._containers:
                usage = self.cgroups.usage(container.id, container.cgroup_parent) if container.running else None
                if usage is not None:
                    self._usage[container.id] = usage
            return self.registry.exposition()


def main() -> None:
    setup_logging("containers")
    project = required("COMPOSE_PROJECT_NAME")
    engine = Engine(os.environ.get("DOCKER_SOCKET", "/var/run/docker.sock"), project)
    cgroups = Cgroups(Path(os.environ.get("CGROUP_ROOT", "/host/sys/fs/cgroup")))
    metrics = ContainerMetrics(engine, cgroups)
    log.info("project %s; cgroup %s at %s", project, "v2" if cgroups.unified else "v1", cgroups.root)
    engine.refresh()  # the first scrape already has the containers
    threading.Thread(target=engine.run, args=(threading.Event(),), name="engine", daemon=True).start()

    def health(_req: Request) -> Response:
        if engine.error:
            return Response(503, {"status": "unhealthy", "error": engine.error})
        return Response(200, {"status": "ok", "project": project, "containers": len(engine.containers())})

    router = Router()
    router.add("GET", "/metrics", lambda _r: Response(200, metrics.exposition(), "text/plain; version=0.0.4"))
    router.add("GET", "/health", health)
    serve(router, int(os.environ.get("PORT", "8080")))


if __name__ == "__main__":
    main()
