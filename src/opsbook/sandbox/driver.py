"""The compose driver: bring the sandbox up and down, check it, reset it, break it and heal it."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import yaml

from opsbook.errors import SandboxError
from opsbook.sandbox import alerts as alert_api
from opsbook.sandbox.baseimage import BASE_IMAGE, ensure_base_image
from opsbook.sandbox.compose import ComposeCommand, compose_command
from opsbook.sandbox.containers import (
    ServiceState,
    container_logs,
    docker,
    docker_available,
    image_created,
    project_containers,
    project_volumes,
    service_state,
)
from opsbook.sandbox.faults import Fault, load_faults
from opsbook.sandbox.images import ImageBuild, build_levels, build_plan, stale_images
from opsbook.sandbox.monitoring import DerivedCopy, derive
from opsbook.sandbox.offsite import store_env, write_store_keys
from opsbook.sandbox.progress import Progress, ProgressFactory, Task, no_progress
from opsbook.sandbox.seed import TEMPLATE_PREFIX, seed_key, seed_script, template_name
from opsbook.sandbox.settings import (
    DEFAULT_APP_VERSION,
    DEFAULT_WORKER_VERSION,
    DEFAULT_PROJECT,
    PORT_OFFSETS,
    SECRET_ENV_NAMES,
    SandboxSettings,
    check_project_name,
    env_file_path,
    notification_sink_url,
    port_base,
    read_settings,
    target_env,
    write_notification_secrets,
    write_settings,
)

FAULT_PROFILE = "faults"
DRILL_PROFILE = "drills"
"""Services started only on demand: fault clients, and the fresh instance of a recovery drill.
A reset removes their containers; `down` removes them with the rest."""
ON_DEMAND_PROFILES = (FAULT_PROFILE, DRILL_PROFILE)
EVERY_PROFILE = ",".join(("build", *ON_DEMAND_PROFILES))
"""COMPOSE_PROFILES for commands that must see every service (down, logs)."""
RESET_NOISE = "PrometheusNotificationsFailing"
"""The alert a reset's own restart of Alertmanager may raise; the reset waits until it is gone."""
LOG_LINES = 15


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader where PyYAML has it: ten times faster on compose.yaml than the pure one."""


class Sandbox:
    """One compose project of the sandbox (`project`), defined by `root`/sandbox/compose.yaml."""

    def __init__(self, root: Path, project: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.dir = self.root / "sandbox"
        self.compose_file = self.dir / "compose.yaml"
        self.project = check_project_name(project or os.environ.get("OPSBOOK_SANDBOX_PROJECT") or DEFAULT_PROJECT)
        self.env_file = env_file_path(self.dir, self.project)
        self.state_dir = self.dir / ".state" / self.project
        self._spec: tuple[tuple[int, int], dict[str, Any]] | None = None

    # ------------------------------------------------------------------ reading
    def compose_spec(self) -> dict[str, Any]:
        """compose.yaml, parsed once per version of the file (status and reset read it often)."""
        try:
            stat = self.compose_file.stat()
            if self._spec is not None and self._spec[0] == (stat.st_mtime_ns, stat.st_size):
                return self._spec[1]
            spec = yaml.load(self.compose_file.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
        except FileNotFoundError:
            raise SandboxError(f"{self.compose_file} does not exist: is {self.root} the opsbook repository?") from None
        except yaml.YAMLError as exc:
            raise SandboxError(f"{self.compose_file}: {exc}") from exc
        self._spec = ((stat.st_mtime_ns, stat.st_size), spec)
        return spec

    def services(self) -> dict[str, dict[str, Any]]:
        """Services a plain `up` starts (no profile), in compose.yaml order."""
        return {name: spec for name, spec in (self.compose_spec().get("services") or {}).items()
                if not spec.get("profiles")}

    def one_shot_services(self) -> set[str]:
        return {name for name, spec in self.services().items() if str(spec.get("restart", "")) == "no"}

    def settings(self) -> SandboxSettings:
        return read_settings(self.env_file)

    def env(self) -> dict[str, str]:
        """Target variables for runbook steps; reads the env file, never starts anything."""
        settings = self.settings()
        env = target_env(settings, compose_file=self.compose_file, compose_command=str(self.compose()),
                         sandbox_dir=self.dir)
        env.update(store_env(self.backup_store_dir, settings.ports["backup-store"]))
        return env

    def secret_names(self) -> frozenset[str]:
        return SECRET_ENV_NAMES

    def compose(self) -> ComposeCommand:
        return compose_command()

    def status(self) -> list[ServiceState]:
        """Every service of compose.yaml that has a container, plus the default ones that have none."""
        self._require_docker()
        found = {s.service: s for s in map(service_state, project_containers(self.project))}
        order = list((self.compose_spec().get("services") or {}).keys())
        states = [found.pop(name) for name in order if name in found]
        states += [ServiceState(service=name, state="missing", health="") for name in self.services()
                   if name not in {s.service for s in states}]
        states += list(found.values())  # containers of services no longer in compose.yaml
        return states

    def healthy(self) -> bool:
        """Every long-running service running and healthy, no failed one-shot job. Fast; starts nothing."""
        if docker_available() is not None or not self.env_file.exists():
            return False  # no env file here: whatever runs under this project name is not ours
        try:
            return not self._not_ready(self.status())
        except SandboxError:
            return False

    def _not_ready(self, states: list[ServiceState]) -> list[ServiceState]:
        one_shot = self.one_shot_services()
        by_name = {s.service: s for s in states}
        waiting = []
        for name in self.services():
            state = by_name.get(name, ServiceState(name, "missing", ""))
            if name in one_shot:
                if state.state == "exited" and state.exit_code not in (0, None):
                    waiting.append(state)
            elif not state.ready:
                waiting.append(state)
        return waiting

    # ------------------------------------------------------------------ compose
    def _compose_variables(self) -> dict[str, str]:
        if self.env_file.exists():
            # An env file older than a secret (`up` adds it) must not keep `down` from parsing compose.yaml.
            settings = self.settings().with_new_secrets()
        else:  # down/status before any up: compose still needs every variable to parse the file
            settings = SandboxSettings.generate(self.project, port_base(self.project))
        return {**settings.compose_variables(), "COMPOSE_FILE": str(self.compose_file),
                "COMPOSE_PROJECT_NAME": self.project}

    def _compose(self, *args: str, env: Mapping[str, str] | None = None, timeout: float | None = 600,
                 check: bool = True) -> subprocess.CompletedProcess[str]:
        command = self.compose()
        argv = [*command.argv, "-f", str(self.compose_file), "-p", self.project, *args]
        # A COMPOSE_PROFILES of the caller's shell must not start fault clients by accident.
        full_env = {k: v for k, v in os.environ.items() if k != "COMPOSE_PROFILES"}
        full_env.update({**self._compose_variables(), **(env or {})})
        try:
            done = subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout,
                                  cwd=self.dir, check=False)
        except subprocess.TimeoutExpired:
            raise SandboxError(f"`{command} {' '.join(args)}` did not finish within {timeout:.0f}s") from None
        if check and done.returncode != 0:
            raise SandboxError(f"`{command} {' '.join(args)}` failed (exit {done.returncode}):\n"
                               f"{_tail(done.stderr or done.stdout, 20)}")
        return done

    def _require_docker(self) -> None:
        problem = docker_available()
        if problem is not None:
            raise SandboxError(f"the docker engine is not reachable: {problem}\n"
                               "start it (scripts/setup-host.sh starts dockerd) and try again")

    # ------------------------------------------------------------------ up
    def up(self, *, timeout: float = 600, progress: ProgressFactory | None = None) -> None:
        """Build what is missing (base image included), start, wait until every service is healthy.

        `progress` opens the display that shows each task (see `opsbook.cli.progress`); none by default.
        """
        deadline = time.monotonic() + timeout
        with (progress or no_progress)() as rep:
            with rep.task("docker engine and compose") as task:
                self._require_docker()
                task.update(f"{self.compose()} {self.compose().version}")
            with rep.task(f"settings ({self.env_file.name})") as task:
                if not self.env_file.exists():
                    self._remove_orphaned_sandbox(task)
                settings = self._ensure_settings()
                write_notification_secrets(self.notification_secrets_dir, settings)
                write_store_keys(self.backup_store_dir, self.project, settings.ports["backup-store"])
                task.update(f"project {self.project}, ports {min(settings.ports.values())}-"
                            f"{max(settings.ports.values())}")
            self._check_ports(settings)
            # Images are the docker engine's, shared by every project: two `up`s at once (two
            # shards, the test suite's sandboxes) build them once, the second waiting for the first.
            waited = time.monotonic()
            with self._images_lock(rep):
                deadline += time.monotonic() - waited  # another `up`'s builds are not this one's time
                with rep.task(f"base image {BASE_IMAGE}") as task:
                    how = ensure_base_image(task.update)
                    task.update(how)
                self._build_images(rep, deadline)
            self._start(rep, settings, deadline)

    @contextmanager
    def _images_lock(self, rep: Progress) -> Iterator[None]:
        path = self.dir / ".state" / "images.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                with rep.task("images") as task:
                    task.update("another sandbox is building them; waiting")
                    fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _remove_orphaned_sandbox(self, task: Task) -> None:
        """Containers and volumes of this project left by a sandbox whose env file is gone (a fresh
        clone on a machine that ran one before, a deleted sandbox/.env): their database holds the old
        passwords and their store another cluster's WAL, so they go before new secrets are made."""
        volumes = project_volumes(self.project)
        if not volumes and not project_containers(self.project):
            return
        task.update(f"removing an earlier sandbox of project {self.project} whose settings are gone "
                    f"({len(volumes)} volumes)")
        self._compose("down", "--volumes", "--remove-orphans", "--timeout", "3",
                      env={"COMPOSE_PROFILES": EVERY_PROFILE}, timeout=300)
        left = project_volumes(self.project)  # volumes an older compose.yaml declared
        if left:
            docker("volume", "rm", *left)
            left = project_volumes(self.project)
        if left:
            raise SandboxError(f"could not remove the earlier sandbox's volumes {', '.join(left)} (in use by "
                               f"another container?): remove them with `docker volume rm {' '.join(left)}`")

    def _ensure_settings(self) -> SandboxSettings:
        """Create the env file with random secrets on first use; keep secrets, refresh ports after."""
        base = port_base(self.project, os.environ.get("OPSBOOK_SANDBOX_PORT_BASE"))
        if self.env_file.exists():
            current = self.settings()
            if current.project != self.project:
                raise SandboxError(f"{self.env_file} belongs to project {current.project}, not {self.project}")
            settings = current.with_ports(base).with_new_secrets()
            if settings != current:
                write_settings(self.env_file, settings)
            return settings
        settings = SandboxSettings.generate(self.project, base)
        self.dir.mkdir(parents=True, exist_ok=True)
        write_settings(self.env_file, settings)
        return settings

    def _check_ports(self, settings: SandboxSettings) -> None:
        """Fail early, naming the port, when another program holds one of ours."""
        ours = {p.split(":")[1].split("-")[0] for s in self.status() for p in s.ports}
        for service, port in settings.ports.items():
            if str(port) in ours:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    raise SandboxError(
                        f"port {port} (for {service}) is already in use on 127.0.0.1: choose another port block "
                        f"with OPSBOOK_SANDBOX_PORT_BASE=<port> or another project with --project") from None

    def image_plan(self) -> list[ImageBuild]:
        return build_plan(self.compose_spec(), self.dir)

    def _build_images(self, rep: Progress, deadline: float) -> None:
        stale = stale_images(self.image_plan(), image_created)
        if not stale:
            with rep.task("images") as task:
                task.update("all up to date")
            return
        for level in build_levels(stale):
            with ThreadPoolExecutor(max_workers=4) as pool:
                futures = [pool.submit(self._build_one, rep, item, deadline) for item in level]
                errors = [f.exception() for f in futures if f.exception() is not None]
            if errors:
                raise errors[0]  # type: ignore[misc]

    def _build_one(self, rep: Progress, item: ImageBuild, deadline: float) -> None:
        with rep.task(f"build {item.image}") as task:
            command = self.compose()
            argv = [*command.argv, "-f", str(self.compose_file), "-p", self.project, "build", item.service]
            env = {**os.environ, **self._compose_variables(), **item.env}
            lines: list[str] = []
            with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                                  cwd=self.dir) as proc:
                assert proc.stdout is not None
                for line in proc.stdout:
                    line = line.rstrip()
                    if line:
                        lines.append(line)
                        task.update(_build_progress(line))
                    if time.monotonic() > deadline:
                        proc.kill()
                        raise SandboxError(f"building {item.image} did not finish before the timeout")
                code = proc.wait()
            if code != 0:
                raise SandboxError(f"building {item.image} failed (`{command} build {item.service}`, exit {code}):\n"
                                   f"{_tail(chr(10).join(lines), 25)}")

    def running_app_version(self, service: str = "app") -> str | None:
        """The release a versioned service's container runs (its image tag), if it has one."""
        for container in project_containers(self.project):
            if container["Config"]["Labels"].get("com.docker.compose.service") == service:
                image = container["Config"].get("Image", "")
                return image.rsplit(":", 1)[1] if ":" in image else None
        return None

    def _versions(self, settings: SandboxSettings, *, keep_running: bool) -> dict[str, str]:
        """The version variables of the versioned services: those running now (keep_running),
        else the defaults."""
        defaults = {"app": settings.app_version, "app-green": settings.app_version, "worker": DEFAULT_WORKER_VERSION}
        versions = {service: (self.running_app_version(service) if keep_running else None) or default
                    for service, default in defaults.items()}
        return {VERSION_VARIABLES[service]: version for service, version in versions.items()}

    @property
    def backup_store_dir(self) -> Path:
        """The off-site store's SSH keys and known hosts (`opsbook.sandbox.offsite`)."""
        return self.state_dir / "backup-store"

    @property
    def notification_secrets_dir(self) -> Path:
        """The receivers' secret files (SMTP password, Slack webhook URL, pager token), mode 0600;
        compose mounts the folder read-only into Alertmanager and the notification sink."""
        return self.state_dir / "notification-secrets"

    def _remove_retired_services(self) -> None:
        """Remove containers of services compose.yaml no longer defines (the `webhook` receiver
        became `notification-sink`): left running they would hold the published port."""
        defined = set(self.compose_spec().get("services") or {})
        retired = [s.container for s in self.status() if s.service not in defined and s.container]
        if retired:
            docker("rm", "-f", *retired, timeout=60)

    def _start(self, rep: Progress, settings: SandboxSettings, deadline: float) -> None:
        versions = self._versions(settings, keep_running=True)
        self._remove_retired_services()
        self.derive_monitoring()
        with rep.task("start services") as task:
            result: dict[str, Any] = {}

            def run_up() -> None:
                try:
                    result["done"] = self._compose("up", "-d", "--no-build", env=versions,
                                                   timeout=max(10.0, deadline - time.monotonic()), check=False)
                except SandboxError as exc:
                    result["error"] = exc

            thread = threading.Thread(target=run_up, daemon=True)
            thread.start()
            self._wait_ready(task, deadline, thread, result)
        self.reload_monitoring()

    @property
    def monitoring_dir(self) -> Path:
        """The sandbox's copy of monitoring/prometheus (compose mounts it into Prometheus)."""
        return self.state_dir / "prometheus"

    def derive_monitoring(self) -> DerivedCopy:
        """Write the sandbox copy of monitoring/prometheus: durations / 60 (see sandbox/monitoring.py)."""
        return derive(self.root / "monitoring" / "prometheus", self.monitoring_dir)

    def reload_monitoring(self) -> None:
        """Make Prometheus and Alertmanager re-read monitoring/ (rules edited since they started)."""
        self.derive_monitoring()
        self._render_alertmanager_config()
        env = self.env()
        for url in (env["PROMETHEUS_URL"], env["ALERTMANAGER_URL"]):
            self._reload(url)

    def _derived_copy_changed(self) -> bool:
        """Write the derived rules again; whether any file of the copy changed (rules edited)."""
        def contents() -> dict[str, bytes]:
            return {p.relative_to(self.monitoring_dir).as_posix(): p.read_bytes()
                    for p in self.monitoring_dir.rglob("*") if p.is_file()} if self.monitoring_dir.is_dir() else {}

        before = contents()
        self.derive_monitoring()
        return contents() != before

    @staticmethod
    def _reload(url: str) -> None:
        request = urllib.request.Request(url + "/-/reload", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (urllib.error.URLError, OSError) as exc:
            raise SandboxError(f"{url}/-/reload failed: {exc} (check monitoring/ with promtool)") from exc

    def _render_alertmanager_config(self) -> None:
        """Render monitoring/alertmanager/alertmanager.yml again inside the Alertmanager container and
        copy the receivers' secret files again (sandbox/alertmanager/start.sh refresh), so that the
        reload that follows reads the edited file."""
        done = docker("exec", self._container("alertmanager"), "/bin/sh", "/opt/sandbox/alertmanager/start.sh",
                      "refresh", timeout=60)
        if done.returncode != 0:
            raise SandboxError("rendering monitoring/alertmanager/alertmanager.yml failed:\n"
                               f"{_tail(done.stderr or done.stdout, 10)}")

    def _wait_ready(self, task: Task, deadline: float, thread: threading.Thread, result: dict[str, Any]) -> None:
        total = len(self.services())
        one_shot = self.one_shot_services()
        while True:
            states = self.status()
            waiting = self._not_ready(states)
            for state in states:
                if state.service in one_shot and state.exit_code not in (0, None):
                    raise SandboxError(f"{state.service} failed (exit {state.exit_code}); its last log lines:\n"
                                       f"{_indent(container_logs(state.container, LOG_LINES))}")
            if not thread.is_alive():
                if "error" in result:
                    raise result["error"]
                done = result.get("done")
                if done is not None and done.returncode != 0:
                    raise SandboxError(f"`{self.compose()} up` failed:\n{_tail(done.stderr or done.stdout, 20)}"
                                       + self._describe(waiting))
                if not waiting:
                    task.update(f"{total}/{total} ready")
                    return
            if waiting:
                task.update(f"{total - len(waiting)}/{total} ready; waiting for "
                            + ", ".join(f"{s.service} ({s.health or s.state})" for s in waiting[:4]))
            else:
                task.update(f"{total}/{total} ready; compose finishing")
            if time.monotonic() > deadline:
                names = ", ".join(s.service for s in waiting) or "compose"
                raise SandboxError(f"the sandbox did not become healthy in time; not ready: {names}"
                                   + self._describe(waiting))
            time.sleep(0.5)

    def _describe(self, states: Iterable[ServiceState]) -> str:
        parts = []
        for state in states:
            logs = container_logs(state.container, LOG_LINES) if state.container else "(no container)"
            parts.append(f"\n--- {state.service}: {state.state} {state.health} ---\n{logs}")
        return "".join(parts)

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            waiting = self._not_ready(self.status())
            if not waiting and self._proxy_serving():
                return
            if time.monotonic() > deadline:
                if not waiting:
                    raise SandboxError(f"every container is healthy, but the proxy does not serve the app yet "
                                       f"({self.env().get('APP_URL', '')}/api/version): see `opsbook sandbox logs proxy`")
                raise SandboxError("not healthy: " + ", ".join(f"{s.service} ({s.state} {s.health})" for s in waiting)
                                   + self._describe(waiting))
            time.sleep(0.5)

    def _proxy_serving(self) -> bool:
        """Users are served: the proxy sends API requests to a slot (a container can be healthy a
        second or two before the proxy's own checks see it up again)."""
        try:
            base = self.env()["APP_URL"]
            for path in ("/api/version", "/api/health"):  # the checked backend, and the health one
                with urllib.request.urlopen(base + path, timeout=3) as response:
                    if response.status != 200:
                        return False
            return True
        except (OSError, KeyError, SandboxError, ValueError):
            return False

    # ------------------------------------------------------------------ down / reset
    def down(self) -> None:
        """Remove containers (fault clients included), networks and volumes."""
        self._require_docker()
        self._compose("down", "--volumes", "--remove-orphans", "--timeout", "3",
                      env={"COMPOSE_PROFILES": EVERY_PROFILE}, timeout=300)
        self._write_active_faults([])

    def reset(self) -> None:
        """A running sandbox back to a clean state, without rebuilding: fault clients gone,
        default app version, every service running, fresh schema and no data, empty queue,
        empty spool, no recorded notifications, Alertmanager with nothing notified yet (and
        monitoring/alertmanager read afresh), Prometheus with the rules of monitoring/ now."""
        self._require_docker()
        settings = self.settings()
        states = {s.service: s for s in self.status()}
        if not any(s.state == "running" for s in states.values()):
            raise SandboxError(f"sandbox {self.project} is not running: run `opsbook sandbox up`")
        # Faults that live inside containers (a CPU burner, a ballast, a crash loop) are undone by
        # their heal scripts only; one that fails to heal is left to the steps below.
        for name in self.active_faults():
            try:
                self.heal(name)
            except SandboxError:
                self._write_active_faults([n for n in self.active_faults() if n != name])
        states = {s.service: s for s in self.status()}
        fault_clients = [s.container for name, s in states.items()
                         if any(name in self._profile_services(p) for p in ON_DEMAND_PROFILES) and s.container]
        if fault_clients:
            docker("rm", "-f", *fault_clients)
        versions = self._versions(settings, keep_running=False)
        to_start = [name for name, spec in self.services().items()
                    if name not in self.one_shot_services() and (
                        not states.get(name, ServiceState(name, "missing", "")).state == "running"
                        or (name in VERSION_VARIABLES
                            and states[name].image.rsplit(":", 1)[-1] != versions[VERSION_VARIABLES[name]]))]
        # The green slot last: it may be the live one now, and is replaced only once traffic is
        # back on blue (which can pass its health check only on the default release's schema).
        standby = [name for name in to_start if name == "app-green"]
        others = [name for name in to_start if name not in standby]
        if others:
            self._compose("up", "-d", "--no-build", "--no-deps", *others, env=versions, timeout=120)
        # Alertmanager first: it reads monitoring/alertmanager afresh as it starts, and becomes
        # healthy while the data is reset.
        self._restart_alertmanager()
        self._wait_services(["postgres", "redis"], timeout=60)
        self._reset_database()
        self._reload_pooler()
        self._exec("redis", ["redis-cli", "--no-auth-warning", "FLUSHALL"])
        self._exec("worker", ["sh", "-c", "rm -rf /var/spool/opsbook/* /var/spool/opsbook/.[!.]* 2>/dev/null; true"])
        self._traffic_to_blue()
        if standby:
            self._compose("up", "-d", "--no-build", "--no-deps", *standby, env=versions, timeout=120)
        if self._derived_copy_changed():
            self._reload(self.env()["PROMETHEUS_URL"])
        self.wait_healthy(timeout=60)
        self._wait_reset_noise_gone()
        self._write_active_faults([])

    def _wait_reset_noise_gone(self, timeout: float = 20) -> None:
        """Until the alert the reset itself may raise is gone: Prometheus fails to notify the
        Alertmanager it restarts for a second or two, and in the sandbox (5 s windows)
        PrometheusNotificationsFailing can be pending or firing just as the reset ends, where a
        runbook that checks for firing alerts first (the deploy) would take it for an incident."""
        url = self.env()["PROMETHEUS_URL"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                noisy = any(a.get("labels", {}).get("alertname") == RESET_NOISE
                            for a in alert_api.prometheus_alerts(url))
            except (OSError, ValueError, SandboxError):
                return  # Prometheus not answering is for wait_healthy and the verification to see
            if not noisy:
                return
            time.sleep(0.5)

    def _traffic_to_blue(self) -> None:
        """The proxy's live slot back to blue (a deploy may have left green live, or a switch
        half done: `slot live` then fails, and the switch finishes it)."""
        container = self._container("proxy")
        live = docker("exec", container, "slot", "live", timeout=30)
        if live.returncode != 0 or live.stdout.strip() != "blue":
            self._wait_services(["app"], timeout=60)
            switched = docker("exec", container, "slot", "switch", "blue", timeout=90)
            if switched.returncode != 0:
                raise SandboxError(f"cannot switch the proxy back to the blue slot: "
                                   f"{_tail(switched.stderr or switched.stdout, 5)}")
        # A clean start: no switch history (the emergency rollback reads it).
        docker("exec", container, "rm", "-f", "/var/lib/proxy/history", timeout=30)

    def _reload_pooler(self) -> None:
        """PgBouncer reads pgbouncer.ini again (SIGHUP): a pool resized at run time (the admin
        console's SET default_pool_size) goes back to its configured size."""
        done = docker("kill", "--signal", "HUP", self._container("pgbouncer"), timeout=30)
        if done.returncode != 0:
            raise SandboxError(f"cannot reload pgbouncer: {_tail(done.stderr or done.stdout, 5)}")

    def _restart_alertmanager(self) -> None:
        """Start Alertmanager afresh, with an empty notification log (its storage is a tmpfs).

        Alertmanager does not tell a receiver twice about the same firing alerts within
        repeat_interval, and an alert that resolves while inhibited is never logged as resolved:
        left alone, an alert notified before a reset could fire again after it and reach nobody.
        The sink forgets its records while Alertmanager is stopped: what it holds afterwards was
        all sent by the fresh Alertmanager."""
        container = self._container("alertmanager")
        stopped = docker("stop", "--time", "3", container, timeout=60)
        if stopped.returncode != 0:
            raise SandboxError(f"cannot stop alertmanager: {_tail(stopped.stderr or stopped.stdout, 5)}")
        try:
            self.clear_notifications()
        except SandboxError:
            pass  # the sink is (re)starting: it holds nothing then
        started = docker("start", container, timeout=60)
        if started.returncode != 0:
            raise SandboxError(f"cannot start alertmanager: {_tail(started.stderr or started.stdout, 5)}")

    def _profile_services(self, profile: str) -> set[str]:
        return {name for name, spec in (self.compose_spec().get("services") or {}).items()
                if profile in (spec.get("profiles") or [])}

    def _container(self, service: str) -> str:
        """The id of the service's container (one `docker ps`, not a whole status())."""
        found = docker("ps", "-aq", "--filter", f"label=com.docker.compose.project={self.project}",
                       "--filter", f"label=com.docker.compose.service={service}",
                       "--filter", "label=com.docker.compose.oneoff=False")
        ids = found.stdout.split() if found.returncode == 0 else []
        if ids:
            return ids[0]
        raise SandboxError(f"service {service} has no container in project {self.project}")

    def _exec(self, service: str, argv: list[str], input_text: str | None = None) -> str:
        done = docker("exec", "-i", self._container(service), *argv, input_text=input_text, timeout=120)
        if done.returncode != 0:
            raise SandboxError(f"`{' '.join(argv[:3])}` in {service} failed (exit {done.returncode}):\n"
                               f"{_tail(done.stderr or done.stdout, 15)}")
        return done.stdout

    def _wait_services(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = {s.service: s for s in self.status()}
            waiting = [n for n in names if not states.get(n, ServiceState(n, "missing", "")).ready]
            if not waiting:
                return
            if time.monotonic() > deadline:
                raise SandboxError(f"not healthy after {timeout:.0f}s: {', '.join(waiting)}"
                                   + self._describe(states[n] for n in waiting if n in states))
            time.sleep(0.3)

    def _reset_database(self) -> None:
        """The app's database replaced by a copy of the template holding the schema of the default
        release's migrations and the data volume (`opsbook.sandbox.seed`), built first if this
        version of them has none. PgBouncer holds the app's and worker's queries meanwhile (PAUSE:
        they wait about a second instead of failing); direct sessions, fault clients' included,
        are ended by the drop."""
        folder = self.dir / "app" / "migrations"
        release = json.loads((self.dir / "app" / "releases" / f"{DEFAULT_APP_VERSION}.json").read_text())
        migrations = [folder / f"{name}.sql" for name in release["migrations"]]
        seed = self.dir / "app" / "seed" / "platform.sql"
        template = template_name(seed_key(migrations, seed))
        found = self._psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{template}';")
        if not found.strip():
            self._build_template(template, migrations, seed)
        paused = False
        try:
            self._pooler_admin("PAUSE opsbook;")
            paused = True
            self._psql("postgres", "\n".join([
                "DROP DATABASE IF EXISTS opsbook WITH (FORCE);",
                f"CREATE DATABASE opsbook OWNER opsbook TEMPLATE {template} STRATEGY FILE_COPY;",
            ]))
        finally:
            try:
                self._pooler_admin("RESUME opsbook;")
            except SandboxError:
                if paused:  # a PAUSE that timed out may have left it pausing, or not paused at all
                    raise
        self._psql("opsbook", "SELECT pg_stat_statements_reset();")
        self._archive_now()

    def _archive_now(self) -> None:
        """Close the WAL segment the reset ended in and wait (10 s at most) until it is archived:
        a recovery from the archive then never stops between the reset's DROP and CREATE DATABASE
        (the database would come back invalid). A store that is down is the archive's problem,
        not the reset's: the wait ends, and the health check says so."""
        segment = self._psql("postgres", "SELECT pg_walfile_name(pg_switch_wal());").strip()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done = self._psql("postgres", "SELECT coalesce(last_archived_wal, '') >= "
                                          f"'{segment}' FROM pg_stat_archiver;").strip()
            if done == "t":
                return
            time.sleep(0.2)

    def _build_template(self, template: str, migrations: list[Path], seed: Path) -> None:
        """Create `template`: the migrations (as the app's role, each recorded with its undo), then
        the seeded rows; older templates are dropped."""
        self._psql("postgres", "\n".join([
            # gexec runs each column as a statement: a template must stop being one to be dropped.
            "SELECT format('ALTER DATABASE %1$I IS_TEMPLATE false', datname), format('DROP DATABASE %1$I', datname)"
            f" FROM pg_database WHERE datname LIKE '{TEMPLATE_PREFIX}%' \\gexec",
            f"CREATE DATABASE {template}_partial OWNER opsbook;",
        ]))
        script = [
            "BEGIN;",
            "ALTER SCHEMA public OWNER TO opsbook;",
            "CREATE EXTENSION pg_stat_statements SCHEMA public;",
            "SET ROLE opsbook;",
            "CREATE TABLE schema_migrations (version text PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now(), down_sql text);",
        ]
        for path in migrations:
            script.append(path.read_text(encoding="utf-8"))
            down = path.with_suffix(".down.sql")
            undo = "NULL" if not down.exists() else "$undo$" + down.read_text(encoding="utf-8") + "$undo$"
            script.append(f"INSERT INTO schema_migrations (version, down_sql) VALUES ('{path.stem}', {undo});")
        script += ["RESET ROLE;", *seed_script(seed), "COMMIT;"]
        self._psql(f"{template}_partial", "\n".join(script))
        # Renamed only once complete: an interrupted build leaves a _partial, never a template.
        self._psql("postgres", f"ALTER DATABASE {template}_partial RENAME TO {template};"
                               f" ALTER DATABASE {template} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;")

    def _psql(self, database: str, script: str) -> str:
        """`script` run by psql as the superuser inside the postgres container; stops at the first error."""
        return self._exec("postgres", ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-U", "postgres",
                                       "-d", database], input_text=script + "\n")

    def _pooler_admin(self, command: str) -> None:
        """A command on PgBouncer's admin console (from the postgres container, which has the
        superuser's password); PAUSE waits for the transactions in flight, 20 s at most."""
        self._exec("postgres", ["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" exec timeout 20'
                                ' psql -X -q -h pgbouncer -p 6432 -U postgres -d pgbouncer -c "$0"', command])

    # ------------------------------------------------------------------ faults
    def faults(self) -> list[Fault]:
        return load_faults(self.dir / "faults")

    def fault(self, name: str) -> Fault:
        known = {f.name: f for f in self.faults()}
        if name not in known:
            raise SandboxError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
        return known[name]

    def inject(self, fault: str) -> str:
        """Put the sandbox into the fault's failure state; returns what the script reported."""
        spec = self.fault(fault)
        output = self._run_script(spec.inject_script, f"inject {fault}")
        self._write_active_faults(sorted({*self.active_faults(), fault}))
        return output

    def heal(self, fault: str | None = None) -> str:
        """Undo one fault, or every fault injected through opsbook when `fault` is None."""
        names = [fault] if fault else self.active_faults()
        outputs = []
        for name in names:
            outputs.append(self._run_script(self.fault(name).heal_script, f"heal {name}"))
            self._write_active_faults([n for n in self.active_faults() if n != name])
        return "".join(outputs)

    def observe(self, fault: str) -> bool:
        """Run the fault's `observe` command (host tools): True while its symptom is visible."""
        spec = self.fault(fault)
        if not spec.observe:
            raise SandboxError(f"fault {fault} has no observe command")
        done = subprocess.run(["bash", "-c", spec.observe], env={**os.environ, **self.env()}, cwd=self.dir,
                              capture_output=True, text=True, timeout=60, check=False)
        return done.returncode == 0

    def active_faults(self) -> list[str]:
        path = self.state_dir / "faults.json"
        try:
            return list(json.loads(path.read_text()))
        except (FileNotFoundError, ValueError):
            return []

    def _write_active_faults(self, names: list[str]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        path = self.state_dir / "faults.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(names))
        tmp.replace(path)

    def _run_script(self, script: Path, what: str) -> str:
        self._require_docker()
        env = {**os.environ, **self.env()}
        done = subprocess.run(["bash", str(script)], env=env, cwd=self.dir, capture_output=True, text=True,
                              timeout=300, check=False)
        if done.returncode != 0:
            raise SandboxError(f"{what} failed ({script.relative_to(self.root)}, exit {done.returncode}):\n"
                               f"{_tail(done.stdout + done.stderr, 20)}")
        return done.stdout

    # ------------------------------------------------------------------ alerts
    def firing_alerts(self) -> set[str]:
        return alert_api.firing_alert_names(self.env()["PROMETHEUS_URL"])

    def wait_alerts(self, names: Iterable[str], *, firing: bool, timeout: float) -> set[str]:
        """Poll Prometheus until every alert in `names` is firing (or, with firing=False, is
        not firing any more); returns those that reached the wanted state in time."""
        wanted = set(names)
        url = self.env()["PROMETHEUS_URL"]
        deadline = time.monotonic() + timeout
        reached: set[str] = set()
        while True:
            try:
                now_firing = alert_api.firing_alert_names(url)
                reached = wanted & now_firing if firing else wanted - now_firing
            except SandboxError:
                reached = set()
            if reached == wanted or time.monotonic() > deadline:
                return reached
            time.sleep(1)

    def notifications(self, alertname: str | None = None, status: str | None = None, *,
                      receiver: str | None = None) -> list[dict[str, Any]]:
        """What Alertmanager delivered to the notification sink, oldest first: one record per email,
        Slack message or pager call (see `alerts.sink_notifications`)."""
        return self.notification_report(alertname=alertname, status=status, receiver=receiver)["notifications"]

    def notification_report(self, *, alertname: str | None = None, status: str | None = None,
                            receiver: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """The sink's records and the deliveries it rejected (wrong credentials). A sink that does
        not answer means the sandbox is not running: SandboxError says so."""
        url = notification_sink_url(self.settings())  # not env(): that detects compose, which takes a second
        try:
            return alert_api.sink_notifications(url, receiver=receiver, alertname=alertname, status=status)
        except SandboxError as exc:
            cause = exc.__cause__
            if not isinstance(cause, OSError) or isinstance(cause, urllib.error.HTTPError):
                raise  # it answered, with an error: not a question of running
            raise SandboxError(f"sandbox {self.project} is not running: the notification sink at {url} does not "
                               f"answer ({cause}); start it with `opsbook sandbox up"
                               f"{'' if self.project == DEFAULT_PROJECT else ' --project ' + self.project}`") from exc

    def clear_notifications(self) -> None:
        alert_api.clear_notifications(notification_sink_url(self.settings()))

    # ------------------------------------------------------------------ logs
    def logs(self, service: str | None = None, *, tail: int | None = None, follow: bool = False) -> int:
        """Stream `compose logs` to this process's stdout; returns compose's exit status."""
        args = ["logs", "--no-color"]
        if tail is not None:
            args += ["--tail", str(tail)]
        if follow:
            args.append("--follow")
        if service:
            args.append(service)
        command = self.compose()
        argv = [*command.argv, "-f", str(self.compose_file), "-p", self.project, *args]
        env = {**os.environ, **self._compose_variables(), "COMPOSE_PROFILES": EVERY_PROFILE}
        try:
            return subprocess.run(argv, env=env, cwd=self.dir, check=False).returncode
        except KeyboardInterrupt:
            return 130


def _tail(text: str, lines: int) -> str:
    return _indent("\n".join(text.rstrip().splitlines()[-lines:]))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def _build_progress(line: str) -> str:
    """The interesting part of a build log line: the step, or what apt is doing."""
    line = line.strip()
    if line.startswith("Step ") and ":" in line:
        return line.split(" : ", 1)[0] + ": " + line.split(" : ", 1)[-1][:60]
    return line[:90]


# The versioned services and the compose variable that picks each one's release.
VERSION_VARIABLES = {"app": "APP_VERSION", "app-green": "APP_GREEN_VERSION", "worker": "WORKER_VERSION"}

__all__ = ["Sandbox", "ServiceState", "Fault", "DEFAULT_APP_VERSION", "PORT_OFFSETS"]
