"""Broken copies of the real runbooks fail verification against the real sandbox, at the right step."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.sandbox import Sandbox
from opsbook.verify.suite import VerifyRequest, run_verification
from opsbook.verify.result import RunbookVerification

pytestmark = [pytest.mark.sandbox, pytest.mark.kernel]

ROOT = Path(__file__).resolve().parents[2]


def _verify(sandbox: Sandbox, paths: tuple[Path, ...], out: Path) -> dict[str, RunbookVerification]:
    outcome = run_verification(VerifyRequest(root=ROOT, paths=paths, out=out, project=sandbox.project,
                                             keep_sandbox=True))
    return {v.runbook_id: v for v in outcome.verifications}


# The real runbooks themselves are verified by `make test` as pytest items (pytest tests runbooks):
# verifying them here too would run every case twice.
BREAKS = [
    # (runbook, text to replace, replacement, expected start of the message)
    ("incidents/worker-queue-backed-up", 'LLEN "$QUEUE")\necho "queue depth: $depth (backlog',
     'LLEN "jobz")\necho "queue depth: $depth (backlog',
     "diagnosis did not detect scenario 'worker-stuck': step 'confirm-backlog'"),
    ("incidents/worker-queue-backed-up", '  $COMPOSE up -d --no-deps worker\n', "  true\n",
     "step 'restart-worker'"),
    # The worker deploy with its drain removed: one short case (the deploy's four would cost
    # minutes), and a remediation that does nothing must fail.
    ("deployment/worker-deploy", "$COMPOSE stop -t 30 worker\n", "true\n",
     "step 'drain-and-stop'"),
    ("database/backup-restore", "scripts/backup-database.sh -d", "scripts/backup-db.sh -d",
     "step 'back-up'"),
]


def test_broken_copies_fail_naming_the_step(sandbox: Sandbox, tmp_path: Path) -> None:
    copies = tmp_path / "copies" / "runbooks"  # only the broken copies: the real ones are verified as items
    expected = {}
    for index, (rid, old, new, message) in enumerate(BREAKS):
        source = (ROOT / "runbooks" / f"{rid}.md").read_text()
        assert old in source, f"break {index} no longer applies to {rid}"
        target = copies / f"{rid}-break{index}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.replace(old, new, 1))
        expected[f"{rid}-break{index}"] = message
    results = _verify(sandbox, (copies,), tmp_path / "out")
    assert set(results) == set(expected)
    for rid, message in expected.items():
        v = results[rid]
        assert not v.passed, f"{rid} should fail"
        assert v.message.startswith(message), f"{rid}: {v.message}"
