"""Fixtures of the pure site-rendering tests: sample runbooks, status, alert rules, golden files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from opsbook.model import Runbook
from opsbook.site.alerts import AlertRule
from opsbook.site.render import RenderContext
from opsbook.site.status import status_from_document

from render_samples import GOLDEN_DIR, NOW, sample_runbooks, status_document


@pytest.fixture
def runbooks() -> list[Runbook]:
    return sample_runbooks()


@pytest.fixture
def rules() -> tuple[AlertRule, ...]:
    rules_file = Path("monitoring/prometheus/alerts/platform.yml")
    return (
        AlertRule("WorkerQueueBackedUp", rules_file, 5, "critical", "More than 1000 jobs waiting",
                  "https://runbooks.example.com/runbooks/incidents/worker-queue-backed-up/#alert-workerqueuebackedup"),
        AlertRule("HighErrorRate", rules_file, 14, "warning", "5xx above 5%",
                  "https://runbooks.example.com/alerts/#higherrorrate"),
        AlertRule("PostgresDown", rules_file, 22, "critical", "", ""),
    )


@pytest.fixture
def ctx(rules: tuple[AlertRule, ...]) -> RenderContext:
    return RenderContext(now=NOW, stale_after_days=7, status=status_from_document(status_document()), rules=rules)


@pytest.fixture
def golden():
    """Compare text with tests/golden/site/<name>; UPDATE_GOLDEN=1 rewrites the file instead."""

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.write_text(text, encoding="utf-8")
            return
        assert path.exists(), f"no golden file {path}; create it with UPDATE_GOLDEN=1 and review it"
        expected = path.read_text(encoding="utf-8")
        assert text == expected, f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept the new output)"

    return check
