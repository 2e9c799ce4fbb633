"""`opsbook alerts` and `opsbook run --alert` against the session sandbox's real Alertmanager.

The alerts are synthetic (POST /api/v2/alerts), named for this run only and carrying
`opsbook_test=<run id>`, so that neither the real alerts of the sandbox nor an earlier run can be
mistaken for them; each is resolved at the end. The runbooks that answer them are written to a
throw-away project whose `sandbox/` is the repository's, so the CLI uses the sandbox target just as
it does in the repository, with a catalogue the test controls. The last test injects a real fault
and reads the real library's catalogue."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

from opsbook.runbook.catalog import filter_runbooks
from opsbook.runbook.discover import excluded_names, find_runbooks, runbooks_dir
from opsbook.sandbox import Sandbox
from opsbook.text import strip_ansi
from tests.support.project import events
from tests.support.runbooks import write_runbook
from tests.support.waiting import eventually

pytestmark = pytest.mark.sandbox
ROOT = Path(__file__).resolve().parents[2]
RUN = uuid.uuid4().hex[:10]
OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]
HOSTILE = "\x1b]0;owned\x07\x1b[2J[bold red]markup[/bold red] \x9b31m <b>&amp;</b>"


def name(kind: str) -> str:
    """An alert name no rule has and no other run uses."""
    return f"OpsbookTest{kind}{RUN}"


def _when(offset_seconds: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset_seconds)).isoformat(timespec="seconds")


def synthetic(kind: str, severity: str | None, *, ago: float = 60, annotations: dict[str, str] | None = None,
              **labels: str) -> dict[str, Any]:
    """An alert of this run. Its own service unless told otherwise: a critical alert inhibits the
    lesser ones of its service (monitoring/alertmanager/alertmanager.yml)."""
    all_labels = {"alertname": name(kind), "opsbook_test": RUN, "service": f"{kind.lower()}-{RUN}",
                  **({"severity": severity} if severity else {}), **labels}
    return {"labels": all_labels, "annotations": annotations or {}, "startsAt": _when(-ago),
            "generatorURL": "http://prometheus.sandbox.opsbook.test/graph"}


def _call(url: str, method: str, body: Any = None) -> Any:
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text.strip() else None


class Pushed:
    """Alerts posted to the sandbox's Alertmanager, firing until `resolve()` (what Prometheus does)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.url = sandbox.env()["ALERTMANAGER_URL"]
        self.alerts: list[dict[str, Any]] = []
        self.silences: list[str] = []

    def push(self, *alerts: dict[str, Any]) -> None:
        self.alerts.extend(alerts)
        _call(self.url + "/api/v2/alerts", "POST", [{**a, "endsAt": _when(600)} for a in alerts])
        fingerprints = {json.dumps(a["labels"], sort_keys=True) for a in alerts}
        assert eventually(lambda: fingerprints <= {json.dumps(a["labels"], sort_keys=True) for a in self.held()}, 15)

    def held(self) -> list[dict[str, Any]]:
        held: list[dict[str, Any]] = _call(self.url + f"/api/v2/alerts?filter=opsbook_test%3D%22{RUN}%22", "GET")
        return held

    def silence(self, alertname: str) -> str:
        made = _call(self.url + "/api/v2/silences", "POST", {
            "matchers": [{"name": "alertname", "value": alertname, "isRegex": False},
                         {"name": "opsbook_test", "value": RUN, "isRegex": False}],
            "startsAt": _when(-1), "endsAt": _when(3600), "createdBy": "tests/sandbox/test_alerts_cli.py",
            "comment": "a silenced alert is shown after the active ones"})
        self.silences.append(made["silenceID"])
        return str(made["silenceID"])

    def resolve(self) -> None:
        if self.alerts:
            _call(self.url + "/api/v2/alerts", "POST", [{**a, "endsAt": _when(-1)} for a in self.alerts])
        for silence in self.silences:
            _call(self.url + f"/api/v2/silence/{silence}", "DELETE")
        self.alerts, self.silences = [], []


@pytest.fixture()
def alerts(sandbox: Sandbox) -> Iterator[Pushed]:
    pushed = Pushed(sandbox)
    try:
        yield pushed
    finally:
        pushed.resolve()


ANSWER_STUCK = f"""\
    alerts: [{name("Stuck")}]
    params:
      INSTANCE:
        help: the worker that is stuck
      QUEUE:
        default: jobs
        help: the queue it reads
"""
STEP = """\
    ```bash name="show"
    echo "instance=$INSTANCE queue=$QUEUE alertmanager=${ALERTMANAGER_URL:-none}"
    ```
"""


@pytest.fixture()
def project(tmp_path: Path, sandbox: Sandbox) -> Path:
    """A project of its own runbooks whose sandbox is the session's (its sandbox/ links to the repository's)."""
    (tmp_path / "sandbox").symlink_to(ROOT / "sandbox", target_is_directory=True)
    write_runbook(tmp_path, "incidents/stuck", ANSWER_STUCK, STEP, title="Worker stuck")
    write_runbook(tmp_path, "incidents/critical", f"alerts: [{name('Critical')}]\n", STEP, title="Critical")
    return tmp_path


def opsbook(sandbox: Sandbox, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "OPSBOOK_ROOT": str(cwd), "COLUMNS": "250", **env}
    if "FORCE_COLOR" not in env:
        environ["NO_COLOR"] = "1"
    return subprocess.run([*OPSBOOK, *args, "--project", sandbox.project], cwd=cwd, env=environ, capture_output=True,
                          text=True, timeout=180, stdin=subprocess.DEVNULL)


def project_flag(sandbox: Sandbox) -> str:
    return "" if sandbox.project == "opsbook" else f" --project {sandbox.project}"


def entry(out: str, alertname: str) -> list[str]:
    """The lines of one alert in `opsbook alerts`: its row and what answers it, up to the next alert."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if re.search(rf"\s{re.escape(alertname)}\s", line))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), len(lines))
    return lines[start:end]


# --- opsbook alerts -----------------------------------------------------------------------------------


def test_alerts_most_severe_first_each_with_its_runbook_and_command(sandbox: Sandbox, project: Path,
                                                                   alerts: Pushed) -> None:
    alerts.push(synthetic("Info", "info", ago=5000), synthetic("WarnOld", "warning", ago=3000),
                synthetic("WarnNew", "warning", ago=30,
                          annotations={"runbook_url": "https://runbooks.example.com/alerts/#warnnew"}),
                synthetic("Major", "major", ago=600), synthetic("Critical", "critical", ago=120, instance="app:8080"))
    done = opsbook(sandbox, project, "alerts")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    order = [out.index(name(kind)) for kind in ("Critical", "Major", "WarnOld", "WarnNew", "Info")]
    assert order == sorted(order), out
    assert f"on sandbox {sandbox.project} (Alertmanager {sandbox.env()['ALERTMANAGER_URL']})" in out
    critical = entry(out, name("Critical"))
    assert re.search(r"critical\s+\S+\s+critical-\w+\s+app:8080\s+2 min \d\d s\s+active", critical[0]), critical
    command = f"opsbook run --alert {name('Critical')}{project_flag(sandbox)}"
    assert critical[1].split() == ["incidents/critical", *command.split()], critical
    assert entry(out, name("WarnNew"))[1].strip() == \
        "no runbook here; the rule's runbook_url: https://runbooks.example.com/alerts/#warnnew"
    assert entry(out, name("Info"))[1].strip() == "no runbook"
    assert "--target" not in out


def test_alert_text_from_alertmanager_is_shown_as_plain_text(sandbox: Sandbox, project: Path, alerts: Pushed) -> None:
    alerts.push(synthetic("Critical", "critical", instance=HOSTILE, annotations={"runbook_url": HOSTILE}),
                synthetic("Critical", "critical", instance="plain:1", ago=5),
                synthetic("Hostile", "major", service=HOSTILE, annotations={"runbook_url": HOSTILE}))
    done = opsbook(sandbox, project, "alerts", FORCE_COLOR="1", TERM="xterm-256color")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for escape in ("\x1b]", "\x07", "\x9b", "\x1b[2J"):
        assert escape not in out, repr(escape)
    plain = strip_ansi(out)
    assert plain.count("[bold red]markup[/bold red] 31m <b>&amp;</b>") >= 3  # instance, service, runbook_url
    # Quoted for the shell: pasted, the command cannot run anything else.
    assert f"opsbook run --alert {name('Critical')} --label 'instance=[bold red]markup[/bold red] 31m <b>&amp;</b>'" \
        in plain


def test_alerts_json_lists_them_in_the_same_order(sandbox: Sandbox, project: Path, alerts: Pushed) -> None:
    alerts.push(synthetic("Stuck", "warning", ago=900, instance="worker-2:8081", service=f"worker-2-{RUN}"),
                synthetic("Stuck", "critical", ago=60, instance="worker-1:8081", queue="emails"),
                synthetic("Info", None, ago=10))
    done = opsbook(sandbox, project, "alerts", "--json", "--label", f"opsbook_test={RUN}")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [(a["alertname"], a["labels"].get("instance")) for a in listed] == \
        [(name("Stuck"), "worker-1:8081"), (name("Stuck"), "worker-2:8081"), (name("Info"), None)]
    first = listed[0]
    assert (first["severity"], first["state"], first["runbook"]) == ("critical", "active", "incidents/stuck")
    assert first["command"] == \
        f"opsbook run --alert {name('Stuck')} --label instance=worker-1:8081{project_flag(sandbox)}"
    assert first["labels"]["queue"] == "emails" and first["fingerprint"] and 50 <= first["firing_seconds"] <= 200
    assert listed[2]["runbook"] is None and listed[2]["command"] is None and listed[2]["severity"] == ""


def test_nothing_firing_is_said_and_exit_0(sandbox: Sandbox, project: Path) -> None:
    nobody = uuid.uuid4().hex
    done = opsbook(sandbox, project, "alerts", "--label", f"opsbook_test={nobody}")
    assert done.returncode == 0, done.stderr
    assert f"no alert with opsbook_test={nobody} is firing on sandbox {sandbox.project}" in done.stdout
    as_json = opsbook(sandbox, project, "alerts", "--json", "--label", f"opsbook_test={nobody}")
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == []


def test_inhibited_and_silenced_alerts_come_after_the_active_ones(sandbox: Sandbox, project: Path,
                                                                 alerts: Pushed) -> None:
    service = f"inhibiting-{RUN}"
    alerts.push(synthetic("Cause", "critical", ago=30, service=service),
                synthetic("Symptom", "warning", ago=600, service=service),
                synthetic("Silenced", "critical", ago=900), synthetic("Active", "warning", ago=5))
    silence = alerts.silence(name("Silenced"))

    def settled() -> str | None:
        done = opsbook(sandbox, project, "alerts", "--label", f"opsbook_test={RUN}")
        return done.stdout if "inhibited by" in done.stdout and "silenced" in done.stdout else None

    out = eventually(settled, timeout=30, interval=1)
    assert out, opsbook(sandbox, project, "alerts", "--label", f"opsbook_test={RUN}").stdout
    order = [out.index(name(kind)) for kind in ("Cause", "Active", "Silenced", "Symptom")]
    assert order == sorted(order), out
    assert "2 active, 2 suppressed" in out
    assert f"inhibited by {name('Cause')}" in entry(out, name("Symptom"))[0]
    assert f"silenced {silence[:8]}" in entry(out, name("Silenced"))[0]
    active = opsbook(sandbox, project, "alerts", "--active", "--label", f"opsbook_test={RUN}")
    assert name("Cause") in active.stdout and name("Active") in active.stdout
    assert name("Symptom") not in active.stdout and name("Silenced") not in active.stdout
    assert "2 suppressed alerts not shown (--active)" in active.stdout


# --- opsbook run --alert ---------------------------------------------------------------------------------


def test_run_alert_starts_its_runbook_with_params_from_labels(sandbox: Sandbox, project: Path,
                                                             alerts: Pushed) -> None:
    alerts.push(synthetic("Stuck", "warning", ago=900, instance="worker-2:8081", queue="reports"),
                synthetic("Stuck", "critical", ago=60, instance="worker-1:8081", queue="emails"))
    rec = project / "rec"
    done = opsbook(sandbox, project, "run", "--alert", name("Stuck"), "--yes", "--record-dir", str(rec))
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"alert {name('Stuck')} (critical) firing for" in out and "→ incidents/stuck" in out
    assert "param INSTANCE=worker-1:8081 from label instance" in out
    assert "param QUEUE=emails from label queue" in out
    assert f"2 {name('Stuck')} alerts match" in out and "--label instance=worker-2:8081" in out
    assert f"instance=worker-1:8081 queue=emails alertmanager={sandbox.env()['ALERTMANAGER_URL']}" in out
    started = next(e for e in events(rec) if e["event"] == "run_started")
    assert started["runbook_id"] == "incidents/stuck" and started["target"] == "sandbox"
    assert f"started with --alert {name('Stuck')}" in (rec / "transcript.md").read_text()

    other = opsbook(sandbox, project, "run", "--alert", name("Stuck"), "--label", "instance=worker-2:8081",
                    "--param", "QUEUE=by-hand", "--yes", "--record-dir", str(project / "rec2"))
    assert other.returncode == 0, other.stdout + other.stderr
    assert "param QUEUE: --param wins over label queue" in other.stdout
    assert "instance=worker-2:8081 queue=by-hand" in other.stdout and "alerts match" not in other.stdout


def test_run_alert_not_firing(sandbox: Sandbox, project: Path, alerts: Pushed) -> None:
    alerts.push(synthetic("Critical", "critical"))
    refused = opsbook(sandbox, project, "run", "--alert", name("Stuck"), "--param", "INSTANCE=x")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"{name('Stuck')} is not firing on sandbox {sandbox.project}" in refused.stderr
    assert name("Critical") in refused.stderr  # what is firing instead
    assert "add --yes to start incidents/stuck all the same" in refused.stderr
    started = opsbook(sandbox, project, "run", "--alert", name("Stuck"), "--param", "INSTANCE=x", "--yes",
                      "--record-dir", str(project / "rec"))
    assert started.returncode == 0, started.stdout + started.stderr
    assert "not firing" in started.stderr and "instance=x queue=jobs" in started.stdout
    nobody = opsbook(sandbox, project, "run", "--alert", name("Nobody"), "--yes")
    assert nobody.returncode == 2
    assert f"alert {name('Nobody')} is not firing on sandbox {sandbox.project}, and no runbook answers it" \
        in nobody.stderr
    assert name("Critical") in nobody.stderr


# --- a real fault, the real library ------------------------------------------------------------------------


def rule_runbook_url(alertname: str) -> str:
    for path in sorted((ROOT / "monitoring" / "prometheus" / "alerts").glob("*.rules.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == alertname:
                    return str((rule.get("annotations") or {}).get("runbook_url") or "")
    return ""


def test_exporter_down_lists_scrape_target_down_with_its_runbook(sandbox: Sandbox) -> None:
    alertname = "ScrapeTargetDown"
    answering = sorted(rb.id for rb in filter_runbooks(
        find_runbooks(runbooks_dir(ROOT), excluded_names(ROOT)).runbooks, alert=alertname))
    sandbox.inject("exporter-down")
    try:
        assert sandbox.wait_alerts([alertname], firing=True, timeout=120) == {alertname}

        def listed() -> list[str] | None:
            out = opsbook(sandbox, ROOT, "alerts", "--label", f"alertname={alertname}", "--label", "job=redis").stdout
            return entry(out, alertname) if re.search(rf"\s{alertname}\s", out) else None

        lines = eventually(listed, timeout=60, interval=1)
        assert lines, opsbook(sandbox, ROOT, "alerts").stdout
        assert re.match(r"warning\s+ScrapeTargetDown\s+monitoring\s+redis-exporter:\d+\s", lines[0]), lines
        answer = " ".join(lines[1].split())
        if len(answering) == 1:
            assert answer.startswith(f"{answering[0]} opsbook run --alert {alertname}"), (answering, lines)
            assert answer.endswith(project_flag(sandbox).strip() or alertname), lines
        elif answering:
            assert f"{len(answering)} runbooks answer it" in answer, (answering, lines)
        elif rule_runbook_url(alertname):
            assert answer == f"no runbook here; the rule's runbook_url: {rule_runbook_url(alertname)}", lines
        else:
            assert answer == "no runbook", lines
    finally:
        sandbox.heal("exporter-down")
    assert sandbox.wait_alerts([alertname], firing=False, timeout=120) == {alertname}
