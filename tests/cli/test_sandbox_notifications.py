"""`opsbook sandbox notifications` without docker: bad usage, a sandbox that is not running, and a
table that prints hostile alert text as text. (What it shows of real deliveries is tested live in
tests/sandbox/test_notifications_live.py.)"""

from __future__ import annotations

import io
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from opsbook.cli.notifications import print_notifications
from opsbook.sandbox.settings import SandboxSettings, env_file_path, write_settings

ROOT = Path(__file__).resolve().parents[2]


def notifications(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from opsbook.cli.main import entry; entry()", "sandbox",
                           "notifications", *args], capture_output=True, text=True, cwd=cwd, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"})


def test_an_unknown_receiver_is_bad_usage_naming_the_known_ones() -> None:
    done = notifications("--receiver", "pagerduty", "--project", "opsbook-cli-test")
    assert done.returncode == 2
    assert "no receiver 'pagerduty'" in done.stderr and "oncall-pager" in done.stderr and "team-email" in done.stderr


def test_a_missing_option_value_is_bad_usage() -> None:
    assert notifications("--receiver").returncode == 2


def test_a_sandbox_never_set_up_says_to_run_up() -> None:
    done = notifications("--project", "opsbook-never-up")
    assert done.returncode == 1
    assert "not set up" in done.stderr and "opsbook sandbox up" in done.stderr


def _free_port_base() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_sandbox_that_is_not_running_is_exit_1_with_a_clear_message(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "sandbox").mkdir(parents=True)
    (root / "monitoring" / "alertmanager").mkdir(parents=True)
    shutil.copy(ROOT / "sandbox" / "compose.yaml", root / "sandbox" / "compose.yaml")
    shutil.copy(ROOT / "monitoring" / "alertmanager" / "alertmanager.yml", root / "monitoring" / "alertmanager")
    write_settings(env_file_path(root / "sandbox", "stopped"), SandboxSettings.generate("stopped", _free_port_base()))
    for extra in ([], ["--json"], ["--receiver", "team-email"]):
        done = notifications("--project", "stopped", *extra, cwd=root)
        assert done.returncode == 1, (extra, done.stdout, done.stderr)
        assert "sandbox stopped is not running" in done.stderr and "opsbook sandbox up --project stopped" in done.stderr
        assert done.stdout == ""


HOSTILE = "\x1b]0;owned\x07\x1b[2J[bold red]markup[/bold red] \x9b31m"


def test_the_table_prints_alert_text_as_text() -> None:
    record = {"time": "2026-01-01T10:00:00.000Z", "channel": "email", "receiver": "team-email", "status": "firing",
              "alertnames": ["DiskSpaceLow"],
              "email": {"to": ["ops@example.com"], "subject": f"[FIRING:1] {HOSTILE}",
                        "runbook_url": "https://runbooks.example.com/alerts/#diskspacelow", "dashboard_url": None}}
    slack = {"time": "2026-01-01T10:00:01.000Z", "channel": "slack", "receiver": "oncall-chat", "status": "resolved",
             "alertnames": [HOSTILE], "slack": {"channel": "#oncall", "color": "#2e7d32", "title": HOSTILE,
                                                 "actions": [{"text": "Runbook", "url": "https://x.example/r"}]}}
    out, err = io.StringIO(), io.StringIO()
    console = Console(file=out, width=200, force_terminal=True, color_system="truecolor")
    errors = Console(file=err, width=200)
    print_notifications(console, errors, {"notifications": [record, slack],
                                          "rejected": [{"channel": "pager", "reason": "wrong token"}]},
                        project="demo", receiver=None)
    text = out.getvalue()
    assert "[bold red]markup[/bold red]" in text, "markup is shown, not applied"
    assert "owned" not in text, "a window-title sequence goes whole"
    assert "\x1b]" not in text and "\x1b[2J" not in text and "\x9b" not in text
    assert "runbook: https://runbooks.example.com/alerts/#diskspacelow" in text and "dashboard:" not in text
    assert "10:00:00" in text and "team-email" in text and "oncall-chat" in text
    assert "rejected 1 delivery" in err.getvalue() and "wrong token" in err.getvalue()


def test_no_notifications_is_said_plainly() -> None:
    out = io.StringIO()
    print_notifications(Console(file=out, width=120), Console(file=io.StringIO()), {"notifications": [], "rejected": []},
                        project="demo", receiver="team-email")
    assert out.getvalue().strip() == "no notifications yet (sandbox demo, receiver team-email)"
