"""The real runbooks against the real compose sandbox: they pass, and broken copies fail at the right step."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsbook.verify.suite import VerifyRequest, run_verification
from opsbook.verify.result import RunbookVerification

pytestmark = [pytest.mark.sandbox, pytest.mark.kernel]

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "opsbook-verify-tests"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[object]:
    from opsbook.sandbox import Sandbox

    box = Sandbox(ROOT, PROJECT)
    box.up(timeout=900)
    yield box
    box.down()


def _verify(sandbox: object, paths: tuple[Path, ...], out: Path) -> dict[str, RunbookVerification]:
    outcome = run_verification(VerifyRequest(root=ROOT, paths=paths, out=out, project=PROJECT, keep_sandbox=True))
    return {v.runbook_id: v for v in outcome.verifications}


def _output(v: RunbookVerification, case: str, step: str) -> str:
    found = next(c for c in v.cases if c.case == case)
    return next(s.output for s in found.steps if s.name == step)


def test_the_three_runbooks_pass(sandbox: object, tmp_path: Path) -> None:
    results = _verify(sandbox, (), tmp_path)
    assert set(results) == {"deployment/deploy", "incidents/worker-queue-backed-up", "database/backup-restore"}
    for v in results.values():
        assert v.passed, f"{v.runbook_id}: {v.message}"
    deploy = results["deployment/deploy"]
    assert "outcome: deployed, running 1.1.0, healthy" in _output(deploy, "good-version", "post-deploy-verify")
    assert "outcome: rolled-back, running 1.0.0, healthy" in _output(deploy, "broken-version", "post-deploy-verify")
    assert "verdict: unhealthy" in _output(deploy, "broken-version", "health-check")
    worker = results["incidents/worker-queue-backed-up"].cases[0]
    assert [(a.name, a.fired, a.resolved) for a in worker.alerts] == [("WorkerQueueBackedUp", True, True)]
    backup = results["database/backup-restore"]
    assert "RTO (measured restore):" in _output(backup, "default", "report-rto-rpo")
    skipped = next(s for s in backup.cases[0].steps if s.name == "upload-offsite")
    assert skipped.status.value == "skipped"


BREAKS = [
    # (runbook, text to replace, replacement, expected start of the message)
    ("incidents/worker-queue-backed-up", 'LLEN "$QUEUE")\necho "queue depth: $depth (backlog',
     'LLEN "jobz")\necho "queue depth: $depth (backlog',
     "diagnosis did not detect scenario 'worker-stuck': step 'confirm-backlog'"),
    ("incidents/worker-queue-backed-up", '  $COMPOSE up -d --no-deps worker\n', "  true\n",
     "step 'restart-worker'"),
    ("deployment/deploy", '= "ok $VERSION" ]', '= "ok 9.9.9" ]',
     "[good-version] step 'post-deploy-verify'"),
    ("database/backup-restore", "scripts/backup-database.sh -d", "scripts/backup-db.sh -d",
     "step 'back-up'"),
]


def test_broken_copies_fail_naming_the_step(sandbox: object, tmp_path: Path) -> None:
    copies = tmp_path / "copies" / "runbooks"
    shutil.copytree(ROOT / "runbooks", copies)
    expected = {}
    for index, (rid, old, new, message) in enumerate(BREAKS):
        source = (ROOT / "runbooks" / f"{rid}.md").read_text()
        assert old in source, f"break {index} no longer applies to {rid}"
        target = copies / f"{rid}-break{index}.md"
        target.write_text(source.replace(old, new, 1))
        expected[f"{rid}-break{index}"] = message
    for rid in ("incidents/worker-queue-backed-up", "deployment/deploy", "database/backup-restore"):
        (copies / f"{rid}.md").unlink()
    results = _verify(sandbox, (copies,), tmp_path / "out")
    assert set(results) == set(expected)
    for rid, message in expected.items():
        v = results[rid]
        assert not v.passed, f"{rid} should fail"
        assert v.message.startswith(message), f"{rid}: {v.message}"
