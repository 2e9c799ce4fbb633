"""Sample runbooks and verification status for the pure site-rendering tests."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from opsbook.runbook.model import Param, Prose, Retry, Role, Runbook, Step, StepOptions, VerifyCase

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "site" / "golden"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)
MARKUP = '<script>alert(1)</script>\n```\n</code></pre><img src=x onerror=alert(2)>\n{{ config }} {% raw %}\n--8<-- "/etc/passwd"\n'


def _queue_runbook() -> Runbook:
    steps = [
        Step(1, "check-queue-depth", "bash", 'redis-cli -u "$REDIS_URL" llen jobs', 20,
             StepOptions(role=Role.DIAGNOSE, output=r"^\d+$")),
        Step(2, "restart-worker", "bash", "docker compose restart worker\n# ``` inside a command", 30,
             StepOptions(timeout=60, role=Role.REMEDIATE, destructive=True, targets=("sandbox", "staging"))),
        Step(3, "page-the-owner", "bash", "notify --team payments", 38,
             StepOptions(ci="skip", ci_reason="needs prod DNS", expect=3)),
        Step(4, "watch-drain", "bash", "watch-queue --until-empty", 44,
             StepOptions(role=Role.VERIFY, retry=Retry(5, 2.0), not_output="ERROR"),
             after="Done when the queue is empty."),  # the Prose cell after it: its own (no heading between)
    ]
    cells = [
        Prose("# Worker queue backed up\n\nJobs pile up in *Redis*.\n\n```console\n$ opsbook run x\n```", 16),
        steps[0],
        Prose("## Fix it\n\nRestart the worker.", 26),
        steps[1],
        steps[2],
        steps[3],
        Prose("Done when the queue is empty.", 50),
    ]
    return Runbook(
        id="incidents/worker-queue-backed-up",
        path=Path("runbooks/incidents/worker-queue-backed-up.md"),
        title="Worker queue backed up",
        summary="Jobs pile up because the worker <stalled> | retry",
        owner="platform-oncall",
        severity="SEV2",
        services=("worker", "redis"),
        alerts=("WorkerQueueBackedUp", "WorkerDown"),
        tags=("queue", "worker"),
        scenario="worker-stuck",
        targets=("sandbox", "staging", "production"),
        params=(Param("QUEUE", "jobs", "queue name"), Param("TOKEN", None, "API token", secret=True)),
        timeout=120,
        verify=(VerifyCase("default"),),
        cells=tuple(cells),
    )


def _deploy_runbook() -> Runbook:
    step = Step(1, "roll-out", "bash", "deploy --version \"$VERSION\"", 12, StepOptions(role=Role.ROLLBACK))
    return Runbook(
        id="deployment/deploy",
        path=Path("runbooks/deployment/deploy.md"),
        title="Deploy a new app version",
        summary="Roll out, check health, rollback when unhealthy.",
        owner="platform-oncall",
        severity="SEV3",
        services=("app",),
        tags=("deploy", "rollback"),
        cells=(Prose("Deploy it.", 10), step),
    )


def _backup_runbook() -> Runbook:
    step = Step(1, "take-backup", "bash", "pg_dump -Fc app > backup.dump", 9)
    return Runbook(
        id="database/backup-restore",
        path=Path("runbooks/database/backup-restore.md"),
        title="Back up and restore the database",
        severity="SEV1",
        services=("postgres",),
        alerts=("PostgresDown",),
        cells=(step,),
    )



def status_document() -> dict:
    queue_steps = [
        {"name": "check-queue-depth", "status": "passed", "exit_status": 0, "duration": 0.2,
         "output": "\x1b[31m1532\x1b[0m\n", "attempts": 1},
        {"name": "restart-worker", "status": "passed", "exit_status": 0, "duration": 3.5,
         "output": MARKUP, "attempts": 1},
        {"name": "page-the-owner", "status": "skipped", "exit_status": None, "duration": 0,
         "output": "", "reason": "ci=skip: needs prod DNS"},
        {"name": "watch-drain", "status": "failed", "exit_status": 1, "duration": 75.0,
         "output": "progress 10%\rprogress 100%\nERROR <b>still 12 jobs</b>\n", "attempts": 5,
         "reason": "output matched not_output ERROR"},
    ]
    return {
        "schema": "opsbook-status/1",
        "generated_at": "2026-11-26T08:00:00Z",
        "commit": "0123456789abcdef0123",
        "runbooks": {
            "incidents/worker-queue-backed-up": {
                "id": "incidents/worker-queue-backed-up", "title": "Worker queue backed up",
                "result": "failed", "verified_at": "2026-11-26T07:30:00Z", "commit": "0123456789abcdef0123",
                "duration": 95.25, "message": "step watch-drain failed",
                "cases": [{"case": "default", "result": "failed", "scenario": "worker-stuck",
                           "message": "step watch-drain failed",
                           "alerts": {"WorkerQueueBackedUp": {"fired": True, "resolved": False}},
                           "steps": queue_steps}],
            },
            "deployment/deploy": {
                "id": "deployment/deploy", "title": "Deploy a new app version", "result": "passed",
                "verified_at": "2026-11-10T07:30:00Z", "commit": "fedcba9876543210", "duration": 20.0,
                "message": "",
                "cases": [{"case": "good-version", "result": "passed", "scenario": None, "alerts": {},
                           "params": {"VERSION": "1.1.0"},
                           "steps": [{"name": "roll-out", "status": "passed", "exit_status": 0,
                                      "duration": 4.0, "output": "rolled out 1.1.0\n"}]},
                          {"case": "broken-version", "result": "passed", "scenario": None, "alerts": {},
                           "steps": [{"name": "roll-out", "status": "failed", "exit_status": 1,
                                      "duration": 4.0, "output": "unhealthy\n"}]}],
            },
        },
    }


def sample_runbooks() -> list[Runbook]:
    return [_queue_runbook(), _deploy_runbook(), _backup_runbook()]
