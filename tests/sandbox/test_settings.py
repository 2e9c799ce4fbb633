"""Sandbox settings without docker: env file, ports, target variables, compose detection."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.errors import SandboxError
from opsbook.sandbox.compose import detect_compose
from opsbook.sandbox.settings import (
    PORT_BLOCK,
    PORT_OFFSETS,
    SECRET_ENV_NAMES,
    SECRET_KEYS,
    SandboxSettings,
    notification_secret_files,
    write_notification_secrets,
    check_project_name,
    env_file_path,
    port_base,
    read_settings,
    target_env,
    write_settings,
)


def test_env_file_round_trips_and_is_private(tmp_path: Path) -> None:
    settings = SandboxSettings.generate("opsbook", port_base("opsbook"))
    path = tmp_path / ".env"
    write_settings(path, settings)
    assert read_settings(path) == settings
    assert path.stat().st_mode & 0o077 == 0  # credentials: owner only


def test_generated_secrets_are_random_and_url_safe() -> None:
    first = SandboxSettings.generate("a", 20000).secrets
    second = SandboxSettings.generate("a", 20000).secrets
    assert set(first) == set(SECRET_KEYS)
    for key in SECRET_KEYS:
        assert first[key] != second[key]
        assert len(first[key]) >= 24
        assert all(c.isalnum() or c in "-_" for c in first[key]), "goes into URLs unescaped"


def test_missing_env_file_says_to_run_up(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="opsbook sandbox up"):
        read_settings(tmp_path / ".env")


def test_env_file_without_a_secret_is_rejected(tmp_path: Path) -> None:
    settings = SandboxSettings.generate("opsbook", 20000)
    text = "\n".join(line for line in settings.render().splitlines() if not line.startswith("REDIS_PASSWORD="))
    path = tmp_path / ".env"
    path.write_text(text)
    with pytest.raises(SandboxError, match="missing REDIS_PASSWORD"):
        read_settings(path)


def test_ports_are_deterministic_per_project_and_differ_between_projects() -> None:
    assert port_base("opsbook") == port_base("opsbook")
    bases = {port_base(name) for name in ("opsbook", "opsbook-test", "opsbook-bench", "demo", "ci-1", "ci-2")}
    assert len(bases) == 6
    for base in bases:
        assert base % PORT_BLOCK == 0
        assert 1024 < base and base + PORT_BLOCK < 32768, "stay below the ephemeral port range"
    assert max(PORT_OFFSETS.values()) < PORT_BLOCK


def test_port_base_override_is_validated() -> None:
    assert port_base("opsbook", "25000") == 25000
    with pytest.raises(SandboxError, match="must be a number"):
        port_base("opsbook", "lots")
    with pytest.raises(SandboxError, match="out of range"):
        port_base("opsbook", "80")


def test_project_names_are_compose_names() -> None:
    assert check_project_name("opsbook-test_2") == "opsbook-test_2"
    for bad in ("Opsbook", "-x", "a b", "", "x" * 80):
        with pytest.raises(SandboxError, match="invalid sandbox project name"):
            check_project_name(bad)


def test_env_file_per_project(tmp_path: Path) -> None:
    assert env_file_path(tmp_path, "opsbook") == tmp_path / ".env"
    assert env_file_path(tmp_path, "demo") == tmp_path / ".env.demo"


def test_target_env_has_the_documented_variables_and_marks_secrets(tmp_path: Path) -> None:
    settings = SandboxSettings.generate("demo", 21000)
    env = target_env(settings, compose_file=tmp_path / "compose.yaml", compose_command="docker-compose",
                     sandbox_dir=tmp_path)
    for key in ("APP_URL", "WORKER_URL", "DATABASE_URL", "PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE",
                "REDIS_URL", "PROMETHEUS_URL", "ALERTMANAGER_URL", "NOTIFICATION_SINK_URL", "COMPOSE_PROJECT_NAME",
                "COMPOSE_FILE", "COMPOSE", "APP_VERSION", "APP_BLUE_URL", "APP_GREEN_URL", "PROXY_ADMIN_URL"):
        assert env[key], key
    # Users come through the proxy; each app slot and the proxy's admin side have their own port.
    assert env["APP_URL"] == "http://127.0.0.1:21010"
    assert env["APP_BLUE_URL"] == "http://127.0.0.1:21000" and env["APP_GREEN_URL"] == "http://127.0.0.1:21012"
    assert env["PROXY_ADMIN_URL"] == "http://127.0.0.1:21011"
    assert env["COMPOSE_PROJECT_NAME"] == "demo"
    assert env["PGPORT"] == "21002" and env["SANDBOX_POSTGRES_PORT"] == "21002"
    # every variable whose value contains a credential is declared secret
    credentials = set(settings.secrets.values())
    holding = {k for k, v in env.items() if any(c in v for c in credentials)}
    assert holding <= SECRET_ENV_NAMES
    assert {"DATABASE_URL", "REDIS_URL", "PGPASSWORD"} <= holding


def test_notification_secret_files_are_private_and_hold_the_generated_secrets(tmp_path: Path) -> None:
    settings = SandboxSettings.generate("demo", 21000)
    folder = tmp_path / ".state" / "demo" / "notification-secrets"
    write_notification_secrets(folder, settings)
    assert folder.stat().st_mode & 0o077 == 0
    files = {p.name: p for p in folder.iterdir()}
    assert set(files) == {"smtp-auth-password", "slack-webhook-url", "pager-token"}
    for path in files.values():
        assert path.stat().st_mode & 0o077 == 0, path
        assert not path.read_text().endswith("\n"), "Alertmanager sends a password file's bytes as they are"
    s = settings.secrets
    assert files["smtp-auth-password"].read_text() == s["SMTP_AUTH_PASSWORD"]
    assert files["pager-token"].read_text() == s["PAGER_TOKEN"]
    assert files["slack-webhook-url"].read_text() == (
        f"http://notification-sink:9095/slack/services/T0SANDBOX/B0SANDBOX/{s['SLACK_WEBHOOK_TOKEN']}")
    write_notification_secrets(folder, settings)  # idempotent
    assert notification_secret_files(settings)["pager-token"] == files["pager-token"].read_text()


def test_an_env_file_from_before_the_notification_sink_still_reads_and_gains_its_secrets(tmp_path: Path) -> None:
    """Env files written before the sink existed have SANDBOX_WEBHOOK_PORT and no notification secrets:
    they still work (nobody has to delete theirs), and the next `up` adds what is missing."""
    current = SandboxSettings.generate("demo", 21000)
    old_lines = [line for line in current.render().splitlines()
                 if not line.startswith(("SANDBOX_NOTIFICATION_SINK_PORT=", "SMTP_AUTH_PASSWORD=",
                                         "SLACK_WEBHOOK_TOKEN=", "PAGER_TOKEN="))]
    path = tmp_path / ".env.demo"
    path.write_text("\n".join(old_lines + ["SANDBOX_WEBHOOK_PORT=21006"]) + "\n")
    old = read_settings(path)
    assert old.ports["notification-sink"] == 21006, "base + offset, from the app's port"
    assert "SANDBOX_WEBHOOK_PORT" not in old.compose_variables()
    assert "PAGER_TOKEN" not in old.secrets
    upgraded = old.with_new_secrets()
    assert {k: upgraded.secrets[k] for k in old.secrets} == dict(old.secrets), "existing secrets are kept"
    assert set(upgraded.secrets) == set(SECRET_KEYS)
    assert upgraded.with_new_secrets() == upgraded


def _probe(available: dict[str, str]):  # type: ignore[no-untyped-def]
    calls: list[list[str]] = []

    def probe(argv):  # type: ignore[no-untyped-def]
        calls.append(list(argv))
        return available.get(" ".join(argv[:-2]))

    return probe, calls


def test_compose_v2_is_preferred_when_present() -> None:
    probe, _ = _probe({"docker compose": "v2.27.0", "docker-compose": "1.29.2"})
    found = detect_compose(probe)
    assert str(found) == "docker compose" and found.major == 2 and found.version == "2.27.0"


def test_compose_v1_is_used_without_the_v2_plugin() -> None:
    probe, calls = _probe({"docker-compose": "1.29.2"})
    found = detect_compose(probe)
    assert str(found) == "docker-compose" and found.major == 1 and found.version == "1.29.2"
    assert calls[0][:2] == ["docker", "compose"], "v2 is tried first"


def test_no_compose_is_a_clear_error() -> None:
    probe, _ = _probe({})
    with pytest.raises(SandboxError, match="setup-host.sh"):
        detect_compose(probe)


def test_compose_override_pins_the_command() -> None:
    probe, _ = _probe({"docker compose": "v2.27.0", "docker-compose": "1.29.2"})
    assert str(detect_compose(probe, override="docker-compose")) == "docker-compose"
    with pytest.raises(SandboxError, match="OPSBOOK_COMPOSE"):
        detect_compose(_probe({})[0], override="podman-compose")
