"""`opsbook verify --changed`: a change to one script, one runbook or one alert rule selects the
runbooks it can affect, and only those; a change to the engine selects them all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from opsbook.runbook.discover import find_runbooks
from opsbook.sandbox import Sandbox
from opsbook.verify.changed import affected, changed_alerts

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "monitoring/prometheus/alerts/infrastructure.rules.yml"
OPSBOOK = [sys.executable, "-c", "from opsbook.cli.main import entry; entry()"]


def library():
    return find_runbooks(ROOT / "runbooks").runbooks


def selected(files: list[str], alerts: set[str] = frozenset()) -> dict[str, list[str]]:
    return affected(library(), files, set(alerts), Sandbox(ROOT).compose_spec(), ROOT)


def test_a_script_selects_the_runbooks_that_run_it() -> None:
    assert selected(["scripts/pool-stats.sh"]) == {
        "database/connection-pool-saturation": ["it runs scripts/pool-stats.sh"]}


def test_a_runbook_selects_itself_and_a_fault_the_runbooks_it_is_injected_for() -> None:
    assert selected(["runbooks/incidents/redis.md"]) == {"incidents/redis": ["the runbook changed"]}
    by_fault = selected(["sandbox/faults/n-plus-one-live/inject.sh"])
    assert by_fault == {"database/n-plus-one-queries": ["its fault n-plus-one-live changed"]}


def test_an_alert_rule_selects_the_runbooks_that_answer_it_not_those_that_mention_it() -> None:
    before = RULES.read_text()
    after = before.replace("        expr: time() - max(opsbook_backup_last_success_timestamp_seconds) > 26 * 3600\n"
                           "        for: 15m", "        expr: time() - max(opsbook_backup_last_success_timestamp_seconds) > 26 * 3600\n"
                           "        for: 30m")
    assert after != before
    alerts = changed_alerts(before, after)
    assert alerts == {"BackupTooOld"}
    # The drill links to BackupTooOld's runbook but does not answer the alert.
    assert selected(["monitoring/prometheus/alerts/infrastructure.rules.yml"], alerts) == {
        "incidents/backup-too-old": ["alert BackupTooOld changed"]}


def test_a_sandbox_service_or_the_engine_select_what_runs_on_them() -> None:
    proxy = selected(["sandbox/proxy/haproxy.cfg"])
    assert "deployment/deploy" in proxy and all(reason == ["service proxy changed (sandbox/proxy/haproxy.cfg)"]
                                                for reason in proxy.values())
    assert "incidents/redis" not in proxy
    assert len(selected(["src/opsbook/run/runner.py"])) == len(library())
    assert selected(["docs/database.md", "tests/verify/test_changed.py"]) == {}


def test_the_command_reads_the_change_from_git_and_verifies_nothing_for_docs(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    (clone / "docs" / "new-page.md").write_text("# A new page\n")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200", "OPSBOOK_ROOT": str(clone)}
    done = subprocess.run([*OPSBOOK, "verify", "--changed"], cwd=clone, capture_output=True, text=True, timeout=120,
                          env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "--changed HEAD: 1 files changed, 0 of" in done.stdout
    assert "no runbook is affected by the change since HEAD: nothing to verify" in done.stdout
    bad = subprocess.run([*OPSBOOK, "verify", "--changed", "no-such-ref"], cwd=clone, capture_output=True, text=True,
                         timeout=120, env=env)
    assert bad.returncode == 2 and "--changed no-such-ref: git rev-parse" in bad.stderr
