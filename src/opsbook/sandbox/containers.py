"""What docker says about a project's containers: state, health, published ports."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from typing import Any

from opsbook.errors import SandboxError


@dataclass(frozen=True)
class ServiceState:
    """One service of the sandbox as `opsbook sandbox status` shows it."""

    service: str
    state: str  # running, exited, restarting, created, missing ...
    health: str  # healthy, unhealthy, starting, "" (no health check), exit code for one-shot jobs
    ports: tuple[str, ...] = ()
    container: str = ""
    image: str = ""
    exit_code: int | None = None

    @property
    def ready(self) -> bool:
        """Running and healthy (or running without a health check)."""
        return self.state == "running" and self.health in ("healthy", "")


def docker(*args: str, timeout: float = 60, input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout,
                              input=input_text, check=False)
    except FileNotFoundError:
        raise SandboxError("the docker CLI is not installed: run scripts/setup-host.sh") from None
    except subprocess.TimeoutExpired:
        raise SandboxError(f"`docker {' '.join(args[:3])}` did not answer within {timeout:.0f}s") from None


def docker_available() -> str | None:
    """None when the engine answers, else why not."""
    try:
        done = docker("version", "--format", "{{.Server.Version}}", timeout=15)
    except SandboxError as exc:
        return str(exc)
    if done.returncode != 0:
        return done.stderr.strip() or "the docker engine does not answer"
    return None


def project_volumes(project: str) -> list[str]:
    """Names of the compose project's volumes (compose labels the ones it creates)."""
    listed = docker("volume", "ls", "-q", "--filter", f"label=com.docker.compose.project={project}")
    if listed.returncode != 0:
        raise SandboxError(f"docker volume ls failed: {listed.stderr.strip()}")
    return listed.stdout.split()


def project_containers(project: str) -> list[dict[str, Any]]:
    """`docker inspect` of every container of the compose project (one-off `run` ones excluded)."""
    listed = docker("ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={project}")
    if listed.returncode != 0:
        raise SandboxError(f"docker ps failed: {listed.stderr.strip()}")
    ids = listed.stdout.split()
    if not ids:
        return []
    inspected = docker("inspect", *ids)
    if inspected.returncode != 0:
        # A container can disappear between ps and inspect; inspect what is left.
        found = []
        for cid in ids:
            one = docker("inspect", cid)
            if one.returncode == 0:
                found.extend(json.loads(one.stdout))
        return [c for c in found if c["Config"]["Labels"].get("com.docker.compose.oneoff", "False") == "False"]
    return [c for c in json.loads(inspected.stdout)
            if c["Config"]["Labels"].get("com.docker.compose.oneoff", "False") == "False"]


def service_state(container: dict[str, Any]) -> ServiceState:
    labels = container["Config"]["Labels"]
    state = container["State"]
    health = (state.get("Health") or {}).get("Status", "")
    status = state.get("Status", "unknown")
    ports: list[str] = []
    for inner, bindings in sorted((container.get("NetworkSettings", {}).get("Ports") or {}).items()):
        for b in bindings or []:
            ports.append(f"{b.get('HostIp') or '0.0.0.0'}:{b.get('HostPort')}->{inner}")
    exit_code = state.get("ExitCode") if status == "exited" else None
    if status == "exited":
        health = f"exit {exit_code}"
    return ServiceState(service=labels.get("com.docker.compose.service", "?"), state=status, health=health,
                        ports=tuple(ports), container=container["Id"][:12], image=container["Config"].get("Image", ""),
                        exit_code=exit_code)


def image_created(reference: str) -> float | None:
    """Creation time (epoch seconds) of a local image, None if absent."""
    done = docker("image", "inspect", "--format", "{{.Created}}", reference)
    if done.returncode != 0:
        return None
    return parse_docker_time(done.stdout.strip())


def parse_docker_time(text: str) -> float:
    from datetime import datetime

    # 2025-11-26T20:05:01.123456789Z: trim the nanoseconds Python cannot parse.
    head, _, rest = text.partition(".")
    frac = "".join(ch for ch in rest if ch.isdigit())[:6]
    suffix = rest[len("".join(ch for ch in rest if ch.isdigit())):] if rest else text[len(head):]
    stamp = f"{head}.{frac or '0'}{suffix or 'Z'}".replace("Z", "+00:00")
    return datetime.fromisoformat(stamp).timestamp()


def container_logs(container: str, lines: int = 20) -> str:
    done = docker("logs", "--tail", str(lines), container)
    return (done.stdout + done.stderr).rstrip()
