"""`opsbook alerts` and `opsbook run --alert` without docker: a stand-in Alertmanager on 127.0.0.1
(GET /api/v2/alerts answered with what a test sets), a throw-away project with a target pointing at
it, and the pure parts (order, which labels tell alerts apart, which label fills which param).
The same behaviour against the sandbox's real Alertmanager: tests/sandbox/test_alerts_cli.py."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from opsbook.cli.alerts import AlertSource, alert_lines, alert_listing
from opsbook.run.alerts import (
    FiringAlert,
    alert_from_api,
    distinguishing_labels,
    on_call_order,
    params_from_labels,
    shown_url,
)
from opsbook.runbook.model import Param, Runbook
from opsbook.sandbox.settings import SandboxSettings, env_file_path, write_settings
from opsbook.text import strip_ansi
from tests.support.project import events
from tests.support.runbooks import write_runbook

ROOT = Path(__file__).resolve().parents[2]
OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)
HOSTILE = "\x1b]0;owned\x07\x1b[2J[bold red]markup[/bold red] \x9b31m"


def api_alert(name: str, severity: str | None = "warning", *, ago: float = 60, state: str = "active",
              inhibited_by: tuple[str, ...] = (), silenced_by: tuple[str, ...] = (), fingerprint: str = "",
              annotations: dict[str, str] | None = None, **labels: str) -> dict[str, Any]:
    """One alert as Alertmanager's GET /api/v2/alerts returns it."""
    all_labels = {"alertname": name, **({"severity": severity} if severity else {}), **labels}
    starts = datetime.now(timezone.utc) - timedelta(seconds=ago)
    return {"labels": all_labels, "annotations": annotations or {},
            "startsAt": starts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "endsAt": (starts + timedelta(hours=1)).isoformat().replace("+00:00", "Z"), "updatedAt": "",
            "fingerprint": fingerprint or f"{abs(hash(tuple(sorted(all_labels.items())))):016x}"[:16],
            "receivers": [{"name": "team-email"}], "generatorURL": "http://prometheus/graph",
            "status": {"state": "suppressed" if inhibited_by or silenced_by else state,
                       "inhibitedBy": list(inhibited_by), "silencedBy": list(silenced_by)}}


class FakeAlertmanager:
    """GET /api/v2/alerts → `alerts`; remembers the Authorization header of the last request."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []
        self.authorization: str | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                fake.authorization = self.headers.get("Authorization")
                if self.path.split("?")[0] != "/api/v2/alerts":
                    self.send_error(404)
                    return
                body = json.dumps(fake.alerts).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def alertmanager() -> Iterator[FakeAlertmanager]:
    fake = FakeAlertmanager()
    try:
        yield fake
    finally:
        fake.close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


ANSWERS_STUCK = """\
    alerts: [WorkerStuck]
    params:
      INSTANCE:
        help: the worker that is stuck
      QUEUE:
        default: jobs
        help: the queue
      TOKEN:
        default: none
        secret: true
"""
STEPS = """\
    ```bash name="show"
    echo "instance=$INSTANCE queue=$QUEUE"
    ```
"""


@pytest.fixture()
def project(tmp_path: Path, alertmanager: FakeAlertmanager) -> Path:
    (tmp_path / "opsbook.toml").write_text(textwrap.dedent(f"""\
        [targets.fake]
        confirm = false
        [targets.fake.env]
        ALERTMANAGER_URL = "{alertmanager.url}"
        [targets.closed]
        confirm = false
        [targets.closed.env]
        ALERTMANAGER_URL = "http://ops:s3cret-pw@127.0.0.1:{closed_port()}"
        [targets.nowhere]
        confirm = false
    """))
    write_runbook(tmp_path, "incidents/worker-stuck", ANSWERS_STUCK, STEPS, title="Worker stuck")
    write_runbook(tmp_path, "incidents/disk", "alerts: [DiskFull, DiskFullTwice]\n", STEPS, title="Disk")
    write_runbook(tmp_path, "incidents/disk-again", "alerts: [DiskFullTwice]\n", STEPS, title="Disk again")
    return tmp_path


def opsbook(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "OPSBOOK_ROOT": str(project), "COLUMNS": "250", **env}
    if "FORCE_COLOR" not in env:
        environ["NO_COLOR"] = "1"
    return subprocess.run([*OPSBOOK, *args], cwd=project, env=environ, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


# --- the pure parts ----------------------------------------------------------------------------------


def alert(name: str, severity: str = "", *, ago: float = 60, suppressed: bool = False, **labels: str) -> FiringAlert:
    all_labels = {"alertname": name, **({"severity": severity} if severity else {}), **labels}
    return FiringAlert(name=name, labels=all_labels, starts_at=NOW - timedelta(seconds=ago),
                       state="suppressed" if suppressed else "active", inhibited_by=("f00",) if suppressed else (),
                       fingerprint=name + str(sorted(labels.items())))


def test_active_before_suppressed_then_by_severity_then_oldest_first() -> None:
    given = [alert("Info", "info", ago=9000), alert("NoSeverity", ago=9999), alert("WarnNew", "warning", ago=10),
             alert("Muted", "critical", ago=99999, suppressed=True), alert("Major", "major", ago=5),
             alert("WarnOld", "warning", ago=600), alert("Crit", "Critical", ago=1),
             alert("MutedWarn", "warning", ago=5, suppressed=True)]
    assert [a.name for a in on_call_order(given)] == ["Crit", "Major", "WarnOld", "WarnNew", "NoSeverity", "Info",
                                                       "Muted", "MutedWarn"]


def test_the_fewest_labels_tell_an_alert_from_the_others_of_its_name() -> None:
    a = alert("Down", "warning", instance="a:1", job="redis", zone="x")
    b = alert("Down", "warning", instance="b:1", job="postgres", zone="x")
    c = alert("Down", "warning", instance="a:1", job="redis", zone="y")
    assert distinguishing_labels(a, [a]) == []
    assert distinguishing_labels(a, [a, b]) == [("instance", "a:1")]
    assert distinguishing_labels(a, [a, b, c]) == [("instance", "a:1"), ("zone", "x")]
    assert distinguishing_labels(c, [a, b, c]) == [("instance", "a:1"), ("zone", "y")]
    lone = alert("Down", "warning", instance="a:1", job="redis")  # no zone: reads as zone=""
    assert distinguishing_labels(lone, [a, lone]) == [("zone", "")]


def runbook(*params: Param) -> Runbook:
    return Runbook(id="incidents/x", path=Path("x.md"), title="X", params=params)


def test_a_param_takes_the_label_of_its_name_ignoring_case_and_param_wins() -> None:
    book = runbook(Param("INSTANCE"), Param("JOB", default="any"), Param("QUEUE", default="jobs"), Param("Zone"))
    labels = {"alertname": "Down", "instance": "redis-exporter:9121", "job": "redis", "zone": "a", "Zone": "b"}
    found = {lp.param.name: lp for lp in params_from_labels(book, labels, {"JOB": "mine"})}
    assert sorted(found) == ["INSTANCE", "JOB", "Zone"]  # no label queue: QUEUE keeps its default
    assert (found["INSTANCE"].label, found["INSTANCE"].value, found["INSTANCE"].overridden) == \
        ("instance", "redis-exporter:9121", False)
    assert found["JOB"].overridden
    assert (found["Zone"].label, found["Zone"].value) == ("Zone", "b")  # the exact spelling wins


def test_alertmanager_json_is_read_tolerantly() -> None:
    read = alert_from_api({"labels": {"alertname": "X", "n": 3}, "startsAt": "2026-11-26T02:59:00.123456789Z",
                           "status": {"state": "suppressed", "silencedBy": ["abc"], "inhibitedBy": None}})
    assert read.name == "X" and read.labels["n"] == "3" and read.suppressed and read.silenced_by == ("abc",)
    assert read.firing_seconds(NOW) == pytest.approx(59.877, abs=0.01)
    assert alert_from_api({"labels": "nonsense", "startsAt": "soon"}).starts_at is None


def test_a_password_in_the_url_is_never_shown() -> None:
    assert shown_url("https://ops:s3cret@am.example.com/am") == "https://ops:***@am.example.com/am"
    assert shown_url("http://127.0.0.1:9093") == "http://127.0.0.1:9093"


def rendered(alerts: list[dict[str, Any]], runbooks: list[Runbook], source: AlertSource) -> str:
    lines = alert_lines([alert_from_api(a) for a in alerts], runbooks, source)
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=True, color_system="truecolor")
    for text in alert_listing(lines, datetime.now(timezone.utc)):
        console.print(text, soft_wrap=True)
    return out.getvalue()


def test_alert_text_is_printed_as_text_never_as_markup_or_escapes() -> None:
    hostile = api_alert(HOSTILE, "critical", instance=HOSTILE, service="[link=https://evil.example]x[/link]",
                        annotations={"runbook_url": HOSTILE})
    out = rendered([hostile], [], AlertSource("sandbox", "http://127.0.0.1:1"))
    assert "[bold red]markup[/bold red]" in out and "[link=https://evil.example]x[/link]" in out
    assert "\x1b]" not in out and "\x07" not in out and "\x9b" not in out and "\x1b[2J" not in out
    assert out.count("rule's runbook_url") == 1


def test_a_command_is_never_broken_across_lines() -> None:
    book = Runbook(id="incidents/worker-stuck", path=Path("w.md"), title="W", alerts=("WorkerStuck",))
    many = [api_alert("WorkerStuck", "major", instance=f"worker-{i}.a-very-long-domain-name.example.com:9100")
            for i in range(2)]
    out = rendered(many, [book], AlertSource("production-eu-west", "https://am"))
    commands = [strip_ansi(line).strip().split("  ")[-1] for line in out.splitlines() if "opsbook run" in line]
    assert commands == [f"opsbook run --alert WorkerStuck --label instance=worker-{i}.a-very-long-domain-name"
                        f".example.com:9100 --target production-eu-west" for i in range(2)]


# --- opsbook alerts --------------------------------------------------------------------------------


def test_alerts_most_severe_first_with_runbook_and_command(project: Path, alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [
        api_alert("DiskSlow", "warning", ago=30, service="postgres", instance="db:9187",
                  annotations={"runbook_url": "https://wiki.example.com/disk-slow"}),
        api_alert("WorkerStuck", "critical", ago=90, service="worker", instance="worker-1:8081"),
        api_alert("Nameless", None, ago=9000, service="app"),
        api_alert("QueueLong", "major", ago=3700, service="worker"),
        api_alert("DiskFullTwice", "warning", ago=3000, service="postgres"),
    ]
    done = opsbook(project, "alerts", "--target", "fake")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.index("WorkerStuck") < out.index("QueueLong") < out.index("DiskFullTwice") < out.index("DiskSlow") \
        < out.index("Nameless")
    assert "5 alerts firing on target fake" in out and "5 active" in out
    entry = out[out.index("WorkerStuck"):out.index("QueueLong")]
    assert "worker-1:8081" in entry and re.search(r"  1 min [3-5]\d s  ", entry) and "active" in entry
    assert "incidents/worker-stuck  opsbook run --alert WorkerStuck --target fake\n" in entry
    assert "1 h 01 min" in out  # QueueLong's age, in the one duration format
    assert "no runbook here; the rule's runbook_url: https://wiki.example.com/disk-slow" in out
    assert out[out.index("Nameless"):].splitlines()[1].strip() == "no runbook"
    several = out[out.index("DiskFullTwice"):out.index("DiskSlow")]
    assert "2 runbooks answer it" in several
    assert "incidents/disk  opsbook run incidents/disk --target fake" in several
    assert "incidents/disk-again  opsbook run incidents/disk-again --target fake" in several


def test_alerts_shows_suppressed_ones_after_the_active_ones_and_active_hides_them(
        project: Path, alertmanager: FakeAlertmanager) -> None:
    cause = api_alert("AppDown", "critical", ago=100, service="app", fingerprint="c0ffee0000000001")
    alertmanager.alerts = [
        api_alert("AppSlow", "warning", ago=500, service="app", inhibited_by=("c0ffee0000000001",)),
        api_alert("Noisy", "critical", ago=900, service="batch", silenced_by=("5e1f2a3b-aaaa-bbbb",)),
        cause, api_alert("Minor", "warning", ago=5, service="crm"),
    ]
    done = opsbook(project, "alerts", "--target", "fake")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.index("AppDown") < out.index("Minor") < out.index("Noisy") < out.index("AppSlow")
    assert "2 active, 2 suppressed" in out
    assert "inhibited by AppDown" in out and "silenced 5e1f2a3b" in out
    assert "Alertmanager notifies no one of them" in out
    only = opsbook(project, "alerts", "--target", "fake", "--active")
    assert only.returncode == 0
    assert "AppDown" in only.stdout and "Minor" in only.stdout
    assert "Noisy" not in only.stdout and "AppSlow" not in only.stdout
    assert "2 suppressed alerts not shown (--active)" in only.stdout


def test_alerts_json_is_a_list_in_the_same_order(project: Path, alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [api_alert("DiskFull", "warning", ago=10, instance="db"),
                           api_alert("WorkerStuck", "critical", ago=20, instance="w1", queue="jobs"),
                           api_alert("WorkerStuck", "critical", ago=10, instance="w2")]
    done = opsbook(project, "alerts", "--target", "fake", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [(a["alertname"], a["labels"].get("instance")) for a in listed] == \
        [("WorkerStuck", "w1"), ("WorkerStuck", "w2"), ("DiskFull", "db")]
    first = listed[0]
    assert first["runbook"] == "incidents/worker-stuck" and first["runbooks"] == ["incidents/worker-stuck"]
    assert first["command"] == "opsbook run --alert WorkerStuck --label instance=w1 --target fake"
    assert first["severity"] == "critical" and first["state"] == "active" and first["suppressed"] is False
    assert 15 <= first["firing_seconds"] <= 60 and first["starts_at"].endswith("Z")
    assert listed[2]["runbook"] == "incidents/disk" and listed[2]["runbook_url"] is None
    assert json.loads(opsbook(project, "alerts", "--target", "fake", "--json", "--label", "instance=nope").stdout) == []
    # A selection still names its alert among all that fire: `run --alert` chooses among all of them.
    selected = json.loads(opsbook(project, "alerts", "--target", "fake", "--json", "--label", "instance=w2").stdout)
    assert [a["command"] for a in selected] == ["opsbook run --alert WorkerStuck --label instance=w2 --target fake"]


def test_nothing_firing_is_said_plainly_and_exit_0(project: Path, alertmanager: FakeAlertmanager) -> None:
    done = opsbook(project, "alerts", "--target", "fake")
    assert done.returncode == 0, done.stderr
    assert f"no alert is firing on target fake (Alertmanager {alertmanager.url})" in done.stdout
    alertmanager.alerts = [api_alert("DiskFull", "warning", service="postgres")]
    filtered = opsbook(project, "alerts", "--target", "fake", "--label", "service=worker")
    assert filtered.returncode == 0 and "no alert with service=worker is firing on target fake" in filtered.stdout


def test_hostile_alert_text_reaches_the_terminal_as_text(project: Path, alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [api_alert("WorkerStuck", "critical", instance=HOSTILE, service=HOSTILE,
                                     annotations={"runbook_url": HOSTILE}),
                           api_alert(HOSTILE, "major", annotations={"runbook_url": HOSTILE})]
    done = opsbook(project, "alerts", "--target", "fake", FORCE_COLOR="1", TERM="xterm-256color")
    assert done.returncode == 0, done.stderr
    assert "[bold red]markup[/bold red]" in done.stdout
    for escape in ("\x1b]", "\x07", "\x9b", "\x1b[2J"):
        assert escape not in done.stdout, repr(escape)
    assert "opsbook run --alert WorkerStuck --target fake" in done.stdout
    as_json = opsbook(project, "alerts", "--target", "fake", "--json")
    assert "\x1b" not in as_json.stdout and "\x9b" not in as_json.stdout and "\\u001b]0;owned" in as_json.stdout
    assert json.loads(as_json.stdout)[0]["labels"]["instance"] == HOSTILE  # kept exactly, as data


def test_an_alertmanager_that_does_not_answer_is_exit_1_quickly_without_the_password(project: Path) -> None:
    started = time.monotonic()
    done = opsbook(project, "alerts", "--target", "closed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert time.monotonic() - started < 15
    assert "cannot read the alerts of target closed" in done.stderr and "does not answer" in done.stderr
    assert "ops:***@127.0.0.1" in done.stderr and "s3cret-pw" not in done.stderr + done.stdout
    assert done.stdout == ""


def test_credentials_in_the_url_are_sent_as_basic_auth(tmp_path: Path, alertmanager: FakeAlertmanager) -> None:
    (tmp_path / "runbooks").mkdir()
    (tmp_path / "opsbook.toml").write_text(textwrap.dedent(f"""\
        [targets.auth]
        secrets = ["ALERTMANAGER_URL"]
        [targets.auth.env]
        ALERTMANAGER_URL = "{alertmanager.url.replace('//', '//ops:pa%40ss@')}/"
    """))
    done = opsbook(tmp_path, "alerts", "--target", "auth")
    assert done.returncode == 0, done.stderr
    assert alertmanager.authorization == "Basic b3BzOnBhQHNz"  # ops:pa@ss
    assert "pa%40ss" not in done.stdout and "ops:***@" in done.stdout


def test_a_target_without_alertmanager_url_is_a_usage_error(project: Path) -> None:
    done = opsbook(project, "alerts", "--target", "nowhere")
    assert done.returncode == 2
    assert "target nowhere has no ALERTMANAGER_URL" in done.stderr and "[targets.nowhere.env]" in done.stderr
    unknown = opsbook(project, "alerts", "--target", "stagin")
    assert unknown.returncode == 2 and "unknown target `stagin`" in unknown.stderr


def test_a_sandbox_never_set_up_says_how_to_start_it() -> None:
    done = opsbook(ROOT, "alerts", "--project", "opsbook-never-up")
    assert done.returncode == 1
    assert "sandbox opsbook-never-up is not set up" in done.stderr
    assert "opsbook sandbox up --project opsbook-never-up" in done.stderr


def test_a_sandbox_that_is_down_is_exit_1_fast_saying_how_to_start_it(tmp_path: Path) -> None:
    (tmp_path / "sandbox").mkdir()
    (tmp_path / "runbooks").mkdir()
    base = closed_port()
    write_settings(env_file_path(tmp_path / "sandbox", "stopped"), SandboxSettings.generate("stopped", base - 5))
    started = time.monotonic()
    done = opsbook(tmp_path, "alerts", "--project", "stopped")
    assert done.returncode == 1, done.stdout + done.stderr
    assert time.monotonic() - started < 15
    assert f"sandbox stopped is not running: Alertmanager at http://127.0.0.1:{base}/api/v2/alerts does not answer" \
        in done.stderr
    assert "start it with `opsbook sandbox up --project stopped`" in done.stderr and done.stdout == ""


# --- opsbook run --alert: usage ------------------------------------------------------------------------


def test_run_with_a_runbook_and_alert_or_neither_is_a_usage_error(project: Path) -> None:
    both = opsbook(project, "run", "incidents/worker-stuck", "--alert", "WorkerStuck", "--target", "fake")
    assert both.returncode == 2 and "not both" in both.stderr
    neither = opsbook(project, "run", "--target", "fake")
    assert neither.returncode == 2 and "give a RUNBOOK, or --alert NAME" in neither.stderr
    label_alone = opsbook(project, "run", "incidents/worker-stuck", "--label", "instance=w1")
    assert label_alone.returncode == 2 and "give --alert NAME too" in label_alone.stderr
    bad_label = opsbook(project, "run", "--alert", "WorkerStuck", "--label", "instance", "--target", "fake")
    assert bad_label.returncode == 2 and "is not KEY=VALUE" in bad_label.stderr


def test_run_alert_answered_by_several_runbooks_lists_them(project: Path, alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [api_alert("DiskFullTwice", "warning")]
    done = opsbook(project, "run", "--alert", "DiskFullTwice", "--target", "fake", "--yes")
    assert done.returncode == 2
    assert "2 runbooks answer DiskFullTwice: incidents/disk, incidents/disk-again" in done.stderr


@pytest.mark.kernel
def test_of_several_runbooks_the_one_the_rules_runbook_url_names_is_started(
        project: Path, alertmanager: FakeAlertmanager) -> None:
    url = "https://runbooks.example.com/runbooks/incidents/disk-again/#alert-diskfulltwice"
    alertmanager.alerts = [api_alert("DiskFullTwice", "warning", annotations={"runbook_url": url})]
    listed = opsbook(project, "alerts", "--target", "fake").stdout
    assert "incidents/disk-again  opsbook run --alert DiskFullTwice --target fake" in listed
    assert "also answered by incidents/disk  opsbook run incidents/disk --target fake" in listed
    done = opsbook(project, "run", "--alert", "DiskFullTwice", "--target", "fake", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "→ incidents/disk-again" in done.stdout


def test_run_alert_not_firing_without_a_runbook_names_it_and_lists_what_fires(
        project: Path, alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [api_alert("DiskFull", "warning"), api_alert("WorkerStuck", "critical", instance="a"),
                           api_alert("WorkerStuck", "critical", instance="b")]
    done = opsbook(project, "run", "--alert", "NoSuchAlert", "--target", "fake", "--yes")
    assert done.returncode == 2
    assert "alert NoSuchAlert is not firing on target fake, and no runbook answers it" in done.stderr
    assert "firing now: DiskFull, WorkerStuck (2)" in done.stderr


def test_run_alert_firing_without_a_runbook_points_at_its_rules_runbook_url(
        project: Path, alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [api_alert("Orphan", "warning", annotations={"runbook_url": "https://wiki/orphan"})]
    done = opsbook(project, "run", "--alert", "Orphan", "--target", "fake", "--yes")
    assert done.returncode == 2
    assert "Orphan is firing on target fake, but no runbook lists it under alerts:" in done.stderr
    assert "https://wiki/orphan" in done.stderr and "opsbook new" in done.stderr


def test_run_alert_not_firing_without_a_terminal_refuses_unless_yes(project: Path,
                                                                   alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [api_alert("DiskFull", "warning")]
    done = opsbook(project, "run", "--alert", "WorkerStuck", "--target", "fake", "--param", "INSTANCE=x")
    assert done.returncode == 2
    assert "WorkerStuck is not firing on target fake (firing now: DiskFull)" in done.stderr
    assert "add --yes to start incidents/worker-stuck all the same" in done.stderr


def test_run_alert_label_that_matches_none_lists_the_alerts_of_that_name(project: Path,
                                                                        alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [api_alert("WorkerStuck", "critical", instance="w1", service="worker")]
    done = opsbook(project, "run", "--alert", "WorkerStuck", "--label", "instance=w9", "--target", "fake", "--yes")
    assert done.returncode == 2
    assert "no WorkerStuck alert with instance=w9 is firing on target fake" in done.stderr
    assert "instance=w1 service=worker severity=critical" in done.stderr


# --- opsbook run --alert: the run -------------------------------------------------------------------------


@pytest.mark.kernel
def test_run_alert_fills_params_from_labels_and_param_wins(project: Path, alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [api_alert("WorkerStuck", "critical", ago=300, instance="worker-1:8081", queue="emails",
                                     token="from-a-label", service="worker")]
    rec = project / "rec"
    done = opsbook(project, "run", "--alert", "WorkerStuck", "--target", "fake", "--yes", "--param", "QUEUE=mine",
                   "--record-dir", str(rec))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"alert WorkerStuck \(critical\) firing for 5 min \d\d s on target fake", out)
    assert "→ incidents/worker-stuck" in out
    assert "param INSTANCE=worker-1:8081 from label instance" in out
    assert "param QUEUE: --param wins over label queue" in out
    assert "param TOKEN=*** from label token" in out and "from-a-label" not in out
    assert out.index("param INSTANCE") < out.index("instance=worker-1:8081 queue=mine")  # printed before the run
    started = next(e for e in events(rec) if e["event"] == "run_started")
    assert dict(started["params"])["INSTANCE"] == "worker-1:8081" and dict(started["params"])["QUEUE"] == "mine"
    transcript = (rec / "transcript.md").read_text()
    assert "started with --alert WorkerStuck" in transcript and "INSTANCE ← label instance" in transcript
    assert "from-a-label" not in transcript


@pytest.mark.kernel
def test_run_alert_with_several_alerts_takes_the_most_severe_oldest_or_the_labelled_one(
        project: Path, alertmanager: FakeAlertmanager) -> None:
    alertmanager.alerts = [api_alert("WorkerStuck", "warning", ago=9000, instance="old-warning"),
                           api_alert("WorkerStuck", "critical", ago=60, instance="new-critical"),
                           api_alert("WorkerStuck", "critical", ago=600, instance="old-critical")]
    done = opsbook(project, "run", "--alert", "WorkerStuck", "--target", "fake", "--yes",
                   "--record-dir", str(project / "rec1"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "instance=old-critical queue=jobs" in done.stdout
    assert "3 WorkerStuck alerts match: this run is for the first in on-call order" in done.stdout
    assert "--label instance=new-critical" in done.stdout
    picked = opsbook(project, "run", "--alert", "WorkerStuck", "--label", "instance=old-warning", "--target", "fake",
                     "--yes", "--record-dir", str(project / "rec2"))
    assert picked.returncode == 0, picked.stdout + picked.stderr
    assert "instance=old-warning queue=jobs" in picked.stdout and "alerts match" not in picked.stdout


@pytest.mark.kernel
def test_run_alert_not_firing_with_yes_starts_the_runbook_saying_so(project: Path,
                                                                   alertmanager: FakeAlertmanager) -> None:
    rec = project / "rec"
    done = opsbook(project, "run", "--alert", "WorkerStuck", "--target", "fake", "--yes", "--param", "INSTANCE=by-hand",
                   "--record-dir", str(rec))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning: WorkerStuck is not firing on target fake (nothing is firing)" in done.stderr
    assert "instance=by-hand queue=jobs" in done.stdout
    assert "which was not firing" in (rec / "transcript.md").read_text()


@pytest.mark.kernel
def test_run_alert_at_a_terminal_asks_before_opening_a_runbook_of_an_alert_not_firing(
        project: Path, alertmanager: FakeAlertmanager) -> None:
    import pexpect

    command = [*OPSBOOK, "run", "--alert", "WorkerStuck", "--target", "fake", "--param", "INSTANCE=x",
               "--record-dir", str(project / "rec")]
    env = {**os.environ, "OPSBOOK_ROOT": str(project), "COLUMNS": "160", "NO_COLOR": "1"}
    child = pexpect.spawn(command[0], command[1:], cwd=str(project), env=env, encoding="utf-8", timeout=60)
    child.expect("WorkerStuck is not firing on target fake")
    child.expect(r"Step through incidents/worker-stuck anyway\? \[y/N\]")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 and not (project / "rec").exists()
    child = pexpect.spawn(command[0], command[1:], cwd=str(project), env=env, encoding="utf-8", timeout=60)
    child.expect(r"anyway\? \[y/N\]")
    child.sendline("y")
    child.expect(r"Run this step\?")
    child.sendline("r")
    child.expect("instance=x queue=jobs")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
