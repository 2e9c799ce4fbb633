"""scripts/deploy-window.sh: the deploy runbook's window check (weekends, freeze windows, the
override and its reason), run for real with the times it is asked about."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "deploy-window.sh"


def window(*args: str, tz: str = "UTC") -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "DEPLOY_TZ": tz}, timeout=30)


@pytest.mark.parametrize("when", ["2026-12-02T10:00Z", "2026-12-04T15:59Z", "2026-12-07T08:00Z", "2026-12-10T23:30Z"])
def test_working_days_are_open(when: str) -> None:
    done = window("-t", when, "-f", "/dev/null")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("deploy window: open (")


@pytest.mark.parametrize("when", ["2026-12-04T16:00Z", "2026-12-05T12:00Z", "2026-12-06T23:59Z", "2026-12-07T07:59Z"])
def test_friday_afternoon_to_monday_morning_is_closed(when: str) -> None:
    done = window("-t", when, "-f", "/dev/null")
    assert done.returncode == 1
    assert "weekend: no deploys from Friday 16:00 to Monday 08:00" in done.stderr
    assert "--param FREEZE_OVERRIDE=" in done.stderr


def test_the_window_is_judged_in_the_deploy_time_zone() -> None:
    # Friday 15:30 UTC is Friday 16:30 in Berlin (CET): closed there, open in UTC.
    assert window("-t", "2026-12-04T15:30Z", "-f", "/dev/null").returncode == 0
    assert window("-t", "2026-12-04T15:30Z", "-f", "/dev/null", tz="Europe/Berlin").returncode == 1


def test_the_repository_freeze_windows_close_the_end_of_year() -> None:
    done = window("-t", "2026-12-28T10:00Z")
    assert done.returncode == 1
    assert "freeze window 2026-12-23T00:00Z to 2027-01-04T08:00Z: end-of-year freeze" in done.stderr
    assert "runbooks/deployment/freeze-windows.txt:" in done.stderr


def test_a_freeze_window_file_of_its_own(tmp_path: Path) -> None:
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("# comment\n\n2026-12-02T09:00Z 2026-12-02T12:00Z database migration day  # inline\n")
    closed = window("-t", "2026-12-02T10:00Z", "-f", str(freeze))
    assert closed.returncode == 1 and f"{freeze}:3" in closed.stderr and "database migration day" in closed.stderr
    assert window("-t", "2026-12-02T12:00Z", "-f", str(freeze)).returncode == 0  # the end is exclusive


def test_an_override_lets_the_deploy_go_and_prints_its_reason() -> None:
    done = window("-t", "2026-12-05T11:00Z", "-f", "/dev/null", "-o", "INC-42: fix for the outage")
    assert done.returncode == 0
    assert done.stdout.strip().endswith("overridden: INC-42: fix for the outage")


def test_bad_input_is_a_usage_error_naming_the_file_and_line(tmp_path: Path) -> None:
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("2026-12-24 someday reason\n")
    done = window("-t", "2026-12-02T10:00Z", "-f", str(freeze))
    assert done.returncode == 2 and f"{freeze}:1: expected START END REASON" in done.stderr
    bad_time = window("-t", "not a time", "-f", "/dev/null")
    assert bad_time.returncode == 2 and "cannot read the time 'not a time'" in bad_time.stderr


def test_a_freeze_window_without_an_end_is_an_error_not_ignored(tmp_path: Path) -> None:
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("2026-12-24T00:00Z\n")
    done = window("-t", "2026-12-02T10:00Z", "-f", str(freeze))
    assert done.returncode == 2 and f"{freeze}:1: expected START END REASON" in done.stderr


def test_an_override_given_while_the_window_is_open_is_still_recorded() -> None:
    done = window("-t", "2026-12-02T10:00Z", "-f", "/dev/null", "-o", "INC-7")
    assert done.returncode == 0 and "override given, not needed: INC-7" in done.stdout
