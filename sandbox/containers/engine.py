"""The docker engine's view of one compose project's containers, over its unix socket (read-only).

Only two requests, both GET: /containers/json (the project's containers, by label) and
/containers/{id}/json (restart count, start time, cgroup parent). A thread asks once a second
and a scrape reads its last answer: on a busy host the engine can take longer than a scrape may.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONE_OFF_LABEL = "com.docker.compose.oneoff"
log = logging.getLogger("engine")


class EngineError(Exception):
    """The engine did not answer, or not with what was asked."""


@dataclass(frozen=True)
class Container:
    """One container of the project, as the engine describes it."""

    id: str
    service: str
    running: bool
    restart_count: int
    started_at: float | None  # epoch seconds of the last start; None if it never started
    cgroup_parent: str


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def parse_time(text: str) -> float | None:
    """Docker's UTC times ("2024-05-01T10:00:00.123456789Z") in epoch seconds; None for "never" (year 1)."""
    if not text or text.startswith("0001-"):
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Engine:
    """The containers of compose project `project`, asked for every `interval` seconds by `run`."""

    def __init__(self, socket_path: str, project: str, interval: float = 1.0, timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.project = project
        self.interval = interval
        self.timeout = timeout
        self._lock = threading.Lock()
        self._containers: list[Container] = []
        self._answered_at = float("-inf")
        self._error = "not asked yet"

    def _get(self, path: str) -> Any:
        connection = _UnixConnection(self.socket_path, self.timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
        except OSError as exc:
            raise EngineError(f"GET {path}: {exc}") from exc
        finally:
            connection.close()
        if response.status != 200:
            raise EngineError(f"GET {path}: HTTP {response.status} {body[:200]!r}")
        return json.loads(body)

    def _fetch(self) -> list[Container]:
        filters = json.dumps({"label": [f"{PROJECT_LABEL}={self.project}"]})
        listing = self._get("/containers/json?all=1&filters=" + quote(filters))
        found = []
        for entry in listing:
            labels = entry.get("Labels") or {}
            if labels.get(ONE_OFF_LABEL) == "True" or SERVICE_LABEL not in labels:
                continue  # `compose run` containers are not the service
            try:
                details = self._get(f"/containers/{entry['Id']}/json")
            except EngineError:
                continue  # removed since the listing
            state = details.get("State") or {}
            found.append(Container(
                id=entry["Id"], service=labels[SERVICE_LABEL], running=bool(state.get("Running")),
                restart_count=int(details.get("RestartCount") or 0),
                started_at=parse_time(state.get("StartedAt", "")),
                cgroup_parent=(details.get("HostConfig") or {}).get("CgroupParent") or ""))
        return found

    def refresh(self) -> None:
        """Ask the engine once; on failure keep the last answer and remember the error."""
        try:
            found = self._fetch()
        except (EngineError, ValueError, KeyError) as exc:
            with self._lock:
                if str(exc) != self._error:
                    log.warning("cannot read the docker engine: %s", exc)
                self._error = str(exc)
            return
        with self._lock:
            self._containers, self._answered_at, self._error = found, time.monotonic(), ""

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.refresh()
            stop.wait(self.interval)

    def containers(self) -> list[Container]:
        """The project's containers at the engine's last answer."""
        with self._lock:
            return list(self._containers)

    @property
    def error(self) -> str:
        """Why the last answer is missing or old ("" when it is fresh)."""
        with self._lock:
            if self._error:
                return self._error
            age = time.monotonic() - self._answered_at
            return f"the engine has not answered for {age:.0f}s" if age > 10 * self.interval + self.timeout else ""
