"""The sandbox's generated settings: project name, published ports, secrets, the env file, and
the secret files of Alertmanager's receivers (read by Alertmanager and the notification sink)."""

from __future__ import annotations

import re
import secrets
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from opsbook.errors import SandboxError
from opsbook.text import write_atomically

DEFAULT_PROJECT = "opsbook"
DEFAULT_APP_VERSION = "1.0.0"
DEFAULT_WORKER_VERSION = "1.0.0"

# Published port of each service = port base + offset. A block of PORT_BLOCK ports per project.
PORT_OFFSETS: dict[str, int] = {
    "app": 0,
    "worker": 1,
    "postgres": 2,
    "redis": 3,
    "prometheus": 4,
    "alertmanager": 5,
    "notification-sink": 6,
    "postgres-exporter": 7,
    "redis-exporter": 8,
    "node-exporter": 9,
    "proxy": 10,
    "proxy-admin": 11,
    "app-green": 12,
    "pgbouncer": 13,
    "pgbouncer-exporter": 14,
    "backup-store": 15,
    "postgres-recovery": 16,
}
PORT_BLOCK = 20
# Bases below the Linux ephemeral range (32768+), so outgoing connections never take them.
PORT_RANGE_START = 15000
PORT_BLOCKS = 800

PLATFORM_SECRET_KEYS = ("POSTGRES_PASSWORD", "APP_DB_PASSWORD", "REDIS_PASSWORD", "APP_API_TOKEN")
# Secrets added after the first env files were written: an env file without them still reads,
# and the next `up` generates them (with_new_secrets). The admin API's bearer token (the app's
# admin routes), and the secrets of Alertmanager's receivers, which compose never sees: `up`
# writes them to files (notification_secret_files) that Alertmanager and the notification sink
# mount read-only.
NOTIFICATION_SECRET_KEYS = ("SMTP_AUTH_PASSWORD", "SLACK_WEBHOOK_TOKEN", "PAGER_TOKEN")
ADDED_SECRET_KEYS = ("APP_ADMIN_TOKEN", *NOTIFICATION_SECRET_KEYS)
SECRET_KEYS = PLATFORM_SECRET_KEYS + ADDED_SECRET_KEYS
# Where Alertmanager reaches the sink inside the compose network (sandbox/compose.yaml).
NOTIFICATION_SINK_HOST = "notification-sink:9095"
# Keys older env files may hold that nothing reads any more (the sink's port used to be the webhook's).
OBSOLETE_KEYS = ("SANDBOX_WEBHOOK_PORT",)
_PROJECT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


def port_variable(service: str) -> str:
    """The compose variable holding a service's published port: app → SANDBOX_APP_PORT."""
    return "SANDBOX_" + service.upper().replace("-", "_") + "_PORT"


def check_project_name(project: str) -> str:
    if not _PROJECT_NAME.match(project):
        raise SandboxError(
            f"invalid sandbox project name {project!r}: use lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit (it becomes the compose project name)")
    return project


def port_base(project: str, override: str | None = None) -> int:
    """First published port of a project: OPSBOOK_SANDBOX_PORT_BASE if given, else derived
    from the project name (CRC32), so a project always gets the same ports and two
    projects almost never collide."""
    if override:
        try:
            base = int(override)
        except ValueError:
            raise SandboxError(f"OPSBOOK_SANDBOX_PORT_BASE must be a number, not {override!r}") from None
        if not 1024 <= base <= 65535 - PORT_BLOCK:
            raise SandboxError(f"OPSBOOK_SANDBOX_PORT_BASE={base} is out of range (1024..{65535 - PORT_BLOCK})")
        return base
    return PORT_RANGE_START + (zlib.crc32(project.encode()) % PORT_BLOCKS) * PORT_BLOCK


def new_secret() -> str:
    # URL-safe: the values go into connection URLs unescaped.
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class SandboxSettings:
    """Everything compose needs to interpolate compose.yaml for one project."""

    project: str
    ports: Mapping[str, int]
    secrets: Mapping[str, str]
    app_version: str = DEFAULT_APP_VERSION
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def generate(cls, project: str, base: int) -> "SandboxSettings":
        return cls(project=project,
                   ports={name: base + offset for name, offset in PORT_OFFSETS.items()},
                   secrets={key: new_secret() for key in SECRET_KEYS})

    def with_ports(self, base: int) -> "SandboxSettings":
        return replace(self, ports={name: base + offset for name, offset in PORT_OFFSETS.items()})

    def with_new_secrets(self) -> "SandboxSettings":
        """The same settings plus a random value for every secret the env file does not hold yet
        (a file written before ADDED_SECRET_KEYS existed); existing values are kept."""
        missing = {key: new_secret() for key in SECRET_KEYS if not self.secrets.get(key)}
        return replace(self, secrets={**self.secrets, **missing}) if missing else self

    def compose_variables(self) -> dict[str, str]:
        """The variables compose.yaml interpolates (what the env file holds)."""
        # Both app slots start on the same release; a deploy or a rollback sets one of them for
        # one compose command (APP_GREEN_VERSION=1.1.0 $COMPOSE up -d app-green).
        values = {"COMPOSE_PROJECT_NAME": self.project, "APP_VERSION": self.app_version,
                  "APP_GREEN_VERSION": self.app_version, "WORKER_VERSION": DEFAULT_WORKER_VERSION}
        # A recovery drill sets these for the one command that starts its fresh instance.
        values.update({"DR_BASE_BACKUP": "", "DR_WAL_ARCHIVED_BEFORE": "", "DR_RECOVERY_TARGET_TIME": ""})
        values.update({port_variable(name): str(port) for name, port in self.ports.items()})
        values.update(self.secrets)
        values.update(self.extra)
        return values

    def render(self) -> str:
        lines = [
            f"# Generated by `opsbook sandbox up` for compose project {self.project}.",
            "# Holds the sandbox's credentials: never commit it (sandbox/.gitignore ignores it).",
            "# Delete it to get new random values at the next `up` (after `opsbook sandbox down`).",
        ]
        lines += [f"{key}={value}" for key, value in self.compose_variables().items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str, source: Path | str = "env file") -> "SandboxSettings":
        values: dict[str, str] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise SandboxError(f"{source}:{number}: expected KEY=value, got {raw!r}")
            values[key.strip()] = value.strip()
        # A service added since the file was written has no port yet: it gets base + offset at the
        # next `up` (with_ports); until then the app's port gives the base. Secrets added since
        # (ADDED_SECRET_KEYS) are generated at the next `up` too (with_new_secrets).
        missing = [k for k in ("COMPOSE_PROJECT_NAME", *PLATFORM_SECRET_KEYS) if not values.get(k)]
        missing += [port_variable("app")] if not values.get(port_variable("app")) else []
        if missing:
            raise SandboxError(f"{source}: missing {', '.join(missing)}; delete the file and run "
                               "`opsbook sandbox up` to generate it again")
        ports: dict[str, int] = {}
        for service in PORT_OFFSETS:
            raw_port = values.pop(port_variable(service), "")
            if not raw_port:
                continue
            if not raw_port.isdigit():
                raise SandboxError(f"{source}: {port_variable(service)} must be a port number, not {raw_port!r}")
            ports[service] = int(raw_port)
        base = ports["app"] - PORT_OFFSETS["app"]
        ports = {service: ports.get(service, base + offset) for service, offset in PORT_OFFSETS.items()}
        project = values.pop("COMPOSE_PROJECT_NAME")
        app_version = values.pop("APP_VERSION", DEFAULT_APP_VERSION) or DEFAULT_APP_VERSION
        found_secrets = {k: values.pop(k) for k in SECRET_KEYS if values.get(k)}
        for key in (*OBSOLETE_KEYS, "APP_GREEN_VERSION", "WORKER_VERSION", "DR_BASE_BACKUP", "DR_WAL_ARCHIVED_BEFORE",
                    "DR_RECOVERY_TARGET_TIME"):  # set by compose_variables
            values.pop(key, None)
        return cls(project=project, ports=ports, secrets=found_secrets, app_version=app_version, extra=values)


def env_file_path(sandbox_dir: Path, project: str) -> Path:
    """sandbox/.env for the default project (what plain compose reads), sandbox/.env.<project> otherwise."""
    return sandbox_dir / (".env" if project == DEFAULT_PROJECT else f".env.{project}")


def write_settings(path: Path, settings: SandboxSettings) -> None:
    """Write the env file atomically, readable by the owner only (it holds credentials)."""
    write_atomically(path, settings.render(), mode=0o600)


def notification_secret_files(settings: SandboxSettings) -> dict[str, str]:
    """The secret files of Alertmanager's receivers, by file name, as Alertmanager reads them
    (smtp_auth_password_file, slack_api_url_file, credentials_file) and the sink checks them.
    No trailing newline: Alertmanager 0.25 sends the password file's bytes as they are."""
    s = settings.secrets
    return {
        "smtp-auth-password": s["SMTP_AUTH_PASSWORD"],
        # Shaped like Slack's https://hooks.slack.com/services/<team>/<bot>/<token>.
        "slack-webhook-url": f"http://{NOTIFICATION_SINK_HOST}/slack/services/T0SANDBOX/B0SANDBOX/"
                             f"{s['SLACK_WEBHOOK_TOKEN']}",
        "pager-token": s["PAGER_TOKEN"],
    }


def write_notification_secrets(folder: Path, settings: SandboxSettings) -> None:
    """Write the receivers' secret files into `folder` (mode 0700), each mode 0600, atomically.
    compose mounts the folder read-only into Alertmanager and the notification sink."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for name, text in notification_secret_files(settings).items():
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            write_atomically(path, text, mode=0o600)


def read_settings(path: Path) -> SandboxSettings:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SandboxError(f"the sandbox is not set up ({path} does not exist): run `opsbook sandbox up`") from None
    return SandboxSettings.parse(text, path)


def notification_sink_url(settings: SandboxSettings, host: str = "127.0.0.1") -> str:
    """The notification sink's published HTTP API (GET /notifications), as the host reaches it."""
    return f"http://{host}:{settings.ports['notification-sink']}"


def target_env(settings: SandboxSettings, *, compose_file: Path, compose_command: str,
               sandbox_dir: Path, host: str = "127.0.0.1") -> dict[str, str]:
    """The variables a runbook step sees for this sandbox (`opsbook sandbox env`)."""
    p = settings.ports
    s = settings.secrets
    # The recovery drill's variables are compose's only: a step sets them for one command.
    env = {k: v for k, v in settings.compose_variables().items() if not k.startswith("DR_")}
    env.update({
        "COMPOSE_FILE": str(compose_file),
        "COMPOSE": compose_command,
        "OPSBOOK_SANDBOX_DIR": str(sandbox_dir),
        "OPSBOOK_DEFAULT_APP_VERSION": DEFAULT_APP_VERSION,
        # The front door (the proxy), as users reach it; each slot directly, for deploys.
        "APP_URL": f"http://{host}:{p['proxy']}",
        "APP_BLUE_URL": f"http://{host}:{p['app']}",
        "APP_GREEN_URL": f"http://{host}:{p['app-green']}",
        "PROXY_ADMIN_URL": f"http://{host}:{p['proxy-admin']}",
        "WORKER_URL": f"http://{host}:{p['worker']}",
        "PROMETHEUS_URL": f"http://{host}:{p['prometheus']}",
        "ALERTMANAGER_URL": f"http://{host}:{p['alertmanager']}",
        "NOTIFICATION_SINK_URL": notification_sink_url(settings, host),
        # The chat receiver's webhook as seen from the host: post to it to test the Slack path by hand.
        "SLACK_WEBHOOK_URL": f"{notification_sink_url(settings, host)}/slack/services/T0SANDBOX/B0SANDBOX/"
                             f"{s.get('SLACK_WEBHOOK_TOKEN', '')}",
        "POSTGRES_EXPORTER_URL": f"http://{host}:{p['postgres-exporter']}",
        "REDIS_EXPORTER_URL": f"http://{host}:{p['redis-exporter']}",
        "NODE_EXPORTER_URL": f"http://{host}:{p['node-exporter']}",
        "DATABASE_URL": f"postgresql://opsbook:{s['APP_DB_PASSWORD']}@{host}:{p['postgres']}/opsbook",
        "DATABASE_ADMIN_URL": f"postgresql://postgres:{s['POSTGRES_PASSWORD']}@{host}:{p['postgres']}/opsbook",
        # A recovery drill's fresh instance (service postgres-recovery, started by the drill only).
        "RECOVERY_DATABASE_URL": f"postgresql://postgres:{s['POSTGRES_PASSWORD']}@{host}:{p['postgres-recovery']}/opsbook",
        # The pooler the app and worker go through, as the app's user; its admin console
        # (SHOW POOLS, SET, RELOAD) as the superuser; its exporter.
        "PGBOUNCER_URL": f"postgresql://opsbook:{s['APP_DB_PASSWORD']}@{host}:{p['pgbouncer']}/opsbook",
        "PGBOUNCER_ADMIN_URL": f"postgresql://postgres:{s['POSTGRES_PASSWORD']}@{host}:{p['pgbouncer']}/pgbouncer",
        "PGBOUNCER_EXPORTER_URL": f"http://{host}:{p['pgbouncer-exporter']}",
        "PGHOST": host,
        "PGPORT": str(p["postgres"]),
        "PGUSER": "opsbook",
        "PGPASSWORD": s["APP_DB_PASSWORD"],
        "PGDATABASE": "opsbook",
        "REDIS_URL": f"redis://default:{s['REDIS_PASSWORD']}@{host}:{p['redis']}/0",
        "REDISCLI_AUTH": s["REDIS_PASSWORD"],
    })
    return env


SECRET_ENV_NAMES = frozenset({*SECRET_KEYS, "PGPASSWORD", "REDISCLI_AUTH", "DATABASE_URL",
                              "DATABASE_ADMIN_URL", "RECOVERY_DATABASE_URL", "PGBOUNCER_URL", "PGBOUNCER_ADMIN_URL",
                              "REDIS_URL",
                              "SLACK_WEBHOOK_URL"})
