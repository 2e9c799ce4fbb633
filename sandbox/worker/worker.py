"""The worker: BRPOP jobs from Redis, run them, write results to PostgreSQL; /health and /metrics.

Job kinds: echo (the payload back), sleep, fail, and crm_sync (push a contact to the CRM).

Stopping (SIGTERM, `docker stop`) drains: the job in hand is finished and written, no new one is
taken, then the process exits. Give it a stop timeout longer than the longest job (10 s here).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.extras

from sandboxlib.http import Request, Response, Router, serve, setup_logging, stop_on_signal
from sandboxlib.metrics import Registry
from sandboxlib.settings import database_dsn, redis_client

log = logging.getLogger("worker")
QUEUE = "jobs"
CRM_URL = os.environ.get("CRM_URL", "http://crm:8090")
CRM_TIMEOUT = float(os.environ.get("CRM_TIMEOUT_SECONDS", "3"))
metrics = Registry()
PROCESSED = metrics.counter("opsbook_worker_jobs_processed_total", "Jobs finished (succeeded or failed).", ("kind",))
FAILED = metrics.counter("opsbook_worker_jobs_failed_total", "Jobs that failed.", ("kind",))
DURATION = metrics.histogram("opsbook_worker_job_duration_seconds", "Time to run one job.", ("kind",))
CRM_SYNCS = metrics.counter("opsbook_crm_sync_total", "Contacts pushed to the CRM, by outcome (success, failure).",
                            ("outcome",))
for _outcome in ("success", "failure"):  # both series exist from the start, so rate() sees the first failure
    CRM_SYNCS.inc(0, outcome=_outcome)
STOP = threading.Event()
RELEASE = json.loads((Path(__file__).resolve().parent / "release.json").read_text())
VERSION = os.environ.get("WORKER_VERSION", RELEASE["version"])


class Worker:
    def __init__(self) -> None:
        self.redis = redis_client()
        self.conn: Any = None
        self.last_job_at = 0.0
        self.last_error = ""

    def db(self) -> Any:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(database_dsn())
            self.conn.autocommit = True
        return self.conn

    def run_job(self, job: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        kind = job.get("kind", "echo")
        payload = job.get("payload") or {}
        if kind == "fail":
            raise RuntimeError(payload.get("reason", "job asked to fail"))
        if kind == "sleep":
            time.sleep(min(float(payload.get("seconds", 1)), 10))
        if kind == "crm_sync":
            return "succeeded", self.signed({"crm": sync_contact(payload)})
        return "succeeded", self.signed({"echo": payload})

    def signed(self, result: dict[str, Any]) -> dict[str, Any]:
        """The result, naming the worker release that ran it when the release says so (1.1.0)."""
        return {**result, "worker": VERSION} if RELEASE.get("records_worker") else result

    def handle(self, raw: str) -> None:
        job = json.loads(raw)
        kind = str(job.get("kind", "echo"))
        started = time.monotonic()
        try:
            status, result = self.run_job(job)
        except Exception as exc:
            status, result = "failed", {"error": str(exc)}
            FAILED.inc(kind=kind)
            log.warning("job %s (%s) failed: %s", job.get("id"), kind, exc)
        try:
            with self.db().cursor() as cur:
                cur.execute(
                    "INSERT INTO job_results (job_id, agent_id, kind, status, result, enqueued_at)"
                    " VALUES (%s, %s, %s, %s, %s, to_timestamp(%s))",
                    (job["id"], job.get("agent_id"), kind, status, psycopg2.extras.Json(result),
                     job.get("enqueued_at", time.time())))
        except psycopg2.Error:
            # Put the job back at the head of the queue: a database outage must not lose work.
            self.redis.rpush(QUEUE, raw)
            self.conn = None
            raise
        PROCESSED.inc(kind=kind)
        DURATION.observe(time.monotonic() - started, kind=kind)
        self.last_job_at = time.time()

    def loop(self) -> None:
        while not STOP.is_set():
            try:
                item = self.redis.brpop(QUEUE, timeout=1)
                if item is not None:
                    self.handle(item[1])
                self.last_error = ""
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {str(exc).strip()}"
                log.error("cannot process jobs: %s", self.last_error)
                STOP.wait(1)

    def health(self) -> tuple[bool, dict[str, Any]]:
        checks: dict[str, Any] = {}
        try:
            self.redis.ping()
            checks["redis"] = {"ok": True}
        except Exception as exc:
            checks["redis"] = {"ok": False, "error": str(exc).strip()}
        try:
            conn = psycopg2.connect(database_dsn())
            conn.close()
            checks["database"] = {"ok": True}
        except Exception as exc:
            checks["database"] = {"ok": False, "error": str(exc).strip().splitlines()[0]}
        return all(c["ok"] for c in checks.values()), checks


def sync_contact(payload: dict[str, Any]) -> Any:
    """POST the contact to the CRM; any answer but 2xx, or no answer, is a failed sync."""
    request = urllib.request.Request(CRM_URL + "/contacts", data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=CRM_TIMEOUT) as response:
            body = json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        CRM_SYNCS.inc(outcome="failure")
        raise RuntimeError(f"CRM answered {exc.code} to POST /contacts") from exc
    except (OSError, ValueError) as exc:
        CRM_SYNCS.inc(outcome="failure")
        reason = getattr(exc, "reason", exc)
        raise RuntimeError(f"CRM unreachable at {CRM_URL}: {reason}") from exc
    CRM_SYNCS.inc(outcome="success")
    return body


def main() -> None:
    setup_logging("worker")
    worker = Worker()

    def health(_req: Request) -> Response:
        ok, checks = worker.health()
        return Response(200 if ok else 503, {"status": "ok" if ok else "unhealthy", "version": VERSION, "checks": checks,
                                             "last_job_at": worker.last_job_at or None,
                                             "last_error": worker.last_error or None})

    def depth() -> dict[tuple[str, ...], float]:
        try:
            return {(): float(worker.redis.llen(QUEUE))}
        except Exception:
            return {}

    metrics.gauge("opsbook_worker_info", "The running release.", ("version",), collect=lambda: {(VERSION,): 1.0})
    metrics.gauge("opsbook_worker_queue_depth", "Jobs waiting in the Redis queue.", collect=depth)
    metrics.gauge("opsbook_worker_last_job_timestamp_seconds", "When the last job finished.",
                  collect=lambda: {(): worker.last_job_at})
    router = Router()
    router.add("GET", "/health", health)
    router.add("GET", "/metrics", lambda _r: Response(200, metrics.exposition(), "text/plain; version=0.0.4"))
    # The stop signal is handled before the first job is taken: a stop never kills a job half done.
    stop_on_signal(STOP.set)
    consumer = threading.Thread(target=worker.loop, name="consumer", daemon=True)
    consumer.start()
    log.info("worker %s consuming %r (%s)", VERSION, QUEUE, RELEASE["notes"])
    threading.Thread(target=serve, args=(router, int(os.environ.get("PORT", "8001"))),
                     kwargs={"handle_signals": False}, daemon=True).start()
    STOP.wait()
    log.info("draining: taking no new jobs, finishing the one in hand")
    consumer.join(timeout=12)  # compose gives it 15 s (stop_grace_period) before it kills
    log.info("worker %s stopped%s", VERSION, "" if not consumer.is_alive() else " (a job was still running after 12 s)")


if __name__ == "__main__":
    main()
